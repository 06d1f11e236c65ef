"""The static disclosure column, through the whole pipeline (intake → runner → folder)."""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import pytest
from fastapi.testclient import TestClient

from pipeline.config import Settings
from pipeline.services import Services
from tests.channels.website_helpers import COLUMN, KEY_PREFIX, attachment, settled, snapshot, touched, website
from tests.helpers import make_item

LISTINGS = ["", "category/政策法规/", "category/政策法规/招生考试/", "year/2017/"]


@pytest.fixture
def site(tmp_path: Path) -> Path:
    """The test agency's column (its items' agency, registered under its default path)."""
    return tmp_path / "site" / COLUMN


@pytest.fixture
def settings(settings_for: Any, db_url: str, site: Path) -> Settings:
    built: Settings = settings_for(
        database_url=db_url, embedded_workers=3, channels=website(site.parent, page_size=5)
    )
    return built


def key(serial: int) -> str:
    return f"{KEY_PREFIX}{serial:05d}"


SQLITE_ONLY = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
SITE_MARKUP = {"scripts": ["assets/site.js"], "handlers": [], "bad_urls": []}


class Markup(HTMLParser):
    """What in a page is markup that could run: script tags, on* handlers, script URLs."""

    def __init__(self) -> None:
        super().__init__()
        self.found: dict[str, list[str]] = {"scripts": [], "handlers": [], "bad_urls": []}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag == "script":
            self.found["scripts"].append(re.sub(r"^(\.\./)*", "", values.get("src") or "inline"))
        self.found["handlers"] += [name for name, _ in attrs if name.startswith("on")]
        for name in ("href", "src", "action"):
            url = (values.get(name) or "").strip().lower()
            if url.startswith(("javascript:", "data:text", "vbscript:")):
                self.found["bad_urls"].append(url)


def markup_of(html: str) -> dict[str, list[str]]:
    parser = Markup()
    parser.feed(html)
    return parser.found


def listed(page: Path) -> list[str]:
    """Item keys a listing page links to, in order."""
    return re.findall(r'href="(?:\.\./)*items/([0-9A-Za-z-]+)\.html"', page.read_text("utf-8"))


def test_items_become_pages_listings_search_and_sitemap(
    api: TestClient, auth: dict[str, str], site: Path
) -> None:
    first = make_item(
        "a",
        generated_on="2017-03-01",
        doc_no="张教发〔2017〕1号",
        keywords=["招生", "指标"],
        attachments=[attachment("招生方案.pdf", b"%PDF-1.4 plan")],
    )
    second = make_item("b", generated_on="2017-04-01", category="规划计划", subcategory="人事管理")
    third = make_item("c", generated_on="2018-01-05")
    for item in (first, second, third):
        assert api.post("/v1/items", json=item, headers=auth).status_code == 202
    for item_id in ("t-a", "t-b", "t-c"):
        settled(api, auth, item_id)

    page = (site / f"items/{key(1)}.html").read_text("utf-8")
    assert '<html lang="zh-CN">' in page
    for label, value in [
        ("索引号", "113703030000000000/2017-00001"),
        ("信息名称", "测试公开信息 a"),
        ("发布机构", "张店区教育局"),
        ("生成日期", "2017-03-01"),
        ("文号", "张教发〔2017〕1号"),
        ("主题分类", "政策法规 / 招生考试"),
        ("体裁", "方案"),
        ("有效性", "有效"),
    ]:
        assert f'<th scope="row">{label}</th><td>{value}</td>' in page
    assert re.search(r'<th scope="row">发布日期</th><td>\d{4}-\d\d-\d\d \d\d:\d\d</td>', page)
    for name in ("SiteName", "ColumnName", "ArticleTitle", "PubDate", "ContentSource", "Keywords", "Url"):
        assert f'<meta name="{name}" content="' in page
    assert '<meta name="Keywords" content="招生,指标">' in page
    assert f'<meta name="Url" content="http://127.0.0.1:8000/site/{COLUMN}/items/{key(1)}.html">' in page
    assert 'rel="alternate" type="application/rss+xml"' in page and "/feeds/all.rss" in page
    assert 'type="application/atom+xml"' in page and "/feeds/all.atom" in page
    assert "<caption>" in page and "<h1>测试公开信息 a</h1>" in page
    assert (site / f"items/{key(1)}/01-招生方案.pdf").read_bytes() == b"%PDF-1.4 plan"
    assert ">招生方案.pdf</a></td><td>application/pdf</td><td>13 B</td>" in page

    assert listed(site / "category/政策法规/index.html") == [
        "113703030000000000-2018-00001",
        key(1),
    ]
    assert listed(site / "category/规划计划/人事管理/index.html") == [key(2)]
    assert listed(site / "year/2017/index.html") == [key(2), key(1)]
    assert listed(site / "index.html") == ["113703030000000000-2018-00001", key(2), key(1)]
    assert "共 3 条信息" in (site / "index.html").read_text("utf-8")

    assert json.loads((site / "search/index.json").read_text())["shards"] == ["2018.json", "2017.json"]
    shard = json.loads((site / "search/2017.json").read_text())
    assert [(e["n"], e["u"]) for e in shard] == [
        ("113703030000000000/2017-00002", f"items/{key(2)}.html"),
        ("113703030000000000/2017-00001", f"items/{key(1)}.html"),
    ]
    assert f"http://127.0.0.1:8000/site/{COLUMN}/sitemaps/2017.xml" in (site / "sitemap.xml").read_text()
    assert (
        f"<loc>http://127.0.0.1:8000/site/{COLUMN}/items/{key(2)}.html</loc>"
        in (site / "sitemaps/2017.xml").read_text()
    )

    for path, media_type in [
        ("/site/", "text/html; charset=utf-8"),
        (f"/site/{COLUMN}/items/{key(1)}.html", "text/html; charset=utf-8"),
        (f"/site/{COLUMN}/search/2017.json", "application/json"),
        (f"/site/{COLUMN}/sitemap.xml", "application/xml"),
        (f"/site/{COLUMN}/assets/site.css", "text/css; charset=utf-8"),
        (f"/site/{COLUMN}/items/{key(1)}/01-招生方案.pdf", "application/pdf"),
    ]:
        answer = api.get(path)
        assert answer.status_code == 200, path
        assert answer.headers["content-type"] == media_type, path
        assert answer.headers["x-content-type-options"] == "nosniff"


