"""Set-based intake: a batch stored as sets gives the same receipts and the same rows as
the same batch stored one item at a time (on SQLite and PostgreSQL), with every kind of
item that leaves the set (existing key, key twice, explicit 索引号, held, refused) mixed
in; a set that meets something unusual falls back whole, and a batch costs a handful of
statements, not several per item."""

from __future__ import annotations

import collections
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event, select

from pipeline import db, store_set
from pipeline.checks.findings import NOTHING, Finding, Outcome
from pipeline.errors import IntakeError
from pipeline.model import ItemIn
from pipeline.rows import Accepted
from pipeline.schema import upgrade
from pipeline.services import Services, build_services
from tests.conftest import fresh_pg_database
from tests.helpers import TEST_AGENCY, TEST_AGENCY_NAME, make_item, register_agencies

OTHER = "113703030000000099"
NOW = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)
HOLD = Outcome((Finding("lexicon", "hold", "body_html:1", "错字", "正字"),), frozenset({"memory"}))
WARN = Outcome((Finding("personal", "warn", "summary", "138****0000"),))


@pytest.fixture(params=["sqlite", "postgresql"])
def two(request: pytest.FixtureRequest, tmp_path: Path, settings_for: Any) -> Iterator[list[Services]]:
    """Two empty installations on the same kind of database."""
    urls: list[str] = []
    cleanups: list[Iterator[str]] = []
    for n in (1, 2):
        if request.param == "sqlite":
            urls.append(f"sqlite:///{tmp_path / f'govpub{n}.db'}")
        else:
            made = fresh_pg_database()
            urls.append(next(made))
            cleanups.append(made)
    built = []
    for url in urls:
        services = build_services(settings_for(database_url=url))
        upgrade(services.engine)
        register_agencies(services.engine, {TEST_AGENCY: TEST_AGENCY_NAME, OTHER: "张店区财政局"})
        services.store.add_source("test", [TEST_AGENCY, OTHER])  # what items interpret is in reach
        built.append(services)
    yield built
    for services in built:
        services.engine.dispose()
    for made in cleanups:
        next(made, None)


def item(n: int | str, **changes: Any) -> ItemIn:
    return ItemIn.model_validate({**make_item(n, **changes), "source": "test"})


def other_agency(n: int, **changes: Any) -> ItemIn:
    return item(n, agency={"name": "张店区财政局", "code": OTHER}, **changes)


PLAN = store_set.plan


def one_at_a_time(conn: Any, items: list[ItemIn]) -> store_set.Plan:
    """The plan that sends every item alone: today's path, the reference."""
    plan = PLAN(conn, items)
    return {series: ([], sorted(together + alone)) for series, (together, alone) in plan.items()}


def store(services: Services, batch: list[tuple[ItemIn, Outcome]]) -> list[Accepted | IntakeError]:
    entries = [(i, services.channels_for(i.agency.code, i.channels)) for i, _ in batch]
    return services.store.accept_many(entries, NOW, [outcome for _, outcome in batch])


def answers(results: list[Accepted | IntakeError]) -> list[Any]:
    """What a receipt says: index_no, revision, created, the channels queued (or the error)."""
    return [
        (type(r).__name__, r.status, str(r))
        if isinstance(r, IntakeError)
        else (r.index_no, r.revision, r.created, [channel for _, channel in r.work])
        for r in results
    ]


KEYS = {"pk", "id", "item_pk", "revision_pk", "delivery_id"}


def rows(services: Services) -> dict[str, list[Any]]:
    """Every stored row, surrogate keys replaced by the item's (source, id) and revision."""
    out: dict[str, list[Any]] = {}
    with services.engine.connect() as conn:
        key_of = {r.pk: (r.source, r.item_id) for r in conn.execute(select(db.items))}
        for table in (db.items, db.revisions, db.deliveries, db.check_findings, db.index_serials, db.blobs):
            found = []
            for row in conn.execute(select(table)):
                data = dict(row._mapping)
                if "item_pk" in data:
                    data["item"] = key_of[data["item_pk"]]
                found.append(repr(sorted((k, v) for k, v in data.items() if k not in KEYS)))
            out[table.name] = sorted(found)
    return out


