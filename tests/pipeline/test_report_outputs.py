"""The report's outputs: Word, Excel, HTML, Markdown, text, the chart, the CLI and
``GET /v1/reports/{year}``."""

from __future__ import annotations

import io
import json
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from docx import Document
from fastapi.testclient import TestClient
from openpyxl import load_workbook
from sqlalchemy import update

from pipeline.app import create_app
from pipeline.cli.main import main
from pipeline.config import Settings
from pipeline.console.tables import console_users
from pipeline.db import make_engine
from pipeline.report import AnnualReport, build_report
from pipeline.report.chart import monthly_chart
from pipeline.report.docx import render_docx
from pipeline.report.figures import parse_figures
from pipeline.report.render_html import render_html
from pipeline.report.render_md import render_md
from pipeline.report.render_text import render_text
from pipeline.report.xlsx import render_xlsx
from pipeline.schema import upgrade
from pipeline.services import build_services
from tests.helpers import TEST_AGENCY, TEST_AGENCY_NAME, register_agencies
from tests.pipeline.console_support import add_user, login
from tests.pipeline.report_support import AGENCY, CHANNELS, KnownYear, LogWriter, local
from tests.pipeline.test_report_figures import BALANCED

HOSTILE_TITLE = "<script>alert(1)</script> | 标题"


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> AnnualReport:
    """The known year with a balanced figures file, one late item with a hostile title."""
    url = f"sqlite:///{tmp_path_factory.mktemp('report') / 'govpub.db'}"
    engine = make_engine(url)
    upgrade(engine)
    register_agencies(engine, {TEST_AGENCY: TEST_AGENCY_NAME})
    writer = LogWriter(engine)
    late = writer.item(formed=local(2017, 1, 3).date(), title=HOSTILE_TITLE)
    writer.deliver(late, "site", local(2017, 6, 1))
    writer.write()
    KnownYear(writer)
    settings = Settings(database_url=url, channels=CHANNELS)
    built = build_report(
        engine, settings, 2017, agency=AGENCY, figures=parse_figures(BALANCED, 2017), figures_source="f.toml"
    )
    engine.dispose()
    return built


def test_the_word_file_holds_the_national_tables(report: AnnualReport) -> None:
    doc = Document(io.BytesIO(render_docx(report)))
    text = "\n".join(p.text for p in doc.paragraphs)
    assert "张店区教育局2017年政府信息公开工作年度报告" in text
    for head in (
        "一、总体情况",
        "二、主动公开政府信息情况",
        "三、收到和处理政府信息公开申请情况",
        "四、政府信息公开行政复议、行政诉讼情况",
        "五、存在的主要问题及改进情况",
        "六、其他需要报告的事项",
    ):
        assert head in text
    assert "4类309条" in text and "申请答复时限偏紧。" in text
    rows = [[cell.text for cell in row.cells] for table in doc.tables for row in table.rows]
    assert ["信息内容", "本年制发件数", "本年废止件数", "现行有效件数"] in rows
    assert ["行政许可", "12", "12", "12"] in rows  # one value merged across three columns
    assert ["行政事业性收费", "1.25", "1.25", "1.25"] in rows
    assert ["一、本年新收政府信息公开申请数量"] * 3 + ["10", "2", "0", "0", "0", "1", "13"] in rows
    assert [
        "三、本年度办理结果",
        "（三）不予公开",
        "1.属于国家秘密",
        "1",
        "0",
        "0",
        "0",
        "0",
        "0",
        "1",
    ] in rows
    assert ["三、本年度办理结果", "（七）总计", "（七）总计", "9", "1", "0", "0", "0", "0", "10"] in rows
    assert ["1", "1", "0", "0", "2", "0", "0", "0", "1", "1", "0", "0", "0", "0", "0"] in rows
    assert any(row[:1] == ["政务微信公众号（wx）"] and row[-1] == "153" for row in rows)
    assert any(HOSTILE_TITLE in row for row in rows)
    assert len(doc.inline_shapes) == 1  # the monthly chart


def test_the_workbook_has_a_sheet_per_table(report: AnnualReport) -> None:
    book = load_workbook(io.BytesIO(render_xlsx(report)))
    assert {
        "总体情况",
        "二、主动公开",
        "三、依申请公开",
        "四、复议诉讼",
        "各渠道按月",
        "逾期公开",
        "撤回",
    } <= set(book.sheetnames)
    applications = [[c.value for c in row] for row in book["三、依申请公开"].iter_rows()]
    assert ["一、本年新收政府信息公开申请数量", None, None, 10, 2, 0, 0, 0, 1, 13] in applications
    monthly = {row[0]: row[-1] for row in book["各渠道按月"].iter_rows(values_only=True)}
    assert monthly["site"] == 309 and monthly["wx"] == 153 and monthly["dag"] == 137
    assert "A1:D1" in {str(merged) for merged in book["二、主动公开"].merged_cells.ranges}


def test_html_escapes_titles_and_inlines_the_chart(report: AnnualReport) -> None:
    html = render_html(report)
    assert "<script>alert" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt; | 标题" in html
    assert html.count("<svg") == 1 and "<?xml" not in html
    assert 'colspan="7">申请人情况' in html and 'rowspan="8">（三）不予公开' in html
    assert "<caption>超过20个工作日公开的信息</caption>" in html


def test_markdown_and_text_carry_the_counts(report: AnnualReport) -> None:
    md = render_md(report)
    assert r"\<script\>alert(1)\</script\> \| 标题" in md
    assert "| 行政规范性文件 | 0 | 0 | 0 |" in md
    text = render_text(report)
    assert "政府网站主动公开 309 条" in text and "其他渠道公开 153 条" in text and "报送 137 条" in text
    assert "    政务微信公众号（wx）  153" in text


