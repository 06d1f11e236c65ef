"""``govpub report --year Y --agency CODE --publish``: the report goes through the intake of
a running instance as the agency's item, reaches every channel, fills the column's
政府信息公开年报 section, and publishing again revises the same item."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from pipeline import db
from pipeline.app import create_app
from pipeline.cli.context import Installation
from pipeline.cli.main import main
from pipeline.config import ChannelConfig, Settings
from pipeline.report.publication import publications
from pipeline.services import Services
from tests.helpers import TEST_AGENCY, LiveServer, make_item, wait_until

SITE_COLUMN = TEST_AGENCY.lower()


@pytest.fixture
def settings(settings_for: Any, db_url: str, tmp_path: Path) -> Settings:
    channels = {
        "website": ChannelConfig(kind="website", options={"output_dir": str(tmp_path / "site")}),
        "memory": ChannelConfig(kind="memory"),
    }
    built: Settings = settings_for(database_url=db_url, channels=channels)
    return built


def deliveries(services: Services, item_id: str) -> set[tuple[str, int, str]]:
    d, items = db.deliveries, db.items
    query = (
        select(d.c.channel, d.c.revision, d.c.state)
        .select_from(d.join(items, items.c.pk == d.c.item_pk))
        .where(items.c.item_id == item_id, d.c.action == "publish")
    )
    with services.engine.connect() as conn:
        return {(r.channel, r.revision, r.state) for r in conn.execute(query)}


def test_the_report_is_an_item_on_every_channel_and_in_the_column(
    services: Services, token: str, tmp_path: Path
) -> None:
    approval = tmp_path / "approval.json"
    approval.write_text(json.dumps(make_item()["approval"], ensure_ascii=False), "utf-8")
    column = tmp_path / "site" / SITE_COLUMN
    with LiveServer(create_app(services.settings, services)) as server:
        publish = ["report", "2017", "--agency", TEST_AGENCY, "--publish", "--approval", str(approval)]
        publish += ["--server", server.url, "--token", token]

        def run() -> str:
            done = CliRunner().invoke(main, publish, obj=Installation(services=services))
            assert done.exit_code == 0, done.output
            return done.stdout

        first = run()
        assert "item test/annual-report-2017 revision 1 accepted" in first
        wanted = {("website", 1, "delivered"), ("memory", 1, "delivered")}
        wait_until(lambda: deliveries(services, "annual-report-2017") == wanted, 60, "the report delivered")
        recorded = publications(services.engine, 2017)[TEST_AGENCY]
        assert recorded.index_no is not None and recorded.recorded_by == "cli"
        key = recorded.index_no.replace("/", "-")

        reports = (column / "annual-reports.html").read_text("utf-8")
        assert f'<a href="items/{key}.html">张店区教育局2017年政府信息公开工作年度报告</a>' in reports
        page = (column / f"items/{key}.html").read_text("utf-8")
        assert "第二十条第（一）项" in page and '<img src="data:image/png;base64,' in page
        assert '<th scope="row">主题分类</th><td>其他信息</td>' in page  # no 年报 class: 其他信息
        (docx,) = (column / "items" / key).glob("*.docx")
        assert docx.read_bytes()[:2] == b"PK"

        second = run()  # published again: the same item, one revision on
        assert "item test/annual-report-2017 revision 2 accepted" in second
        wanted |= {("website", 2, "delivered"), ("memory", 2, "delivered")}
        wait_until(lambda: deliveries(services, "annual-report-2017") == wanted, 60, "revision 2 delivered")
    with services.engine.connect() as conn:
        rows = conn.execute(select(db.items.c.index_no, db.items.c.latest_revision)).all()
    assert [tuple(r) for r in rows] == [(recorded.index_no, 2)]
    assert publications(services.engine, 2017)[TEST_AGENCY].index_no == recorded.index_no
    page = (column / f"items/{key}.html").read_text("utf-8")
    assert re.search(r'<th scope="row">更新日期</th><td>\d{4}-', page)


def test_publish_needs_the_agency_and_its_approval(services: Services, token: str) -> None:
    done = CliRunner().invoke(
        main, ["report", "2017", "--publish", "--token", token], obj=Installation(services=services)
    )
    assert done.exit_code == 2 and "--approval FILE (一事一审查)" in done.output
