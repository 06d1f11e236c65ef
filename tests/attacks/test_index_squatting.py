"""Index-number squatting through a running ``govpub serve``: a source that claims the
next serials of an agency (or of several) with explicit 索引号, and a careless client
that mixes its own numbers with automatic ones, never make anyone else's item fail.
Every answer is 2xx or 409, never a 5xx, on SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx

from tests.attacks.serving import serve_for
from tests.helpers import make_item

AGENCIES = ["113703030000000000", "113703030000000077"]
DECLARED = {code: {"name": "张店区教育局", "path": f"a{code[-2:]}"} for code in AGENCIES}


def item_of(agency: str, n: int | str, **changes: Any) -> dict[str, Any]:
    return make_item(f"{agency[-2:]}-{n}", agency={"name": "张店区教育局", "code": agency}, **changes)


def test_squatted_serials_never_fail_automatic_items(tmp_path: Path, db_url: str) -> None:
    with (
        serve_for(tmp_path / "govpub", db_url, agencies=DECLARED) as served,
        httpx.Client(base_url=served.url, timeout=60) as http,
    ):
        store = served.cluster.services.store
        served.token = store.add_source("test", AGENCIES)  # a new token, bound to both agencies
        squatter = served.auth(store.add_source("squatter", AGENCIES))
        claims = [
            item_of(agency, f"squat-{serial}", index_no=f"{agency}/2017-{serial:05d}")
            for agency in AGENCIES
            for serial in (1, 2, 3, 5)
        ]
        squatted = http.post("/v1/items:batch", json={"items": claims}, headers=squatter)
        assert squatted.status_code == 200 and {a["status"] for a in squatted.json()} == {202}

        batch = [item_of(agency, n) for n in range(4) for agency in AGENCIES]
        answer = http.post("/v1/items:batch", json={"items": batch}, headers=served.auth())
        assert answer.status_code == 200, answer.text
        assert [a["status"] for a in answer.json()] == [202] * len(batch), answer.text
        for agency in AGENCIES:
            got = sorted(
                a["receipt"]["index_no"] for a in answer.json() if a["receipt"]["index_no"].startswith(agency)
            )
            assert got == [f"{agency}/2017-{s:05d}" for s in (4, 6, 7, 8)]

        careless = [
            item_of(AGENCIES[0], "mine", index_no=f"{AGENCIES[0]}/2017-00009"),
            item_of(AGENCIES[0], 9),
        ]
        careless.append(item_of(AGENCIES[1], "taken", index_no=f"{AGENCIES[1]}/2017-00004"))
        mixed = http.post("/v1/items:batch", json={"items": careless}, headers=served.auth())
        assert [a["status"] for a in mixed.json()] == [202, 202, 409], mixed.text
        assert mixed.json()[1]["receipt"]["index_no"] == f"{AGENCIES[0]}/2017-00010"
        again = http.post(
            "/v1/items",
            json=item_of(AGENCIES[1], "again", index_no=f"{AGENCIES[1]}/2017-00004"),
            headers=squatter,
        )
        assert again.status_code == 409 and "test/" not in again.text  # the holder is not named
