"""Each agency's annual report counts only its own deliveries; the platform summary adds
up to the platform's report; publication is recorded per agency; the console's report
and summary are scoped (CLI and HTTP)."""

from __future__ import annotations

import io
import json
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from fastapi.testclient import TestClient
from openpyxl import load_workbook
from sqlalchemy import Engine

from pipeline import agencies
from pipeline.app import create_app
from pipeline.cli.main import main
from pipeline.config import Settings
from pipeline.errors import NotFound
from pipeline.report import build_report
from pipeline.report.publication import publications, record
from pipeline.report.summary import build_summary
from pipeline.report.summary_xlsx import render_summary_xlsx
from pipeline.schema import upgrade
from pipeline.services import Services, build_services
from tests.pipeline.console_support import add_user, login
from tests.pipeline.report_support import AGENCY, CHANNELS, OTHER_AGENCY, KnownYear, LogWriter, local

NOW = datetime(2018, 1, 20, 2, 0, tzinfo=UTC)


def _register(engine: Engine) -> None:
    agencies.add(engine, agencies.Agency(AGENCY, "张店区教育局", path="jyj"), NOW)
    agencies.add(engine, agencies.Agency(OTHER_AGENCY, "张店区卫健局", path="wjj"), NOW)
    agencies.add(engine, agencies.Agency("113703030000000001", "张店区民政局", path="mzj"), NOW)


def _other_agency_year(writer: LogWriter) -> dict[str, int]:
    """OTHER_AGENCY's own items besides KnownYear's seven: two late on the website, one
    archived; what its report must count."""
    for formed in (date(2017, 1, 3), date(2017, 2, 6)):
        pk = writer.item(agency=OTHER_AGENCY, formed=formed)
        writer.deliver(pk, "site", local(2017, 6, 1, 10))
        writer.deliver(pk, "dag", local(2017, 7, 1, 10))
    writer.write()
    return {"site": 9, "wx": 7, "dag": 2}


@pytest.fixture
def services(settings_for: Any, db_url: str) -> Any:
    settings: Settings = settings_for(database_url=db_url, channels=CHANNELS)
    built = build_services(settings)
    upgrade(built.engine)
    _register(built.engine)
    writer = LogWriter(built.engine)
    KnownYear(writer)
    _other_agency_year(writer)
    yield built
    built.engine.dispose()


def _per_channel(report: Any) -> dict[str, int]:
    return {c.channel: c.items for c in report.counts.channels}


def test_each_agency_counts_only_its_own(services: Services) -> None:
    mine = build_report(services.engine, services.settings, 2017, agency=AGENCY)
    other = build_report(services.engine, services.settings, 2017, agency=OTHER_AGENCY)
    platform = build_report(services.engine, services.settings, 2017)
    assert _per_channel(other) == {"site": 9, "wx": 7, "dag": 2}
    assert (other.agency_code, other.agency_name) == (OTHER_AGENCY, "张店区卫健局")
    assert (mine.counts.totals.portal, mine.counts.totals.deposit) == (308, 137)
    assert other.counts.timeliness.late == 2 and other.counts.timeliness.published == 9
    assert {i.index_no.split("/")[0] for i in other.counts.timeliness.late_items} == {OTHER_AGENCY}
    for channel, items in _per_channel(platform).items():
        assert items == _per_channel(mine).get(channel, 0) + _per_channel(other).get(channel, 0)
    assert platform.counts.timeliness.late == mine.counts.timeliness.late + 2
    empty = build_report(services.engine, services.settings, 2017, agency="113703030000000001")
    assert empty.counts.channels == [] and empty.counts.totals.portal == 0