@SQLITE_ONLY
def test_markup_never_reaches_a_page_and_names_never_leave_the_folder(
    api: TestClient, auth: dict[str, str], site: Path, tmp_path: Path
) -> None:
    item = make_item(
        "x",
        title="<script>alert('title')</script>通知",
        summary='<b onmouseover="alert(1)">概述</b>',
        body_html='<p onclick="steal()">正文</p><script>alert("body")</script>'
        '<img src="x" onerror="alert(2)"><a href="javascript:alert(3)">链接</a>'
        '<a href="data:text/html,<script>alert(4)</script>">数据</a>',
        attachments=[
            attachment('<img src=x onerror="alert(5)">.pdf'),
            attachment("../../../../escaped.html", b"<script>alert(6)</script>", "text/html"),
            attachment("..\\..\\windows.pdf"),
        ],
    )
    assert api.post("/v1/items", json=item, headers=auth).status_code == 202
    settled(api, auth, "t-x")

    for path in site.rglob("*.html"):
        assert markup_of(path.read_text("utf-8")) == SITE_MARKUP, path
    for path in [*site.rglob("*.json"), *site.rglob("*.xml")]:
        assert "<script" not in path.read_text("utf-8"), path
    page = (site / f"items/{key(1)}.html").read_text("utf-8")
    assert "<h1>&lt;script&gt;alert(&#39;title&#39;)&lt;/script&gt;通知</h1>" in page
    assert "&lt;img src=x onerror=&#34;alert(5)&#34;&gt;.pdf</a>" in page
    files = sorted(p.name for p in (site / "items" / key(1)).iterdir())
    assert files == ["01-img_src_x_onerror_alert_5.pdf", "02-escaped.bin", "03-windows.pdf"]
    outside = {p.name for p in tmp_path.rglob("*") if p.is_file() and site not in p.parents}
    assert not any("escaped" in name or "windows" in name for name in outside), outside
    answer = api.get(f"/site/{COLUMN}/items/{key(1)}/02-escaped.bin")
    assert answer.headers["content-type"] == "application/octet-stream"


def test_revision_and_retraction_change_exactly_their_pages(
    api: TestClient, auth: dict[str, str], site: Path, services: Services
) -> None:
    items = [make_item(n, generated_on=f"2017-03-{n:02d}") for n in range(1, 13)]
    answers = api.post("/v1/items:batch", json={"items": items}, headers=auth).json()
    assert [a["status"] for a in answers] == [202] * 12
    for n in range(1, 13):
        settled(api, auth, f"t-{n}")
    # several workers rendered at once: every listing still holds every item exactly once
    for folder in LISTINGS:
        pages = [site / f"{folder}page-{k}.html" for k in (3, 2, 1)]
        assert [k for p in pages for k in listed(p)] == [key(n) for n in range(12, 0, -1)], folder
        assert listed(site / f"{folder}index.html") == [key(n) for n in range(12, 7, -1)]
        assert not (site / f"{folder}page-4.html").exists()
    assert len(json.loads((site / "search/2017.json").read_text())) == 12

    before = snapshot(site)
    revised = {**items[0], "revision": 2, "title": "测试公开信息 1（修订）"}
    assert api.post("/v1/items", json=revised, headers=auth).status_code == 202
    settled(api, auth, "t-1")
    after = snapshot(site)
    expected = {f"items/{key(1)}.html", "search/2017.json"} | {f"{f}page-1.html" for f in LISTINGS}
    assert expected <= touched(before, after) <= expected | {"sitemaps/2017.xml"}
    assert "测试公开信息 1（修订）" in (site / "category/政策法规/page-1.html").read_text("utf-8")

    gone = api.request("DELETE", "/v1/items/test/t-12", json={"reason": "内容有误，重新发布"}, headers=auth)
    assert gone.status_code == 202
    settled(api, auth, "t-12", action="retract")
    final = snapshot(site)
    expected = {f"items/{key(12)}.html", f"withdrawn/{key(12)}", "search/2017.json", "sitemaps/2017.xml"}
    expected |= {f"{f}{page}" for f in LISTINGS for page in ("page-3.html", "index.html")}
    assert touched(after, final) == expected
    for folder in LISTINGS:
        assert listed(site / f"{folder}page-3.html") == [key(11)]
        assert key(12) not in listed(site / f"{folder}index.html")
    assert key(12) not in (site / "search/2017.json").read_text()
    assert key(12) not in (site / "sitemaps/2017.xml").read_text()

    # rebuilding every listing from the database gives exactly what the renders left
    generated = {p: h for p, (h, _) in final.items() if not p.startswith(("items/", "withdrawn/", "assets/"))}
    for path in generated:
        (site / path).unlink()
    services.channel("website").rebuild()  # type: ignore[attr-defined]
    assert {p: h for p, (h, _) in snapshot(site).items() if p in generated} == generated

    notice = api.get(f"/site/{COLUMN}/items/{key(12)}.html")
    assert notice.status_code == 410
    assert "该信息已撤回" in notice.text and "内容有误，重新发布" in notice.text
    assert re.search(r"撤回时间</th><td>\d{4}-\d\d-\d\d \d\d:\d\d</td>", notice.text)