def test_a_mixed_batch_stores_the_same_rows_and_receipts_either_way(
    two: list[Services], monkeypatch: pytest.MonkeyPatch
) -> None:
    before = [(item("old"), NOTHING), (item("stale", revision=3), NOTHING)]
    batch = [
        (item("reads-1", interprets=[{"id": "t-1"}]), NOTHING),  # 政策解读 of an item after it: alone
        (item(1), NOTHING),
        (item(2), WARN),
        (item(3, channels=["feed"]), NOTHING),  # not a channel here: skipped
        (item(4), HOLD),
        (item("old", revision=2, summary="新"), NOTHING),  # existing key: a new revision
        (item("stale", revision=2), NOTHING),  # existing key: stale
        (item("twice"), NOTHING),
        (item("twice", revision=2, summary="再"), NOTHING),  # a key twice in the batch
        (other_agency(5), NOTHING),
        (other_agency(6, generated_on="2018-02-01"), NOTHING),  # another series
        (other_agency(7, index_no=f"{OTHER}/2019-00001"), NOTHING),  # explicit 索引号
        (item(8, generated_on="2019-05-05"), NOTHING),
    ]
    sets, singles = two
    assert answers(store(sets, before)) == answers(store(singles, before))
    as_sets = store(sets, batch)
    calls: list[int] = []
    real_accept = store_set.accept
    monkeypatch.setattr(store_set, "accept", lambda *a: calls.append(1) or real_accept(*a))
    monkeypatch.setattr(store_set, "plan", one_at_a_time)
    alone = store(singles, batch)
    assert calls == []  # the reference took no set
    assert answers(as_sets) == answers(alone)
    assert rows(sets) == rows(singles)
    created = [a[2] for a in answers(as_sets) if len(a) == 4]
    refused = [a[:2] for a in answers(as_sets) if len(a) == 3]
    assert (created.count(True), refused) == (12, [("StaleRevision", 409)]), answers(as_sets)


def test_numbers_held_by_explicit_items_are_stepped_over_as_one_at_a_time(two: list[Services]) -> None:
    sets, singles = two
    held = [(item(f"own{n}", index_no=f"{TEST_AGENCY}/2017-{n:05d}"), NOTHING) for n in (2, 3, 5)]
    batch = [(item(n), NOTHING) for n in range(6)]
    for services in two:
        store(services, held)
    as_sets, alone = store(sets, batch), store(singles, batch[:1])
    alone += store(singles, batch[1:3]) + store(singles, batch[3:])
    assert answers(as_sets) == answers(alone)
    assert [a[0][-5:] for a in answers(as_sets)] == ["00001", "00004", "00006", "00007", "00008", "00009"]
    assert rows(sets)["index_serials"] == rows(singles)["index_serials"]


def test_a_key_stored_meanwhile_sends_the_whole_set_one_at_a_time(
    two: list[Services], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A concurrent request stored a key after the batch looked: the set's insert fails on
    the unique key, its savepoint goes, and every item is answered one at a time."""
    sets, singles = two
    for services in two:
        store(services, [(item(2), NOTHING)])
    batch = [(item(n), NOTHING) for n in (1, 2, 3)]
    monkeypatch.setattr(store_set, "_stored_keys", lambda conn, keys: set())
    fell_back = store(sets, batch)
    assert [a[2] for a in answers(fell_back)] == [True, False, True]
    monkeypatch.undo()
    assert answers(fell_back) == answers(store(singles, batch))
    assert rows(sets) == rows(singles)


def test_a_batch_costs_a_few_statements_not_a_few_per_item(two: list[Services]) -> None:
    """On PostgreSQL 100 items are one statement per table; SQLite (in process, no round
    trips) has SQLAlchemy insert row by row where RETURNING must keep the rows' order."""
    services = two[0]
    statements: list[str] = []
    event.listen(services.engine, "before_cursor_execute", lambda *a: statements.append(a[2]))
    results = store(services, [(item(n), NOTHING) for n in range(100)])
    assert [r.index_no[-5:] for r in results if isinstance(r, Accepted)] == [
        f"{n:05d}" for n in range(1, 101)
    ]
    if services.engine.dialect.name == "sqlite":
        statements = [s for s in statements if not s.startswith("INSERT INTO")]
    assert len(statements) <= 12, collections.Counter(s[:60] for s in statements)
