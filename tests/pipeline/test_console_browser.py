"""The console end to end in headless Chromium against a real uvicorn server:
an operator sees a delivery that failed, retries it and watches it turn delivered;
an auditor sees the same without action buttons and a forged action is refused;
logged out, every console URL leads to the login page.

Screenshots go to ``$GOVPUB_SCREENSHOTS`` when set (else the test's tmp_path).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright import sync_api as playwright_api

from pipeline.app import create_app
from pipeline.config import ChannelConfig, ConsoleSettings
from pipeline.schema import upgrade
from pipeline.services import Services, build_services
from tests.conftest import unavailable
from tests.helpers import TEST_AGENCY, TEST_AGENCY_NAME, LiveServer, make_item, register_agencies, wait_until
from tests.pipeline.console_support import CONSOLE_URLS, PASSWORD, add_user

pytestmark = pytest.mark.browser
CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--no-sandbox",
    "--headless",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@dataclass
class Live:
    url: str
    services: Services
    shots: Path

    def channel_options(self) -> dict[str, Any]:
        return self.services.settings.channels["memory"].options


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not os.path.exists(CHROMIUM):
        unavailable("Chromium", FileNotFoundError(CHROMIUM))
    with playwright_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield browser
        browser.close()


@pytest.fixture
def live(settings_for: Any, tmp_path: Path) -> Iterator[Live]:
    """govpub serving on a free port, its only channel refusing everything, one item
    submitted and its delivery dead."""
    settings = settings_for(
        channels={"memory": ChannelConfig(kind="memory", options={"fail_permanently": True})},
        console=ConsoleSettings(poll_seconds=1),
    )
    services = build_services(settings)
    upgrade(services.engine)
    register_agencies(services.engine, {TEST_AGENCY: TEST_AGENCY_NAME})
    add_user(services, "ops", "operator")
    add_user(services, "audit", "auditor")
    server = LiveServer(create_app(settings, services)).__enter__()
    url = server.url
    token = services.store.add_source("zdjy-oa")
    item = make_item(1, title="2017年张店地区部分普通高中学校招生指标分配实施方案")
    assert (
        httpx.post(f"{url}/v1/items", json=item, headers={"authorization": f"Bearer {token}"}).status_code
        == 202
    )
    wait_until(lambda: services.store.counts()["memory"].get("dead"), what="the delivery to fail")
    shots = Path(os.environ.get("GOVPUB_SCREENSHOTS") or tmp_path)
    shots.mkdir(parents=True, exist_ok=True)
    yield Live(url, services, shots)
    server.__exit__()
    services.engine.dispose()


def log_in(page: Any, live: Live, name: str, target: str) -> None:
    page.goto(live.url + target)
    assert "/console/login" in page.url
    page.fill("input[name=username]", name)
    page.fill("input[name=password]", PASSWORD)
    page.click("button:has-text('登录')")
    page.wait_for_url(f"**{target}")


def test_an_operator_retries_a_failed_delivery_and_watches_it_delivered(browser: Any, live: Live) -> None:
    context = browser.new_context(viewport={"width": 1360, "height": 900}, locale="zh-CN")
    page = context.new_page()
    log_in(page, live, "ops", "/console/deliveries")
    row = page.locator("#delivery-1")
    assert row.get_attribute("data-state") == "dead"
    assert "PermanentError" in row.inner_text() and "永久性错误" in row.inner_text()
    page.screenshot(path=str(live.shots / "1-deliveries-dead.png"), full_page=True)

    csrf = page.locator("input[name=csrf]").first.input_value()
    forged = context.request.post(
        live.url + "/console/deliveries/1/retry", form={"csrf": csrf[::-1]}, max_redirects=0
    )
    assert forged.status == 403

    live.channel_options().update(fail_permanently=False, delay_seconds=0.5)  # the operator fixed the cause
    row.locator("button[data-action=retry]").click()
    page.wait_for_url("**notice=**")
    assert "已重新排队" in page.locator(".notice").inner_text()
    page.wait_for_selector('#delivery-1[data-state="delivered"]', timeout=20_000)  # live refresh
    page.screenshot(path=str(live.shots / "2-deliveries-delivered.png"), full_page=True)

    page.click("#delivery-1 a")
    timeline = page.locator("ol.timeline").inner_text()
    assert "失败，不再自动重试" in timeline and "操作员要求立即重试" in timeline and "送达" in timeline
    assert "ops（平台管理员）立即重试" in timeline
    page.screenshot(path=str(live.shots / "3-item-timeline.png"), full_page=True)

    page.click("nav >> text=概览")
    assert page.locator("[data-channel=memory]").inner_text().count("已送达") >= 1
    page.screenshot(path=str(live.shots / "4-overview.png"), full_page=True)
    context.close()


def test_an_auditor_reads_but_cannot_act_and_strangers_see_only_the_login(browser: Any, live: Live) -> None:
    context = browser.new_context(viewport={"width": 1360, "height": 900}, locale="zh-CN")
    page = context.new_page()
    log_in(page, live, "audit", "/console/deliveries")
    assert "PermanentError" in page.locator("#delivery-1").inner_text()
    assert page.locator("[data-action]").count() == 0
    assert page.locator("form[action*='/retry'], form[action*='/skip']").count() == 0
    page.screenshot(path=str(live.shots / "5-auditor-deliveries.png"), full_page=True)
    page.goto(live.url + "/console/items/1")
    assert page.locator("form[action*='/retract']").count() == 0
    csrf = page.locator("input[name=csrf]").first.input_value()  # the auditor's own, valid token
    for action, fields in (
        ("deliveries/1/retry", {}),
        ("items/1/retract", {"reason": "试试", "confirm": "yes"}),
    ):
        answer = context.request.post(
            f"{live.url}/console/{action}", form={"csrf": csrf, **fields}, max_redirects=0
        )
        assert answer.status == 403
    assert live.services.store.counts()["memory"] == {"dead": 1}
    context.close()

    stranger = browser.new_context()
    page = stranger.new_page()
    for method, url in CONSOLE_URLS:
        if method == "GET":
            page.goto(live.url + url)
            assert page.url.startswith(live.url + "/console/login"), url
        else:
            answer = stranger.request.post(live.url + url, form={"csrf": "x"}, max_redirects=0)
            assert answer.status == 303 and answer.headers["location"].startswith("/console/login"), url
    page.screenshot(path=str(live.shots / "6-login.png"))
    stranger.close()
