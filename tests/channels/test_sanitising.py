"""One sanitising rule in every output: a hostile body and a markup-like title go in
through the intake, the embedded worker delivers them to the website, the feeds and
a per-item archive receiver, and each output is parsed as a reader would parse it.

No output carries a ``data:`` link (however it is spelt), an SVG ``data:`` image or a
script; inline raster images stay. Titles read exactly as written, escaped the same
way as summaries in both feed formats."""

from __future__ import annotations

import base64
import html
import io
from pathlib import Path
from typing import Any

import lxml.html
import pytest
from fastapi.testclient import TestClient
from lxml import etree
from PIL import Image
from sqlalchemy import select, update

from pipeline import db
from pipeline.config import ChannelConfig, Settings
from pipeline.model import ItemIn
from pipeline.runner import run_delivery
from pipeline.schema import upgrade
from pipeline.services import Services, build_services
from tests.channels.archive_support import unpack
from tests.channels.website_helpers import cms_options, running_cms, settled
from tests.helpers import TEST_AGENCY, TEST_AGENCY_NAME, make_item, register_agencies

ATOM = "{http://www.w3.org/2005/Atom}"
CONTENT = "{http://purl.org/rss/1.0/modules/content/}encoded"
TITLE = "关于<script>alert(1)</script>招生 & 收费的通知"


def png() -> str:
    out = io.BytesIO()
    Image.new("RGB", (4, 4), (200, 0, 0)).save(out, "PNG")
    return "data:image/png;base64," + base64.b64encode(out.getvalue()).decode()


SVG = "data:image/svg+xml;base64," + base64.b64encode(b"<svg onload='alert(1)'/>").decode()
HOSTILE_BODY = (
    "<p>正文</p>"
    '<a href="data:text/html,&lt;script&gt;alert(1)&lt;/script&gt;">数据链接</a>'
    '<a href="da&#9;ta:text/html;base64,PHNjcmlwdD4=">拆开的数据链接</a>'
    '<a href=" DATA:text/html,x">大写的数据链接</a>'
    f'<a href="{png()}">图片形式的数据链接</a>'
    f'<img src="{SVG}" alt="矢量图">'
    f'<img src="{png()}" alt="红色示意图">'
    '<a href="https://www.zhangdian.gov.cn/">区政府网站</a>'
)


def urls(root: Any) -> list[tuple[str, str, str]]:
    """Every (tag, attribute, URL) of a parsed HTML fragment or page."""
    return [
        (el.tag, attr, el.get(attr))
        for el in root.iter()
        if isinstance(el.tag, str)
        for attr in ("href", "src")
        if el.get(attr) is not None
    ]


def assert_clean(markup: str, where: str) -> None:
    """The body as an output carries it, parsed as a browser would."""
    root = lxml.html.fragment_fromstring(markup, create_parent="div")
    found = urls(root)
    assert not [u for u in found if "data:" in u[2].lower().replace("\t", "") and u[0] != "img"], where
    images = [u for t, a, u in found if t == "img"]
    assert [u[:22] for u in images] == ["data:image/png;base64,"], (where, images)
    assert ("a", "href", "https://www.zhangdian.gov.cn/") in found, where
    assert root.xpath("//script") == [], where


def assert_page(page: bytes, where: str) -> None:
    """A whole HTML page: its body clean, its title shown as written."""
    root = lxml.html.fromstring(page)
    [body] = root.xpath("//div[@class='body']")
    assert_clean(etree.tostring(body, encoding="unicode"), where)
    assert root.xpath("string(//h1)") == TITLE, where
    assert not [u for u in urls(root) if "data:" in u[2].lower() and u[0] != "img"], where


def archive_options(tmp_path: Path) -> dict[str, Any]:
    return {
        "source_organization": "张店区教育局",
        "schedule": "per-item",
        "settle_seconds": 0,
        "transport": {"kind": "directory", "path": str(tmp_path / "drop")},
    }