@SQLITE_ONLY
@pytest.mark.parametrize(
    "path",
    [
        "/site/%2e%2e/govpub.db",
        "/site/..%2fgovpub.db",
        "/site/items/%2e%2e/%2e%2e/govpub.db",
        "/site/.lock",
        f"/site/{COLUMN}/escape/link.txt",
        "/site/%00",
        "/site/nothing-here.html",
    ],
)
def test_the_site_route_serves_nothing_outside_the_folder(
    api: TestClient, auth: dict[str, str], site: Path, tmp_path: Path, path: str
) -> None:
    assert api.post("/v1/items", json=make_item(1), headers=auth).status_code == 202
    settled(api, auth, "t-1")
    (tmp_path / "secret.txt").write_text("secret")
    (site / "escape").mkdir()
    (site / "escape/link.txt").symlink_to(tmp_path / "secret.txt")
    answer = api.get(path)
    # a control character in a URL is refused before any route (pipeline.text.CleanUrls)
    assert answer.status_code == (400 if "%00" in path else 404), answer.text
    assert "secret" not in answer.text


def test_an_empty_sub_category_has_no_page_and_no_link(
    api: TestClient, auth: dict[str, str], site: Path, services: Services
) -> None:
    """No 空白栏目: a sub-category gets a page with its first item and loses it with its
    last; its category page links only sub-categories that have a page, and an old link
    to a page that went lands on the category (302, the page may come back)."""
    assert api.post("/v1/items", json=make_item(1), headers=auth).status_code == 202
    settled(api, auth, "t-1")
    subs = sorted(str(p.relative_to(site)) for p in site.glob("category/*/*/index.html"))
    assert subs == ["category/政策法规/招生考试/index.html"]
    category = (site / "category/政策法规/index.html").read_text("utf-8")
    assert re.findall(r'<ul class="subindexes">\n(.*?)</ul>', category, re.S) == [
        '<li><a href="%E6%8B%9B%E7%94%9F%E8%80%83%E8%AF%95/index.html">招生考试</a></li>'
    ]
    assert "分类浏览" not in (site / "category/规划计划/index.html").read_text("utf-8")
    assert (site / "category/规划计划/index.html").exists()  # a category stays: the menu links it

    moved = {**make_item(1), "revision": 2, "subcategory": "人事管理"}
    assert api.post("/v1/items", json=moved, headers=auth).status_code == 202
    settled(api, auth, "t-1")
    assert sorted(str(p.relative_to(site)) for p in site.glob("category/*/*/index.html")) == [
        "category/政策法规/人事管理/index.html"
    ]
    assert not (site / "category/政策法规/招生考试").exists()
    assert "招生考试" not in (site / "category/政策法规/index.html").read_text("utf-8")
    gone = api.get(f"/site/{COLUMN}/category/政策法规/招生考试/index.html", follow_redirects=False)
    assert gone.status_code == 302
    assert unquote(gone.headers["location"]) == f"/site/{COLUMN}/category/政策法规/index.html"
    assert api.get(f"/site/{COLUMN}/category/政策法规/招生考试/").status_code == 200  # followed
    assert api.get(f"/site/{COLUMN}/category/无此分类/招生考试/").status_code == 404

    # a page left by an older version is removed by a rebuild
    stale = site / "category/规划计划/人事管理/index.html"
    stale.parent.mkdir(parents=True)
    stale.write_text("<p>暂无信息。</p>", "utf-8")
    services.channel("website").rebuild()  # type: ignore[attr-defined]
    assert not stale.parent.exists()
    assert not [p for p in site.glob("category/*/*/*.html") if "暂无信息" in p.read_text("utf-8")]
