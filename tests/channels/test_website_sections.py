"""The column's required structure (国办公开办函〔2019〕61号), the footer inspections ask
for, and what a revision shows (更新日期, 废止/失效), through intake → worker → folder."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from fastapi.testclient import TestClient

from pipeline.cli.context import Installation
from pipeline.cli.main import main
from pipeline.config import AgencyConfig, Settings
from pipeline.report.publication import record
from pipeline.schema import upgrade
from pipeline.services import Services, build_services
from tests.channels.test_website_static import markup_of
from tests.channels.website_helpers import COLUMN, KEY_PREFIX, attachment, settled, website
from tests.helpers import make_item, register_agencies

FOOTER = {
    "organiser": "淄博市张店区人民政府办公室",
    "site_code": "3703030001",
    "icp": "鲁ICP备05001234号-1",
    "police": "鲁公网安备 37030302000123号",
}
GUIDE = """# 本局指南

依申请公开受理电话：0533-2181234

<script>alert(1)</script><a href="javascript:alert(2)">点我</a>

| 事项 | 时限 |
|---|---|
| 答复 | 20个工作日 |
"""


@pytest.fixture
def site(tmp_path: Path) -> Path:
    return tmp_path / "site"


@pytest.fixture
def settings(settings_for: Any, db_url: str, site: Path, tmp_path: Path) -> Settings:
    guide = tmp_path / "guide.md"
    guide.write_text(GUIDE, "utf-8")
    overlay = {"guide": str(guide), "footer": {"organiser": "张店区教育局"}}
    built: Settings = settings_for(
        database_url=db_url,
        embedded_workers=2,
        channels=website(site, page_size=5, footer=FOOTER),
        agencies={COLUMN: AgencyConfig(channels={"website": overlay})},
    )
    return built


def key(serial: int) -> str:
    return f"{KEY_PREFIX}{serial:05d}"


def text(path: Path) -> str:
    return path.read_text("utf-8")


SQLITE_ONLY = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)


def test_the_column_has_the_four_sections_and_every_page_the_footer(
    api: TestClient, auth: dict[str, str], site: Path
) -> None:
    assert (
        api.post("/v1/items", json=make_item("a", generated_on="2017-03-01"), headers=auth).status_code == 202
    )
    settled(api, auth, "t-a")
    column = site / COLUMN

    front = text(column / "index.html")
    nav = re.search(r'<nav aria-label="栏目导航">.*?</nav>', front, re.S)
    assert nav is not None
    sections = re.findall(r'<a href="([^"]+)">(政府信息公开[^<]+|法定主动公开内容)</a>', nav[0])
    assert sections == [
        ("guide.html", "政府信息公开指南"),
        ("rules.html", "政府信息公开制度"),
        ("index.html", "法定主动公开内容"),
        ("annual-reports.html", "政府信息公开年报"),
    ]
    assert "<h1>法定主动公开内容</h1>" in front
    assert 'href="category/%E6%94%BF%E7%AD%96%E6%B3%95%E8%A7%84/index.html">政策法规</a>' in front

    guide = text(column / "guide.html")  # the agency's own file, Markdown, sanitised
    assert "<h1>政府信息公开指南</h1>" in guide and "<h2>本局指南</h2>" in guide
    assert "依申请公开受理电话：0533-2181234" in guide and "<td>20个工作日</td>" in guide
    assert "alert(1)" not in guide and markup_of(guide) == {
        "scripts": ["assets/site.js"],
        "handlers": [],
        "bad_urls": [],
    }
    rules = text(column / "rules.html")  # not configured: the rules govpub enforces
    assert "《中华人民共和国政府信息公开条例》" in rules and "一事一审查" in rules
    assert "每年1月31日前公布" in rules  # a department's deadline
    reports = text(column / "annual-reports.html")
    assert "<h1>政府信息公开年报</h1>" in reports and "于每年1月31日前在此公布" in reports

    pages = ["index.html", "guide.html", "rules.html", "annual-reports.html", f"items/{key(1)}.html"]
    pages += ["category/政策法规/index.html", "year/2017/index.html", "search.html"]
    for page in pages:
        html = text(column / page)
        assert "<li>主办单位：张店区教育局</li>" in html, page  # the agency's own 主办单位
        assert "<li>网站标识码：3703030001</li>" in html, page
        assert '<a href="https://beian.miit.gov.cn/" rel="noopener">鲁ICP备05001234号-1</a>' in html, page
        assert "webSearch?code=37030302000123" in html and ">鲁公网安备 37030302000123号</a>" in html, page
    for page in ("index.html", "latest/index.html"):  # the portal: the platform's 主办单位
        html = text(site / page)
        assert "<li>主办单位：淄博市张店区人民政府办公室</li>" in html, page
        assert "<li>网站标识码：3703030001</li>" in html, page


@SQLITE_ONLY
def test_the_default_guide_is_made_from_the_registry_and_contact(
    settings_for: Any, db_url: str, site: Path, tmp_path: Path
) -> None:
    contact = {"office": "张店区教育局办公室", "address": "张店区人民西路1号", "phone": "0533-2180000"}
    built = settings_for(database_url=db_url, channels=website(site, contact=contact))
    services = build_services(built)
    upgrade(services.engine)
    register_agencies(services.engine, {COLUMN: "张店区教育局"})
    channel: Any = services.channel("website")
    column = channel.adapter.column(channel.adapter.agency(COLUMN))
    assert column.guide.default and column.rules.default
    with column.lock():
        column.ensure_skeleton(column.catalogue([]))
    guide = text(site / COLUMN / "guide.html")
    assert "张店区教育局依照《条例》第十九条、第二十条" in guide
    assert '<th scope="row">通讯地址</th><td>张店区人民西路1号</td>' in guide
    assert "<li>政策法规（综合性业务、人事管理" in guide  # the agency's taxonomy
    assert "主办单位" not in guide  # no footer configured, none shown
    check = CliRunner().invoke(main, ["site", "check"], obj=Installation(services=services))
    assert check.exit_code == 1, check.output
    assert f"{COLUMN} 张店区教育局 (/{COLUMN.lower()}/): annual reports none recorded" in check.stdout
    assert "政府信息公开指南 is the default text made from the registry (set guide)" in check.stdout
    assert "the footer lacks 主办单位、网站标识码、ICP 备案号、公安机关备案号 (set footer)" in check.stdout
    services.engine.dispose()


@SQLITE_ONLY
def test_a_repealed_revision_is_marked_and_shows_its_update_date(
    api: TestClient, auth: dict[str, str], site: Path
) -> None:
    policy = make_item("p", generated_on="2017-03-01", genre="规范性文件", validity="有效")
    other = make_item("o", generated_on="2017-02-01")
    for item in (policy, other):
        assert api.post("/v1/items", json=item, headers=auth).status_code == 202
        settled(api, auth, item["id"])
    page = text(site / COLUMN / f"items/{key(1)}.html")
    assert "更新日期" not in page and "validity-notice" not in page

    repealed = {**policy, "revision": 2, "validity": "废止"}
    assert api.post("/v1/items", json=repealed, headers=auth).status_code == 202
    settled(api, auth, "t-p")
    page = text(site / COLUMN / f"items/{key(1)}.html")
    assert '<p class="validity-notice" role="note">本信息已废止，仅供查阅。</p>' in page
    assert re.search(r'<th scope="row">更新日期</th><td>\d{4}-\d\d-\d\d \d\d:\d\d</td>', page)
    assert '<th scope="row">有效性</th><td class="validity">废止</td>' in page

    for listing in (
        site / COLUMN / "index.html",
        site / COLUMN / "year/2017/index.html",
        site / "latest/index.html",
    ):
        rows = {
            m[0]: m[1]
            for m in re.findall(r"items/([0-9A-Za-z-]+)\.html\">[^<]+</a>(.*?)</td>", text(listing))
        }
        assert '<span class="validity">［已废止］</span>' in rows[key(1)], listing
        assert re.search(r'<span class="updated">（\d{4}-\d\d-\d\d 更新）</span>', rows[key(1)]), listing
        assert rows[key(2)] == "", listing  # neither revised nor repealed


@SQLITE_ONLY
def test_the_annual_reports_section_lists_what_is_recorded(
    api: TestClient, auth: dict[str, str], services: Services, site: Path
) -> None:
    assert api.post("/v1/items", json=make_item("r"), headers=auth).status_code == 202
    settled(api, auth, "t-r")
    now = datetime(2018, 1, 20, 2, tzinfo=UTC)
    record(services.engine, COLUMN, 2017, by="t", now=now, index_no=f"{COLUMN}/2017-00001")
    record(services.engine, COLUMN, 2016, by="t", now=now, url="https://old.example.gov.cn/nb2016.html")
    assert api.post("/v1/items", json=make_item("s"), headers=auth).status_code == 202
    settled(api, auth, "t-s")  # the next render of the column writes the section

    reports = text(site / COLUMN / "annual-reports.html")
    rows = re.findall(
        r"<tr><td>(\d{4})年</td><td><a href=\"([^\"]+)\"[^>]*>([^<]+)</a></td><td>([^<]+)</td>", reports
    )
    assert rows == [
        ("2017", f"items/{key(1)}.html", "张店区教育局2017年政府信息公开工作年度报告", "2018-01-20"),
        (
            "2016",
            "https://old.example.gov.cn/nb2016.html",
            "张店区教育局2016年政府信息公开工作年度报告",
            "2018-01-20",
        ),
    ]

    retracted = api.request("DELETE", "/v1/items/test/t-r", json={"reason": "重新发布"}, headers=auth)
    assert retracted.status_code == 202, retracted.text
    settled(api, auth, "t-r", action="retract")
    assert f"items/{key(1)}.html" not in text(site / COLUMN / "annual-reports.html")  # never a withdrawn page


@SQLITE_ONLY
def test_site_rebuild_pages_renders_every_shown_item_page_again(
    api: TestClient, auth: dict[str, str], services: Services, site: Path
) -> None:
    """After the footer (or a template) changed, ``govpub site rebuild --pages`` brings the
    pages already published up to date: the same bytes a render of today would write."""
    shown = make_item("k", attachments=[attachment("方案.pdf")])
    gone = make_item("g")
    for item in (shown, gone):
        assert api.post("/v1/items", json=item, headers=auth).status_code == 202
        settled(api, auth, item["id"])
    revised = {**shown, "revision": 2, "validity": "失效"}
    assert api.post("/v1/items", json=revised, headers=auth).status_code == 202
    settled(api, auth, "t-k")
    assert (
        api.request("DELETE", "/v1/items/test/t-g", json={"reason": "误发"}, headers=auth).status_code == 202
    )
    settled(api, auth, "t-g", action="retract")
    page, notice = site / COLUMN / f"items/{key(1)}.html", site / COLUMN / f"items/{key(2)}.html"
    rendered, withdrawn = page.read_bytes(), notice.read_bytes()
    page.write_text("<p>a page of before the footer</p>", "utf-8")

    done = CliRunner().invoke(main, ["site", "rebuild", "--pages"], obj=Installation(services=services))
    assert done.exit_code == 0, done.output
    assert f"{COLUMN} 张店区教育局: /{COLUMN.lower()}/ rebuilt, 1 item pages" in done.output
    assert page.read_bytes() == rendered  # revision 2 as published: 更新日期, 失效, the file link
    assert notice.read_bytes() == withdrawn  # a retracted item keeps its notice