@pytest.fixture
def settings(settings_for: Any, tmp_path: Path) -> Settings:
    result: Settings = settings_for(
        channels={
            "website": ChannelConfig(kind="website"),
            "feed": ChannelConfig(kind="feed", options={"full_text": True}),
            "archive": ChannelConfig(kind="archive", options=archive_options(tmp_path)),
        }
    )
    return result


def test_no_output_carries_a_data_link_and_titles_read_as_written(
    api: TestClient, auth: dict[str, str], services: Services, tmp_path: Path
) -> None:
    summary = "A&B <b>不加粗</b>"
    item = make_item(1, title=TITLE, summary=summary, body_html=HOSTILE_BODY)
    answer = api.post("/v1/items", json=item, headers=auth)
    assert answer.status_code == 202, answer.text
    key = answer.json()["index_no"].replace("/", "-")
    settled(api, auth, "t-1")

    page = api.get(f"/site/113703030000000000/items/{key}.html")
    assert page.status_code == 200
    assert_page(page.content, "website page")

    for fmt in ("rss", "atom"):
        feed = etree.fromstring(api.get(f"/feeds/all.{fmt}").content)
        if fmt == "rss":
            [entry] = feed.iter("item")
            title, description, content = entry.find("title"), entry.find("description"), entry.find(CONTENT)
        else:
            [entry] = feed.iter(f"{ATOM}entry")
            title, description = entry.find(f"{ATOM}title"), entry.find(f"{ATOM}summary")
            content = entry.find(f"{ATOM}content")
            assert title.get("type") == description.get("type") == content.get("type") == "html"
        # text goes out as escaped HTML, titles exactly like summaries
        assert title.text == html.escape(TITLE, quote=False), fmt
        assert description.text == html.escape(summary, quote=False), fmt
        assert_clean(content.text, f"{fmt} content")

    [package] = (tmp_path / "drop").glob("*.tar")
    root = unpack(package, tmp_path / "unpacked")
    [index] = root.glob("data/**/index.html")
    assert_page(index.read_bytes(), "the archive's page")


def test_a_body_stored_under_an_older_rule_is_cleaned_by_every_output(
    settings_for: Any, tmp_path: Path
) -> None:
    """The outputs do not trust what is stored: a revision written before the rule
    tightened (here rewritten in the table after the intake) reaches the static page,
    the CMS, the feeds and the archive clean."""
    with running_cms() as (cms_url, cms):
        channels = {
            "website": ChannelConfig(kind="website"),
            "cms": ChannelConfig(kind="website", options=cms_options(cms_url)),
            "feed": ChannelConfig(kind="feed", options={"full_text": True}),
            "archive": ChannelConfig(kind="archive", options=archive_options(tmp_path)),
        }
        services = build_services(settings_for(channels=channels))
        upgrade(services.engine)
        register_agencies(services.engine, {TEST_AGENCY: TEST_AGENCY_NAME})
        item = ItemIn.model_validate({**make_item(1, title=TITLE), "source": "test"})
        accepted = services.store.accept(item, services.channels_for(item.agency.code, item.channels))
        with services.engine.begin() as conn:
            document = conn.execute(select(db.revisions.c.document)).scalar_one()
            old = {**document, "body_html": HOSTILE_BODY}
            conn.execute(update(db.revisions).values(document=old))
        for delivery_id, channel in accepted.work:
            assert run_delivery(services, delivery_id, channel) == "delivered", channel
        pushed = cms.documents[accepted.index_no]["document"]["body_html"]
    key = accepted.index_no.replace("/", "-")
    column = tmp_path / "data" / "site" / "113703030000000000"
    assert_page((column / "items" / f"{key}.html").read_bytes(), "website page")
    assert_clean(pushed, "the CMS document")
    for fmt in ("rss", "atom"):
        feed = etree.parse(tmp_path / "data" / "site" / "feeds" / f"all.{fmt}").getroot()
        [content] = feed.iter(CONTENT, f"{ATOM}content")
        assert_clean(content.text, f"{fmt} content")
    [package] = (tmp_path / "drop").glob("*.tar")
    [index] = unpack(package, tmp_path / "unpacked").glob("data/**/index.html")
    assert_page(index.read_bytes(), "the archive's page")
    services.engine.dispose()
