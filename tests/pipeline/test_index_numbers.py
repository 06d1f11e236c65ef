"""索引号: the allocator never hands out a number an item holds, an explicit number
that is taken is a 409 for that item alone, and no mix of the two is a 500
(on SQLite and PostgreSQL, sequential and concurrent)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
from fastapi.testclient import TestClient

from pipeline.app import create_app
from pipeline.services import Services
from tests.helpers import LiveServer, make_item, register_agencies

AGENCY = "113703030000000000"


def number(serial: int, year: int = 2017, agency: str = AGENCY) -> str:
    return f"{agency}/{year}-{serial:05d}"


def other_agency(n: int) -> dict[str, Any]:
    item = make_item(n)
    item["agency"] = {"name": "张店区财政局", "code": "113703030000000099"}
    return item


def test_an_explicit_next_serial_is_stepped_over(api: TestClient, auth: dict[str, str]) -> None:
    squatted = api.post("/v1/items", json=make_item("own", index_no=number(2)), headers=auth)
    assert squatted.status_code == 202, squatted.text
    answers = [api.post("/v1/items", json=make_item(n), headers=auth) for n in range(1, 5)]
    assert [a.status_code for a in answers] == [202] * 4, [a.text for a in answers]
    assert [a.json()["index_no"] for a in answers] == [number(1), number(3), number(4), number(5)]


def test_a_taken_explicit_number_is_409_for_that_item_alone(
    api: TestClient, services: Services, auth: dict[str, str]
) -> None:
    register_agencies(services.engine, {"113703030000000099": "张店区财政局"})
    auth = {"authorization": f"Bearer {services.store.add_source('test', ['113703030000000099'])}"}
    assert api.post("/v1/items", json=make_item(1), headers=auth).json()["index_no"] == number(1)
    batch = [
        make_item(2),
        make_item("copycat", index_no=number(1)),
        other_agency(3),
        make_item("own", index_no=number(7)),
        make_item("own-again", index_no=number(7)),
    ]
    answer = api.post("/v1/items:batch", json={"items": batch}, headers=auth)
    assert answer.status_code == 200, answer.text
    statuses = [a["status"] for a in answer.json()]
    assert statuses == [202, 409, 202, 202, 409], answer.text
    refused = answer.json()[1]["error"]
    assert refused["error"] == "index_no_taken" and number(1) in refused["message"]
    single = api.post("/v1/items", json=make_item("copycat", index_no=number(7)), headers=auth)
    assert single.status_code == 409 and single.json()["error"] == "index_no_taken"


def test_a_resubmission_keeps_its_explicit_number(api: TestClient, auth: dict[str, str]) -> None:
    item = make_item("own", index_no=number(3))
    assert api.post("/v1/items", json=item, headers=auth).status_code == 202
    assert api.post("/v1/items", json=item, headers=auth).status_code == 200
    newer = api.post("/v1/items", json={**item, "revision": 2}, headers=auth)
    assert newer.status_code == 202 and newer.json()["index_no"] == number(3)


def test_concurrent_explicit_and_automatic_numbers_never_collide(services: Services, token: str) -> None:
    """Explicit numbers for every even serial race 40 automatic items of the same
    agency and year: every answer is 202 or 409, and no number is held twice."""
    explicit = [make_item(f"own-{n}", index_no=number(n)) for n in range(2, 62, 2)]
    automatic = [make_item(n) for n in range(40)]
    mixed = [x for pair in zip(explicit, automatic, strict=False) for x in pair] + automatic[len(explicit) :]
    headers = {"authorization": f"Bearer {token}"}
    with (
        LiveServer(create_app(services.settings, services)) as server,
        httpx.Client(base_url=server.url, headers=headers, timeout=60) as client,
        ThreadPoolExecutor(16) as pool,
    ):
        answers = list(pool.map(lambda item: client.post("/v1/items", json=item), mixed))
    statuses = [a.status_code for a in answers]
    assert set(statuses) <= {202, 409}, [a.text for a in answers if a.status_code not in (202, 409)]
    numbers = [a.json()["index_no"] for a in answers if a.status_code == 202]
    assert len(numbers) == len(set(numbers))
    auto = [a.json()["index_no"] for item, a in zip(mixed, answers, strict=True) if "index_no" not in item]
    assert len(auto) == 40 and all(a.startswith(f"{AGENCY}/2017-") for a in auto)
    for item, answer in zip(mixed, answers, strict=True):
        if answer.status_code == 409:
            assert "index_no" in item and answer.json()["error"] == "index_no_taken"