def test_the_summary_adds_up_to_the_platform_and_to_each_report(services: Services) -> None:
    record(services.engine, OTHER_AGENCY, 2017, by="test", now=NOW, url="https://wjj.example.gov.cn/nb")
    summary = build_summary(services.engine, services.settings, 2017)
    rows = {r.code: r for r in summary.rows}
    assert list(rows) == [OTHER_AGENCY, AGENCY, "113703030000000001"]  # the registry's order
    assert summary.kinds == ["website", "wechat", "archive"]
    for code in (AGENCY, OTHER_AGENCY):
        report = build_report(services.engine, services.settings, 2017, agency=code)
        totals = report.counts.totals
        assert rows[code].items == {
            k: v
            for k, v in {"website": totals.portal, "wechat": totals.other, "archive": totals.deposit}.items()
            if v
        }
        assert rows[code].late == report.counts.timeliness.late
    platform = build_report(services.engine, services.settings, 2017)
    totals = platform.counts.totals
    expected = {"website": totals.portal, "wechat": totals.other, "archive": totals.deposit}
    assert summary.total.items == expected
    for kind in summary.kinds:
        assert summary.total.items[kind] == sum(r.items.get(kind, 0) for r in summary.rows)
    assert summary.total.late == platform.counts.timeliness.late == sum(r.late for r in summary.rows)
    assert rows[OTHER_AGENCY].published is not None and rows[AGENCY].published is None
    assert rows["113703030000000001"].items == {} and rows["113703030000000001"].late == 0

    by_wechat = summary.sorted_by("-wechat")
    assert [r.code for r in by_wechat.rows] == [AGENCY, OTHER_AGENCY, "113703030000000001"]
    assert [r.code for r in summary.sorted_by("published").rows][-1] == OTHER_AGENCY
    assert summary.sorted_by("-name").rows[0].code == "113703030000000001"  # 卫 < 教 < 民
    with pytest.raises(ValueError, match="no column"):
        summary.sorted_by("nonsense")

    sheet = load_workbook(io.BytesIO(render_summary_xlsx(by_wechat))).active
    values = [[c.value for c in row] for row in sheet.iter_rows()]
    assert values[0][:2] == ["机构代码", "机构"] and values[1][0] == AGENCY
    assert values[-1][1] == "合计" and values[-1][2] == totals.portal
    assert values[-1][2] == sum(v[2] for v in values[1:-1])


def test_publication_is_recorded_per_agency_and_checked(services: Services) -> None:
    engine = services.engine
    with pytest.raises(NotFound):
        record(engine, "NOSUCHAGENCY1", 2017, by="t", now=NOW, url="https://x.example/")
    some_item = f"{AGENCY}/2017-00001"
    with pytest.raises(NotFound):  # an item of another agency cannot carry this one's report
        record(engine, OTHER_AGENCY, 2017, by="t", now=NOW, index_no=some_item)
    done = record(engine, AGENCY, 2017, by="t", now=NOW, index_no=some_item)
    assert done.index_no == some_item and done.url is None
    again = record(engine, AGENCY, 2017, by="t", now=NOW, url="https://jyj.example.gov.cn/nb2017")
    assert (again.index_no, again.url) == (None, "https://jyj.example.gov.cn/nb2017")
    assert set(publications(engine, 2017)) == {AGENCY} and publications(engine, 2018) == {}


