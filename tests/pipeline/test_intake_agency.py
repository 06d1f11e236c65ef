"""The intake's agency rules in process, on SQLite and PostgreSQL (the running
platform's test is tests/platform/test_sources.py): the item's agency and the key that
keeps every stored item a registered agency's."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import insert
from sqlalchemy.exc import IntegrityError

from pipeline import db
from pipeline.agencies import Agency, add
from pipeline.services import Services
from tests.helpers import TEST_AGENCY, make_item

OTHER = "11370303MB1234567X"
NOW = datetime(2026, 3, 2, tzinfo=UTC)


def test_a_revision_keeps_its_agency(api: TestClient, services: Services) -> None:
    add(services.engine, Agency(OTHER, "和平街道"), NOW)
    both = {"authorization": f"Bearer {services.store.add_source('both', [TEST_AGENCY, OTHER])}"}
    assert api.post("/v1/items", json=make_item(1), headers=both).status_code == 202
    moved = make_item(1, revision=2, agency={"code": OTHER, "name": "和平街道"})
    answer = api.post("/v1/items", json=moved, headers=both)
    assert answer.status_code == 422 and answer.json()["details"] == [f"agency.code: stored as {TEST_AGENCY}"]


def test_batch_refusals_are_per_item_and_write_nothing_of_theirs(
    api: TestClient, services: Services, auth: dict[str, str]
) -> None:
    add(services.engine, Agency(OTHER, "和平街道"), NOW)  # registered after the token: not bound
    batch = [
        make_item(1),
        make_item(2, agency={"code": OTHER, "name": "和平街道"}),
        make_item(3, index_no=f"{OTHER}/2017-00001"),
        make_item(4, agency={"code": "UNKNOWN01", "name": "无"}),
    ]
    answers = api.post("/v1/items:batch", json={"items": batch}, headers=auth).json()
    codes = [(a["status"], (a["error"] or {}).get("error")) for a in answers]
    assert codes == [
        (202, None),
        (403, "agency_not_bound"),
        (422, "index_no_agency"),
        (422, "unknown_agency"),
    ]
    assert api.get("/v1/items/test/t-2", headers=auth).status_code == 404
    assert api.get("/v1/items/test/t-1", headers=auth).status_code == 200


def test_the_database_refuses_an_item_of_an_unregistered_agency(services: Services) -> None:
    row = {
        "source": "x", "item_id": "i", "index_no": "UNKNOWN01/2017-00001", "agency_code": "UNKNOWN01",
        "latest_revision": 1, "created_at": NOW,
    }  # fmt: skip
    with pytest.raises(IntegrityError), services.engine.begin() as conn:
        conn.execute(insert(db.items).values(**row))


def test_0012_registers_a_code_stored_after_0011_then_holds_the_key(db_url: str) -> None:
    from sqlalchemy import select

    from pipeline.db import make_engine
    from pipeline.schema import pending, upgrade

    engine = make_engine(db_url)
    upgrade(engine, "0011_agencies")
    row = {
        "source": "x", "item_id": "i", "index_no": "ORPHAN01/2017-00001", "agency_code": "ORPHAN01",
        "latest_revision": 1, "created_at": NOW,
    }  # fmt: skip
    with engine.begin() as conn:
        conn.execute(insert(db.items).values(**row))
    upgrade(engine)
    assert pending(engine) == []
    with engine.connect() as conn:
        registered = conn.execute(select(db.agencies.c.name, db.agencies.c.path)).all()
        assert [tuple(r) for r in registered] == [("ORPHAN01", "orphan01")]
        assert conn.execute(select(db.items.c.index_no)).scalars().all() == ["ORPHAN01/2017-00001"]
    engine.dispose()
