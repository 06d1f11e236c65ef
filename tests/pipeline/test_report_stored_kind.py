"""Each delivery row keeps its channel's kind from intake, so the report reads the
same figures whatever configuration it runs with: ``govpub report`` and
``GET /v1/reports/{year}`` agree on one database, a kind no plug-in declares counts
as another channel (and says so), and the labels are the plug-ins'."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from fastapi.testclient import TestClient
from sqlalchemy import select

from pipeline import db, registry
from pipeline.app import create_app
from pipeline.cli.main import main
from pipeline.config import ChannelConfig
from pipeline.console import words
from pipeline.model import ItemIn
from pipeline.plugin import ReportRole
from pipeline.report import build_report
from pipeline.schema import upgrade
from pipeline.services import build_services
from tests.helpers import TEST_AGENCY, TEST_AGENCY_NAME, make_item, register_agencies
from tests.pipeline.report_support import (
    ARCHIVED_ITEMS,
    CHANNELS,
    WEBSITE_ITEMS,
    WECHAT_ITEMS,
    KnownYear,
    LogWriter,
    local,
)


def test_intake_stores_the_configured_kind(settings_for: Any, db_url: str) -> None:
    services = build_services(
        settings_for(database_url=db_url, channels={"noticeboard-a": ChannelConfig(kind="memory")})
    )
    upgrade(services.engine)
    register_agencies(services.engine, {TEST_AGENCY: TEST_AGENCY_NAME})
    item = ItemIn.model_validate({**make_item(1), "source": "test"})
    services.store.accept(item, services.channels_for(item.agency.code, None))
    with services.engine.connect() as conn:
        rows = conn.execute(select(db.deliveries.c.channel, db.deliveries.c.kind)).all()
    assert [tuple(r) for r in rows] == [("noticeboard-a", "memory")]
    services.engine.dispose()


def test_the_cli_and_the_api_give_the_same_report_whatever_the_configuration(
    settings_for: Any, db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = settings_for(database_url=db_url, channels=CHANNELS)
    services = build_services(settings)
    upgrade(services.engine)
    register_agencies(services.engine, {TEST_AGENCY: TEST_AGENCY_NAME})
    KnownYear(LogWriter(services.engine))
    with TestClient(create_app(settings, services)) as client:
        answer = client.get("/v1/reports/2017")
    assert answer.status_code == 200, answer.text

    # the command line runs with a configuration that names none of those channels
    monkeypatch.chdir(tmp_path)
    (tmp_path / "govpub.toml").write_text("[channels.other-name]\nkind = 'memory'\n", "utf-8")
    env = {"GOVPUB_DATABASE_URL": db_url, "GOVPUB_DATA_DIR": str(tmp_path / "data")}
    result = CliRunner().invoke(main, ["report", "--year", "2017", "--format", "json"], env=env)
    assert result.exit_code == 0, result.output
    by_cli, by_api = json.loads(result.stdout)["counts"], answer.json()["counts"]
    # the public answer leaves out the lists; every figure it has is the command's
    for key in ("totals", "channels", "categories", "documents"):
        assert by_cli[key] == by_api[key], key
    assert {k: by_cli["timeliness"][k] for k in by_api["timeliness"]} == by_api["timeliness"]
    assert by_cli["retractions"]["count"] == by_api["retractions"]
    assert by_cli["totals"] == {
        "portal": WEBSITE_ITEMS + 7,
        "other": WECHAT_ITEMS + 7,
        "deposit": ARCHIVED_ITEMS,
    }
    roles = {c["channel"]: (c["kind"], c["role"], c["label"]) for c in by_cli["channels"]}
    assert roles == {
        "site": ("website", "portal", registry.label("website")),
        "wx": ("wechat", "other", registry.label("wechat")),
        "dag": ("archive", "deposit", registry.label("archive")),
        "lib": ("archive", "deposit", registry.label("archive")),
    }
    services.engine.dispose()


def test_a_kind_no_plugin_declares_counts_as_another_channel(settings_for: Any, db_url: str) -> None:
    settings = settings_for(database_url=db_url, channels=CHANNELS)
    services = build_services(settings)
    upgrade(services.engine)
    register_agencies(services.engine, {TEST_AGENCY: TEST_AGENCY_NAME})
    writer = LogWriter(services.engine)
    pk = writer.item(accepted=local(2017, 6, 1, 9))
    writer.deliver(pk, "dag", local(2017, 6, 1, 10))
    writer.deliver(pk, "noticeboard", local(2017, 6, 1, 10))  # stored as kind "noticeboard"
    writer.write()

    report = build_report(services.engine, settings, 2017)
    assert (report.counts.totals.deposit, report.counts.totals.other) == (1, 1)
    assert any("'noticeboard'" in w and "其他渠道" in w for w in report.warnings)
    with registry.without(["archive"]):  # the archive plug-in uninstalled
        gone = build_report(services.engine, settings, 2017)
    assert (gone.counts.totals.deposit, gone.counts.totals.other) == (0, 1)
    assert {c.channel: c.role for c in gone.counts.channels}["dag"] == ReportRole.OTHER
    assert any("'archive'" in w for w in gone.warnings)
    services.engine.dispose()


def test_labels_are_the_plugins() -> None:
    for kind, plugin in registry.plugins().items():
        assert words.kind(kind) == plugin.label
    assert words.kind("noticeboard") == "noticeboard"
