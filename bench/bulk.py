"""Many published items straight into the tables, for benchmarks and big tests.

Going through the intake costs a transaction per item and a delivery per channel;
measuring what happens *after* 100,000 items needs them in seconds. The rows are
what the store and the runner would have written for items whose publication on
one channel was delivered: an item, its first revision (the validated document)
and one delivered publish delivery, accepted one second apart, oldest first. The
agency's 索引号 serials are moved past them, so the intake can go on after.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Engine, Table, func, insert, select, update

from pipeline import db
from pipeline.config import DEFAULT_TAXONOMY
from pipeline.db import insert_ignore
from pipeline.model import ItemIn, Published
from pipeline.sanitize import sanitize_html

SERIALS_PER_YEAR = 99_999
START = datetime(2020, 1, 1, tzinfo=UTC)


def template(raw: dict[str, Any]) -> Published:
    """A Published revision made from a submitted item (no attachments)."""
    item = ItemIn.model_validate(raw)
    fields = item.model_dump(exclude={"attachments", "cover_image", "channels", "body_html"})
    fields["index_no"] = f"{item.agency.code}/{item.generated_on.year}-00001"
    return Published(**fields, body_html=sanitize_html(item.body_html), accepted_at=START)


def load_published(
    engine: Engine,
    base: Published,
    count: int,
    channel: str,
    start: datetime = START,
    chunk: int = 5_000,
) -> None:
    """Insert ``count`` items like ``base`` (titles numbered, categories in turn), each
    delivered on ``channel``, in one transaction."""
    categories = list(DEFAULT_TAXONOMY)
    code, year0 = base.agency.code, base.generated_on.year
    document = base.model_dump(mode="json")
    with engine.begin() as conn:
        for first in range(0, count, chunk):
            numbers = range(first, min(first + chunk, count))
            docs = [_document(document, n, categories[n % len(categories)], start, year0) for n in numbers]
            # plain executemany (RETURNING would send one row at a time), then read the keys
            after = _last_pk(conn, db.items)
            conn.execute(
                insert(db.items),
                [
                    {
                        "source": "bulk",
                        "item_id": doc["id"],
                        "index_no": doc["index_no"],
                        "agency_code": code,
                        "latest_revision": 1,
                        "created_at": at,
                    }
                    for doc, at in docs
                ],
            )
            item_pks = dict(
                conn.execute(select(db.items.c.item_id, db.items.c.pk).where(db.items.c.pk > after))
                .tuples()
                .all()
            )
            accepted = {item_pks[doc["id"]]: (doc, at) for doc, at in docs}
            after = _last_pk(conn, db.revisions)
            conn.execute(insert(db.revisions), [_revision(pk, base, *accepted[pk]) for pk in accepted])
            revision_pks = conn.execute(
                select(db.revisions.c.item_pk, db.revisions.c.pk).where(db.revisions.c.pk > after)
            ).all()
            conn.execute(
                insert(db.deliveries),
                [
                    _delivery(pk, revision_pk, code, channel, accepted[pk][1])
                    for pk, revision_pk in revision_pks
                ],
            )
        for year, last in _last_serials(count, year0):
            insert_ignore(conn, db.index_serials, {"agency_code": code, "year": year, "last_serial": 0})
            conn.execute(
                update(db.index_serials)
                .where(db.index_serials.c.agency_code == code, db.index_serials.c.year == year)
                .values(last_serial=last)
            )


def _last_pk(conn: Connection, table: Table) -> int:
    return int(conn.execute(select(func.coalesce(func.max(table.c.pk), 0))).scalar_one())


def _document(
    base: dict[str, Any], n: int, category: str, start: datetime, year0: int
) -> tuple[dict[str, Any], datetime]:
    """Item ``n`` as its stored document (a Published dumped to JSON) and its acceptance."""
    year, serial = year0 + n // SERIALS_PER_YEAR, n % SERIALS_PER_YEAR + 1
    at = start + timedelta(seconds=n)
    doc = {
        **base,
        "source": "bulk",
        "id": f"bulk-{n}",
        "index_no": f"{base['agency']['code']}/{year}-{serial:05d}",
        "title": f"{base['title']}（第{n}号）",
        "category": category,
        "accepted_at": at.isoformat(),
    }
    return doc, at


def _revision(item_pk: int, base: Published, doc: dict[str, Any], at: datetime) -> dict[str, Any]:
    return {
        "item_pk": item_pk,
        "agency_code": base.agency.code,
        "revision": 1,
        # never resubmitted, so a hash of what tells the items apart is enough
        "body_hash": hashlib.sha256(doc["index_no"].encode()).hexdigest(),
        "title": doc["title"],
        "category": doc["category"],
        "subcategory": base.subcategory,
        "genre": base.genre,
        "validity": base.validity,
        "generated_on": base.generated_on,
        "accepted_at": at,
        "document": doc,
    }


def _delivery(item_pk: int, revision_pk: int, code: str, channel: str, at: datetime) -> dict[str, Any]:
    return {
        "item_pk": item_pk,
        "agency_code": code,
        "revision_pk": revision_pk,
        "revision": 1,
        "channel": channel,
        "kind": channel,  # the bench's channels are named after their kind
        "action": "publish",
        "state": "delivered",
        "attempts": 1,
        "claim_no": 1,
        "next_attempt_at": at,
        "external_ref": {},
        "created_at": at,
        "updated_at": at,
        "delivered_at": at,
    }


def _last_serials(count: int, year0: int) -> Iterator[tuple[int, int]]:
    for offset in range(count // SERIALS_PER_YEAR + 1):
        used = min(SERIALS_PER_YEAR, count - offset * SERIALS_PER_YEAR)
        if used > 0:
            yield year0 + offset, used
