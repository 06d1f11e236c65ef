"""Concurrent submissions over real HTTP: no duplicates, gap-free 索引号."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx

from pipeline.app import create_app
from pipeline.services import Services
from tests.helpers import LiveServer, make_item, wait_until
from tests.pipeline.test_intake import stored


def post_all(url: str, token: str, items: list[dict[str, Any]]) -> list[httpx.Response]:
    headers = {"authorization": f"Bearer {token}"}
    with httpx.Client(base_url=url, headers=headers, timeout=60) as client, ThreadPoolExecutor(32) as pool:
        return list(pool.map(lambda item: client.post("/v1/items", json=item), items))


def test_200_concurrent_resubmissions_make_one_item(services: Services, token: str) -> None:
    with LiveServer(create_app(services.settings, services)) as server:
        answers = post_all(server.url, token, [make_item(1)] * 200)
        statuses = sorted(a.status_code for a in answers)
        assert statuses == [200] * 199 + [202]
        assert {a.json()["index_no"] for a in answers} == {"113703030000000000/2017-00001"}
        assert stored(services) == (1, 1, 1)
        wait_until(lambda: services.store.counts() == {"memory": {"delivered": 1}}, 30, "delivery")


def test_200_concurrent_items_get_gap_free_index_numbers(services: Services, token: str) -> None:
    with LiveServer(create_app(services.settings, services)) as server:
        answers = post_all(server.url, token, [make_item(n) for n in range(200)])
        assert {a.status_code for a in answers} == {202}
        serials = sorted(int(a.json()["index_no"].rsplit("-", 1)[1]) for a in answers)
        assert serials == list(range(1, 201))
        wait_until(lambda: services.store.counts() == {"memory": {"delivered": 200}}, 60, "delivery")
