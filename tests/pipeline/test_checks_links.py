"""The links check through the running app, against a loopback site allowed in the
test's ``[outbound]``: a broken link holds the item and is named; good links and
redirects to good pages pass; without the allowance loopback is refused, unfetched."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from pipeline.checks import links
from pipeline.config import ChannelConfig, ChecksSettings, Settings
from pipeline.outbound import OutboundSettings, Policy
from tests.helpers import make_item, wait_until
from tests.listener import Listener


@pytest.fixture
def site() -> Iterator[Listener]:
    with Listener() as listener:
        yield listener


@pytest.fixture
def settings(settings_for: Any, db_url: str) -> Settings:
    checks = ChecksSettings(enabled=["links"], links="hold", links_budget_seconds=20)
    result: Settings = settings_for(
        database_url=db_url,
        channels={"site": ChannelConfig(kind="memory")},
        checks=checks,
        outbound=OutboundSettings(allow=["127.0.0.1"]),
    )
    return result


def test_a_broken_link_holds_the_item_and_is_named(
    api: TestClient, auth: dict[str, str], site: Listener
) -> None:
    good, missing = site.url("/image.png"), site.url("/gone.html")
    redirected = site.url(f"/redirect?to={good}")
    body = (
        f'<p><a href="{redirected}">附件</a><img src="{good}">'
        f'<a href="{missing}">旧链接</a><a href="/local">站内</a></p>'
    )
    assert api.post("/v1/items", json=make_item(1, body_html=body), headers=auth).status_code == 202

    def answer() -> Any:
        found = api.get("/v1/items/test/t-1", headers=auth).json()
        return found if found["deliveries"][0]["state"] == "held" else None

    found = wait_until(answer, what="held")
    assert [(f["check"], f["severity"], f["found"]) for f in found["findings"]] == [
        ("links", "hold", f"link {missing}")
    ]
    assert "HTTP 404" in found["findings"][0]["note"]
    assert {path for path, _ in site.requests} == {"/redirect", "/image.png", "/gone.html"}  # not /local


def test_good_links_go_out(api: TestClient, auth: dict[str, str], site: Listener) -> None:
    body = f'<p><img src="{site.url("/image.png")}"></p>'
    assert api.post("/v1/items", json=make_item(2, body_html=body), headers=auth).status_code == 202
    wait_until(
        lambda: api.get("/v1/items/test/t-2", headers=auth).json()["deliveries"][0]["state"] == "delivered",
        what="delivered",
    )
    assert api.get("/v1/items/test/t-2", headers=auth).json()["findings"] == []


def test_loopback_is_refused_without_the_allowance_and_never_fetched(site: Listener) -> None:
    found = list(links.check(f'<a href="{site.url("/image.png")}">x</a>', Policy(), 10, "hold"))
    assert [(f.severity, f.found) for f in found] == [("hold", f"link {site.url('/image.png')}")]
    assert "refused by the outbound policy" in found[0].note
    assert site.connections == 0
