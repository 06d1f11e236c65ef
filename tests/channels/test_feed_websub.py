"""WebSub: the feed channel pings a hub (the loopback sandbox) after each change, and the
hub, fetching the feed from a real ``govpub serve`` at that moment, sees the change."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import feedparser
import httpx
import pytest

from channels.feed.sandbox import HubServer, start
from pipeline.app import create_app
from pipeline.config import ChannelConfig
from pipeline.schema import upgrade
from pipeline.services import Services, build_services
from tests.helpers import (
    TEST_AGENCY,
    TEST_AGENCY_NAME,
    LiveServer,
    free_port,
    make_item,
    register_agencies,
    wait_until,
)


@pytest.fixture
def hub() -> Iterator[HubServer]:
    server = start()
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture
def served(settings_for: Any, db_url: str, hub: HubServer) -> Iterator[tuple[LiveServer, Services, str]]:
    """``govpub serve`` on a known port (the feeds' own URLs must reach it) with a feed
    channel that pings the sandbox hub."""
    port = free_port()
    settings = settings_for(
        database_url=db_url,
        public_url=f"http://127.0.0.1:{port}",
        channels={"feed": ChannelConfig(kind="feed", options={"entries": 5, "websub_hub": hub.url})},
    )
    services = build_services(settings)
    upgrade(services.engine)
    register_agencies(services.engine, {TEST_AGENCY: TEST_AGENCY_NAME})
    token = services.store.add_source("test")
    with LiveServer(create_app(settings, services), port=port) as server:
        yield server, services, token
    services.engine.dispose()


def pings_for(hub: HubServer, count: int) -> list[dict[str, Any]]:
    def enough() -> list[dict[str, Any]] | None:
        pings: list[dict[str, Any]] = httpx.get(hub.url + "sandbox/pings").json()
        return pings if len(pings) >= count else None

    return wait_until(enough, 30, f"{count} pings")


def test_the_hub_is_pinged_after_each_change_and_sees_it(
    served: tuple[LiveServer, Services, str], hub: HubServer
) -> None:
    server, services, token = served
    auth = {"authorization": f"Bearer {token}"}
    folder = Path(services.settings.data_dir) / "site" / "feeds"
    topics = {
        f"{server.url}/feeds/{name}.{fmt}"
        for name in ("all", "category-%E6%94%BF%E7%AD%96%E6%B3%95%E8%A7%84")
        for fmt in ("rss", "atom")
    }

    assert httpx.post(server.url + "/v1/items", json=make_item(1), headers=auth).status_code == 202
    first = pings_for(hub, 4)
    assert {p["topic"] for p in first} == topics
    all_atom = folder / "all.atom"
    by_topic = {p["topic"]: p for p in first}
    assert by_topic[f"{server.url}/feeds/all.atom"]["status"] == 200
    assert (
        by_topic[f"{server.url}/feeds/all.atom"]["sha256"]
        == hashlib.sha256(all_atom.read_bytes()).hexdigest()
    )
    for fmt in ("rss", "atom"):
        parsed = feedparser.parse(httpx.get(f"{server.url}/feeds/all.{fmt}").content)
        assert not parsed.bozo
        assert {(link.rel, link.href) for link in parsed.feed.links} >= {
            ("hub", hub.url),
            ("self", f"{server.url}/feeds/all.{fmt}"),
        }

    # the hub refuses once: the delivery retries and pings again
    httpx.post(hub.url + "sandbox/faults", json={"status": 503, "times": 1})
    assert httpx.post(server.url + "/v1/items", json=make_item(2), headers=auth).status_code == 202

    def delivered() -> list[dict[str, Any]] | None:
        body = httpx.get(server.url + "/v1/items/test/t-2", headers=auth).json()
        (delivery,) = body["deliveries"]
        return services.store.events(delivery["id"]) if delivery["state"] == "delivered" else None

    events = wait_until(delivered, 30, "the second item's delivery")
    assert [e["outcome"] for e in events] == ["retry", "delivered"]
    assert events[0]["error_class"] == "TransientError" and "503" in events[0]["message"]
    later = pings_for(hub, 8)[4:]
    assert {p["topic"] for p in later} == topics
    latest = {p["topic"]: p for p in later}[f"{server.url}/feeds/all.atom"]
    assert latest["sha256"] == hashlib.sha256(all_atom.read_bytes()).hexdigest()
    assert len(feedparser.parse(all_atom.read_bytes()).entries) == 2