def test_the_chart_is_png_and_svg_and_stable(report: AnnualReport) -> None:
    chart = monthly_chart(report)
    assert chart.png.startswith(b"\x89PNG\r\n\x1a\n")
    ET.fromstring(chart.svg)  # well-formed XML
    assert monthly_chart(report).svg == chart.svg


def test_the_cli_prints_the_counts_and_writes_every_format(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    url = f"sqlite:///{tmp_path / 'govpub.db'}"
    engine = make_engine(url)
    upgrade(engine)
    register_agencies(engine, {TEST_AGENCY: TEST_AGENCY_NAME})
    KnownYear(LogWriter(engine), website="website")  # an unconfigured name is stored as its kind
    engine.dispose()
    kinds = {"wx": {"kind": "wechat"}, "dag": {"kind": "archive"}, "lib": {"kind": "archive"}}
    (tmp_path / "govpub.toml").write_text(_toml({"channels": kinds}), encoding="utf-8")
    env = {"GOVPUB_CONFIG": str(tmp_path / "govpub.toml"), "GOVPUB_DATABASE_URL": url}
    (tmp_path / "figures.toml").write_text(_toml(BALANCED), encoding="utf-8")
    runner = CliRunner()
    result = runner.invoke(
        main,
        ["report", "--year", "2017", "--agency", AGENCY, "--figures", "figures.toml", "--out", "out"],
        env=env,
    )
    assert result.exit_code == 0, result.output
    assert "4类308条" in result.stdout and "政府网站主动公开 308 条" in result.stdout
    assert "wrote" in result.stderr and "counting" in result.stderr
    written = sorted(p.name for p in (tmp_path / "out").iterdir())
    assert written == [
        f"report-2017-{AGENCY}-chart.png",
        f"report-2017-{AGENCY}-chart.svg",
        f"report-2017-{AGENCY}.docx",
        f"report-2017-{AGENCY}.html",
        f"report-2017-{AGENCY}.json",
        f"report-2017-{AGENCY}.md",
        f"report-2017-{AGENCY}.txt",
        f"report-2017-{AGENCY}.xlsx",
    ]
    data = json.loads((tmp_path / "out" / f"report-2017-{AGENCY}.json").read_text("utf-8"))
    assert data["counts"]["totals"] == {"portal": 308, "other": 153, "deposit": 137}

    as_json = runner.invoke(main, ["report", "--year", "2017", "--format", "json"], env=env)
    assert json.loads(as_json.stdout)["counts"]["totals"]["portal"] == 315

    (tmp_path / "bad.toml").write_text(
        _toml({**BALANCED, "table3": {**BALANCED["table3"], "carried_forward": [0, 1, 0, 0, 0, 1]}}),
        encoding="utf-8",
    )
    refused = runner.invoke(main, ["report", "--year", "2017", "--figures", "bad.toml"], env=env)
    assert refused.exit_code != 0 and "table 三 column 自然人" in refused.output
    binary = runner.invoke(main, ["report", "--year", "2017", "--format", "docx"], env=env)
    assert binary.exit_code != 0 and "--out" in binary.output
    template = runner.invoke(main, ["report", "--year", "2019", "--figures-template"])
    assert template.stdout.startswith("#") and "year = 2019" in template.stdout


def test_the_api_answers_the_same_data(settings_for: Any, db_url: str, tmp_path: Path) -> None:
    settings: Settings = settings_for(database_url=db_url, channels=CHANNELS)
    services = build_services(settings)
    upgrade(services.engine)
    register_agencies(services.engine, {TEST_AGENCY: TEST_AGENCY_NAME})
    KnownYear(LogWriter(services.engine))
    client = TestClient(create_app(settings, services))
    add_user(services, "audit", "auditor")
    with services.engine.begin() as conn:  # a platform auditor reads every agency's report
        conn.execute(update(console_users).where(console_users.c.username == "audit").values(platform=True))
    login(client, "audit")  # the whole report is the console's (without a login: the figures)
    answer = client.get(f"/console/reports/2017?agency={AGENCY}")
    assert answer.status_code == 200
    data = answer.json()
    assert data["counts"]["totals"] == {"portal": 308, "other": 153, "deposit": 137}
    assert data["figures_source"] is None and data["narrative"].startswith("2017年，通过政府网站")
    assert client.get("/v1/reports/1800").status_code == 422
    assert client.get("/v1/reports/2017?agency=x;drop").status_code == 422
    public = client.get(f"/v1/reports/2017?agency={AGENCY}").json()
    assert public["counts"]["totals"] == data["counts"]["totals"] and "figures_source" not in public

    figures = settings.data_dir / "reports" / f"figures-2017-{AGENCY}.toml"
    figures.parent.mkdir(parents=True)
    figures.write_text(_toml(BALANCED), encoding="utf-8")
    data = client.get(f"/console/reports/2017?agency={AGENCY}").json()
    assert data["figures_source"] == f"reports/figures-2017-{AGENCY}.toml"  # never a path of the machine
    assert data["figures"]["table3"]["new"][0] == 10
    figures.write_text(_toml({**BALANCED, "year": 2016}), encoding="utf-8")
    refused = client.get(f"/console/reports/2017?agency={AGENCY}")
    assert refused.status_code == 422 and refused.json()["error"] == "invalid_figures"
    assert refused.json()["details"] == ["year = 2016, but the report is for 2017"]
    services.engine.dispose()


def _toml(data: dict[str, Any]) -> str:
    import tomli_w

    return tomli_w.dumps(data)
