"""The disclosure column in a real browser (headless Chromium through Playwright),
served by the govpub app under uvicorn, as ``govpub serve`` serves it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from pipeline.app import create_app
from pipeline.config import Settings
from pipeline.schema import upgrade
from pipeline.services import build_services
from tests.channels.website_helpers import COLUMN, KEY_PREFIX, website
from tests.conftest import unavailable
from tests.helpers import (
    TEST_AGENCY,
    TEST_AGENCY_NAME,
    LiveServer,
    free_port,
    make_item,
    register_agencies,
    wait_until,
)

pytestmark = pytest.mark.browser

CHROMIUM = Path("/usr/bin/chromium")
ARGS = [
    "--no-sandbox",
    "--headless",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ITEMS = [
    make_item(1, title="2017年普通高中招生工作实施方案", generated_on="2017-03-01"),
    make_item(2, title="区教育局公开招聘教师公告", category="业务工作", subcategory="人事管理"),
    make_item(3, title="校园安全专项检查情况通报", generated_on="2017-05-02"),
]


@pytest.fixture
def browser() -> Iterator[Any]:
    if not CHROMIUM.exists():
        unavailable("Chromium", FileNotFoundError(str(CHROMIUM)))
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        yield launched
        launched.close()


@pytest.fixture
def served(tmp_path: Path, settings_for: Any) -> Iterator[str]:
    """govpub with a static website channel on a free port, the items delivered."""
    port = free_port()
    settings: Settings = settings_for(
        public_url=f"http://127.0.0.1:{port}", channels=website(tmp_path / "site")
    )
    services = build_services(settings)
    upgrade(services.engine)
    register_agencies(services.engine, {TEST_AGENCY: TEST_AGENCY_NAME})
    auth = {"authorization": f"Bearer {services.store.add_source('test')}"}
    with LiveServer(create_app(settings, services), port=port) as server:
        for item in ITEMS:
            assert httpx.post(f"{server.url}/v1/items", json=item, headers=auth).status_code == 202
        wait_until(lambda: services.store.counts().get("website", {}).get("delivered") == 3, what="delivery")
        yield server.url
    services.engine.dispose()


def not_blank(path: Path) -> bool:
    from PIL import Image

    with Image.open(path) as image:
        colours = image.convert("RGB").getcolors(maxcolors=1 << 20) or []
    return len(colours) > 20


def cell(page: Any, label: str) -> str:
    text: str = page.locator(f'table.catalogue tr:has(th:text-is("{label}")) td').inner_text()
    return text


def test_item_page_category_index_and_search_in_chromium(browser: Any, served: str, tmp_path: Path) -> None:
    page = browser.new_page(viewport={"width": 1100, "height": 900})
    page.goto(f"{served}/site/{COLUMN}/items/{KEY_PREFIX}00001.html")
    assert page.locator("html").get_attribute("lang") == "zh-CN"
    assert page.locator("h1").inner_text() == "2017年普通高中招生工作实施方案"
    assert cell(page, "索引号") == "113703030000000000/2017-00001"
    assert cell(page, "发布机构") == "张店区教育局"
    assert cell(page, "生成日期") == "2017-03-01"
    assert cell(page, "主题分类") == "政策法规 / 招生考试"
    assert page.get_by_role("table", name="政府信息公开目录信息").is_visible()

    page.keyboard.press("Tab")  # keyboard users land on the skip link first
    assert page.evaluate("document.activeElement.textContent") == "跳到正文"
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "main"
    normal = page.evaluate("parseFloat(getComputedStyle(document.documentElement).fontSize)")
    page.get_by_label("大字号").check()
    assert page.evaluate("parseFloat(getComputedStyle(document.documentElement).fontSize)") > normal
    page.screenshot(path=tmp_path / "item.png", full_page=True)
    assert not_blank(tmp_path / "item.png")

    page.goto(f"{served}/site/{COLUMN}/category/政策法规/index.html")  # the large-text choice is remembered
    assert page.get_by_label("大字号").is_checked()
    rows = page.locator("table.listing tbody tr")
    assert rows.count() == 2
    assert "校园安全专项检查情况通报" in rows.nth(0).inner_text()  # newest first
    page.get_by_role("link", name="2017年普通高中招生工作实施方案").click()
    assert page.locator("h1").inner_text() == "2017年普通高中招生工作实施方案"
    page.goto(f"{served}/site/{COLUMN}/category/政策法规/index.html")
    page.screenshot(path=tmp_path / "category.png", full_page=True)
    assert not_blank(tmp_path / "category.png")

    page.goto(f"{served}/site/{COLUMN}/search.html")
    page.get_by_label("关键词").fill("招聘")
    page.keyboard.press("Enter")
    page.locator("#search-results li").first.wait_for()
    assert page.locator("#search-results li").count() == 1
    assert "共找到 1 条" in page.locator("#search-status").inner_text()
    page.screenshot(path=tmp_path / "search.png", full_page=True)
    assert not_blank(tmp_path / "search.png")
    page.get_by_role("link", name="区教育局公开招聘教师公告").click()
    assert cell(page, "索引号") == "113703030000000000/2017-00002"
