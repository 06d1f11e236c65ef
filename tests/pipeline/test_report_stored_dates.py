"""The annual report never crashes on stored data: a year whose only website item has
a 生成日期 in the future (stored before the intake refused such dates, or written
straight into the tables), or at either end of the range the model allows, is
reported by ``govpub report`` (every format) and ``GET /v1/reports/{year}``."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from fastapi.testclient import TestClient

from pipeline.app import create_app
from pipeline.cli.main import main
from pipeline.schema import upgrade
from pipeline.services import build_services
from tests.helpers import TEST_AGENCY, TEST_AGENCY_NAME, register_agencies
from tests.pipeline.report_support import CHANNELS, LogWriter, local

FORMED = [date(2018, 3, 1), date(2017, 12, 31), date(2999, 12, 31), date(1949, 10, 1)]


@pytest.mark.parametrize("formed", FORMED, ids=str)
def test_a_year_whose_only_website_item_is_formed_later(
    settings_for: Any, db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, formed: date
) -> None:
    settings = settings_for(database_url=db_url, channels=CHANNELS)
    services = build_services(settings)
    upgrade(services.engine)
    register_agencies(services.engine, {TEST_AGENCY: TEST_AGENCY_NAME})
    writer = LogWriter(services.engine)
    pk = writer.item(formed=formed, accepted=local(2017, 6, 1, 9))
    for channel in ("site", "wx", "dag"):
        writer.deliver(pk, channel, local(2017, 6, 1, 10))
    writer.retract(pk, local(2017, 7, 1, 9), "生成日期有误")
    writer.write()

    with TestClient(create_app(settings, services)) as client:
        answer = client.get("/v1/reports/2017")
    assert answer.status_code == 200, answer.text
    timely = answer.json()["counts"]["timeliness"]
    assert timely["published"] == 1 and timely["max_workdays"] is not None
    assert answer.json()["counts"]["totals"]["portal"] == 1

    monkeypatch.chdir(tmp_path)
    env = {"GOVPUB_DATABASE_URL": db_url, "GOVPUB_DATA_DIR": str(tmp_path / "data")}
    kinds = {"site": "website", "wx": "wechat", "dag": "archive"}
    toml = "".join(f"[channels.{name}]\nkind = '{kind}'\n" for name, kind in kinds.items())
    (tmp_path / "govpub.toml").write_text(toml, encoding="utf-8")
    result = CliRunner().invoke(main, ["report", "--year", "2017", "--out", "out"], env=env)
    assert result.exit_code == 0, result.output
    written = json.loads((tmp_path / "out" / "report-2017.json").read_text("utf-8"))
    assert written["counts"]["totals"] == {"portal": 1, "other": 1, "deposit": 1}
    services.engine.dispose()
