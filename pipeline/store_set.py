"""Set-based intake: a batch's ordinary items stored with a few statements, not a few per item.

One item at a time costs about eight round trips, each in a savepoint. Most items of a
batch are ordinary: a key not stored yet and not repeated in the batch, no 索引号 of
their own. Those of one serial series (agency, year) go in together: one statement takes
the series' serials, one inserts the items, one their revisions, one their findings and
one their deliveries, all in one savepoint. Anything else (an existing key, a key twice
in the batch, an explicit 索引号 in the series) goes one at a time, and so does the whole
series when its set meets anything unusual (a key a concurrent request stored first, a
value the database refuses, exhausted serials): the savepoint is rolled back and every
item takes the one-at-a-time path, whose answers are the rule. Both paths build their
rows in :mod:`pipeline.rows` and take serials in :mod:`pipeline.serials`, so an item's
receipt and rows are the same whichever path stored it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

import structlog
from sqlalchemy import Connection, bindparam, insert, select
from sqlalchemy.exc import DataError, IntegrityError

from pipeline import counters, db, rows, serials
from pipeline.checks.findings import Outcome
from pipeline.errors import ValidationFailed
from pipeline.model import ItemIn, content_hash
from pipeline.rows import Accepted, Stored, Work

log = structlog.get_logger("govpub.store")
Series = tuple[str, int]  # (agency code, year): one serial counter
Plan = dict[Series, tuple[list[int], list[int]]]  # series → (together, alone), batch positions
Entry = tuple[int, ItemIn, Mapping[str, bool], Outcome]  # position, item, channels, checks
STORED = select(db.items.c.source, db.items.c.item_id).where(
    db.items.c.source.in_(bindparam("sources", expanding=True)),
    db.items.c.item_id.in_(bindparam("ids", expanding=True)),
)


def plan(conn: Connection, items: list[ItemIn]) -> Plan:
    """Which items of a batch go in as a set, per serial series, and which alone.

    One query finds the keys already stored. A lone item goes alone: a set of one saves
    nothing and the one-at-a-time path answers a resubmission without that query."""
    keys = [(item.source, item.id) for item in items]
    repeated = {key for key, n in Counter(keys).items() if n > 1}
    explicit = {serials.serial_key(item.index_no) for item in items if item.index_no}
    candidates = [key for key in keys if key not in repeated]
    stored = _stored_keys(conn, candidates) if len(items) > 1 else set(candidates)
    out: Plan = {}
    for position, item in enumerate(items):
        series = serials.lock_key(item)
        together, alone = out.setdefault(series, ([], []))
        key = keys[position]
        ordinary = (
            not item.index_no
            and not item.interprets  # resolved against the items stored before it: alone
            and key not in repeated
            and key not in stored
            and series not in explicit
        )
        (together if ordinary else alone).append(position)
    return out


def _stored_keys(conn: Connection, keys: list[tuple[str, str]]) -> set[tuple[str, str]]:
    """The keys already stored: one query on sources and ids (a batch has one source;
    two plain lists bind far faster than a list of pairs), the pairs picked here."""
    if not keys:
        return set()
    found = conn.execute(STORED, {"sources": sorted({s for s, _ in keys}), "ids": [i for _, i in keys]}).all()
    return {(source, item_id) for source, item_id in found} & set(keys)


def accept(
    conn: Connection, kinds: Mapping[str, str], series: Series, entries: Sequence[Entry], now: datetime
) -> dict[int, Accepted] | None:
    """Store the items of one serial series as a set (answers by batch position), or
    None when it met something unusual: nothing of it stays, take them one at a time."""
    try:
        with conn.begin_nested():
            return _insert(conn, kinds, series, entries, now)
    except (IntegrityError, DataError, ValidationFailed) as exc:
        log.info("set intake falls back to one item at a time", items=len(entries), reason=str(exc)[:200])
        return None


def _insert(
    conn: Connection, kinds: Mapping[str, str], series: Series, entries: Sequence[Entry], now: datetime
) -> dict[int, Accepted]:
    numbers = serials.take(conn, *series, count=len(entries))
    items = [item for _, item, _, _ in entries]
    new = [rows.item_row(item, n, now) for item, n in zip(items, numbers, strict=True)]
    item_pks = _insert_returning(conn, db.items, new)
    stored = [Stored(pk, item.agency.code) for pk, item in zip(item_pks, items, strict=True)]
    revisions = [
        rows.revision_row(
            s, item, content_hash(item.hashed_document()), rows.published(conn, item, n, now), now
        )
        for s, item, n in zip(stored, items, numbers, strict=True)
    ]
    revision_pks = _insert_returning(conn, db.revisions, revisions)
    findings = [
        row
        for s, pk, (_, item, _, outcome) in zip(stored, revision_pks, entries, strict=True)
        for row in rows.finding_rows(s, pk, item.revision, outcome, now)
    ]
    if findings:
        conn.execute(insert(db.check_findings), findings)
    wanted = [
        rows.delivery_rows(s, pk, item.revision, channels, kinds, now, held=outcome)
        for s, pk, (_, item, channels, outcome) in zip(stored, revision_pks, entries, strict=True)
    ]
    work = insert_deliveries(conn, [row for item_rows in wanted for row in item_rows])
    by_item: dict[int, list[Work]] = {}
    pending = iter(work)
    for s, item_rows in zip(stored, wanted, strict=True):  # work keeps the rows' order
        count = sum(1 for row in item_rows if row["state"] == "pending")
        by_item[s.item_pk] = [next(pending) for _ in range(count)]
    return {
        position: Accepted(s.item_pk, n, item.revision, True, by_item[s.item_pk])
        for (position, item, _, _), s, n in zip(entries, stored, numbers, strict=True)
    }


def _insert_returning(conn: Connection, table: Any, values: list[dict[str, Any]]) -> list[int]:
    """One multi-row INSERT; the new primary keys in the order of ``values``."""
    statement = insert(table).returning(table.c.pk, sort_by_parameter_order=True)
    return [int(pk) for pk in conn.execute(statement, values).scalars()]


D = db.deliveries
INSERT_DELIVERIES = insert(D).returning(*counters.COLUMNS, sort_by_parameter_order=True)


def insert_deliveries(conn: Connection, values: list[dict[str, Any]]) -> list[Work]:
    """Insert delivery rows (one multi-row statement); the pending ones as queue work,
    in the order of ``values``. Rows born ``held`` or ``skipped`` move the counters."""
    created = conn.execute(INSERT_DELIVERIES, values).all()
    counters.record(conn, [counters.Change.new(row) for row in created])
    return [(row.id, row.channel) for row in created if row.state == "pending"]