def test_the_cli_reports_records_and_summarises(services: Services, tmp_path: Path) -> None:
    settings = services.settings
    env = {"GOVPUB_DATABASE_URL": settings.database_url, "GOVPUB_DATA_DIR": str(settings.data_dir)}
    runner = CliRunner()
    config = tmp_path / "govpub.toml"
    config.write_text(
        "".join(f'[channels.{n}]\nkind = "{c.kind}"\n' for n, c in CHANNELS.items()), encoding="utf-8"
    )
    env["GOVPUB_CONFIG"] = str(config)

    def run(*args: str) -> Any:
        return runner.invoke(main, list(args), env=env)

    own = run("report", "2017", "--agency", OTHER_AGENCY, "--format", "json")
    assert own.exit_code == 0, own.output
    counts = json.loads(own.stdout)["counts"]
    assert {c["channel"]: c["items"] for c in counts["channels"]} == {"site": 9, "wx": 7, "dag": 2}
    unknown = run("report", "2017", "--agency", "NOSUCHAGENCY1")
    assert unknown.exit_code != 0 and "no agency NOSUCHAGENCY1" in unknown.output
    assert run("report", "--year", "2017", "--format", "json").exit_code == 0  # the old spelling

    published = run("report", "publish", "2017", "--agency", OTHER_AGENCY, "--url", "https://wjj.example/nb")
    assert published.exit_code == 0 and "published (https://wjj.example/nb)" in published.output
    nowhere = run("report", "publish", "2017", "--agency", AGENCY)
    assert nowhere.exit_code != 0 and "--url URL or --item" in nowhere.output
    bad = run("report", "publish", "2017", "--agency", AGENCY, "--url", "ftp://x")
    assert bad.exit_code != 0 and "must start with http" in bad.output
    marked = run("report", "mark-published", "2017", "--agency", AGENCY, "--on", "2018-01-15")
    assert marked.exit_code == 0, marked.output
    assert publications(services.engine, 2017)[AGENCY].published_at == datetime(2018, 1, 15, 4, tzinfo=UTC)

    workbook = tmp_path / "out" / "summary.xlsx"
    summary = run("report", "summary", "2017", "--sort", "-late", "--xlsx", str(workbook), "--json")
    assert summary.exit_code == 0, summary.output
    data = json.loads(summary.stdout)
    lates = [a["late"] for a in data["agencies"]]
    assert lates == sorted(lates, reverse=True) and data["total"]["late"] == sum(lates)
    assert data["total"]["published"] == 2 and workbook.is_file()
    assert run("report", "summary", "2017", "--sort", "bogus").exit_code == 2
    table = run("report", "summary", "2017")
    assert table.exit_code == 0 and "合计" in table.output and "2/3" in table.output
    gone = run("report", "withdraw", "2017", "--agency", AGENCY)
    assert gone.exit_code == 0 and AGENCY not in publications(services.engine, 2017)


def test_the_console_scopes_reports_and_the_summary(services: Services) -> None:
    app = create_app(services.settings, services)
    add_user(services, "boss", "admin")
    add_user(services, "audit", "auditor", platform=True)
    add_user(services, "wjj", "operator", agencies=(OTHER_AGENCY,))
    add_user(services, "two", "auditor", agencies=(OTHER_AGENCY, AGENCY))

    scoped = TestClient(app)
    login(scoped, "wjj")
    own = scoped.get("/console/reports/2017")  # their only agency by default
    assert own.status_code == 200 and own.json()["agency_code"] == OTHER_AGENCY
    assert scoped.get(f"/console/reports/2017?agency={AGENCY}").status_code == 404
    assert scoped.get("/console/platform/2017").status_code == 404
    assert "/console/platform" not in scoped.get("/console/").text
    assert scoped.get("/console/platform/2017?format=xlsx").status_code == 404

    two = TestClient(app)
    login(two, "two")
    assert two.get("/console/reports/2017").status_code == 422
    assert two.get(f"/console/reports/2017?agency={AGENCY}").json()["agency_code"] == AGENCY
    assert two.get("/console/platform/2017").status_code == 404

    for name in ("boss", "audit"):
        client = TestClient(app)
        login(client, name)
        assert "/console/platform" in client.get("/console/").text  # in the navigation
        moved = client.get("/console/platform", follow_redirects=False)
        assert moved.status_code == 303 and moved.headers["location"].startswith("/console/platform/20")
        page = client.get("/console/platform/2017?sort=-website")
        assert page.status_code == 200 and "张店区卫健局" in page.text and "合计" in page.text
        assert page.text.index("张店区教育局") < page.text.index("张店区卫健局")
        data = client.get("/console/platform/2017?format=json").json()
        assert data["total"]["items"]["website"] == sum(a["items"]["website"] for a in data["agencies"])
        sheet = client.get("/console/platform/2017?format=xlsx")
        assert sheet.status_code == 200 and sheet.content[:2] == b"PK"
        assert client.get("/console/platform/2017?sort=nope").status_code == 422
        assert client.get(f"/console/reports/2017?agency={OTHER_AGENCY}").status_code == 200
        assert client.get("/console/reports/2017?agency=NOSUCHAGENCY1").status_code == 404

    public = TestClient(app).get(f"/v1/reports/2017?agency={OTHER_AGENCY}").json()
    assert public["counts"]["totals"]["portal"] == 9
