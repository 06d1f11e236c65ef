"""What a feed holds, read from the pipeline's own tables at a cost bounded by its length.

An item is in a feed channel's feeds when a publish delivery of the channel is
delivered (or is being sent: see below) and the item is not retracted; the entry
shows the newest such revision. Items are ordered newest first by their first
acceptance (``items.created_at``, then ``pk``).

The read walks the items backwards along that index in windows (twice the feed's
length, then doubling up to 2,000), looks up the deliveries and revisions of just
those items by key, and stops as soon as the feed is full: its cost follows the
number of entries (divided by the share of items a category or agency holds), never
the number of items ever published. Each query touches one table or joins on a primary
key, so no plan can turn quadratic, even before the planner has statistics.

Two refinements keep concurrent regenerations consistent (each runs under the
feeds folder lock, see :mod:`channels.feed.builder`):

- the items being delivered (one, or a batch) are left out and merged in by the
  caller: their own deliveries are only marked delivered after the channel returns;
- publications that another worker is sending count as live: that worker will
  regenerate after us (it waits for the lock), and until then our file already
  holds its item, so whichever regeneration writes last, no item goes missing.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, func, select, tuple_

from channels.feed.scopes import Scope
from pipeline import db
from pipeline.model import Published

D, R, ITEMS = db.deliveries, db.revisions, db.items
LIVE_STATES = ("delivered", "sending")

SortKey = tuple[datetime, int]  # (first acceptance, item pk): newest first
MAX_WINDOW = 2000  # items looked up at once (their keys go into IN lists)


@dataclass(frozen=True)
class Entry:
    """One entry of a feed: the item revision it shows and its two times."""

    item: Published
    published: datetime  # when the item was first accepted
    updated: datetime  # when the shown revision was accepted
    key: SortKey


@dataclass
class Window:
    """The newest entries of a feed, and the retractions met on the way (items of the
    feed that were taken out, with where they sorted and when they went)."""

    entries: list[Entry] = field(default_factory=list)
    retractions: list[tuple[SortKey, datetime]] = field(default_factory=list)


@dataclass(frozen=True)
class _Shown:
    revision_pk: int
    category: str
    accepted_at: datetime


class Catalogue:
    """Queries of one feed channel's entries."""

    def __init__(self, engine: Engine, channel: str) -> None:
        self.engine = engine
        self.channel = channel

    def newest(self, scope: Scope, limit: int, exclude: Collection[int] = ()) -> Window:
        """The newest ``limit`` live entries of the scope, without the items ``exclude``."""
        found = Window()
        after: SortKey | None = None
        size = max(2 * limit, 64)
        with self.engine.connect() as conn:
            while len(found.entries) < limit:
                heads = conn.execute(_heads(scope, after, size)).all()
                shown = self._shown(conn, [h.pk for h in heads if h.pk not in exclude])
                chosen: list[tuple[SortKey, _Shown]] = []
                for head in heads:
                    live = shown.get(head.pk)
                    if live is None or (scope.kind == "category" and live.category != scope.value):
                        continue
                    key = (head.created_at, head.pk)
                    if head.retracted_at is not None:
                        found.retractions.append((key, head.retracted_at))
                    elif len(chosen) + len(found.entries) < limit:
                        chosen.append((key, live))
                found.entries += _entries(conn, chosen)
                if len(heads) < size:
                    break
                after = (heads[-1].created_at, heads[-1].pk)
                size = min(2 * size, MAX_WINDOW)
        return found

    def _shown(self, conn: Connection, item_pks: list[int]) -> dict[int, _Shown]:
        """The newest live revision of each item on this channel, if any."""
        if not item_pks:
            return {}
        rows = conn.execute(
            select(D.c.item_pk, D.c.revision, D.c.revision_pk, R.c.category, R.c.accepted_at)
            .join(R, R.c.pk == D.c.revision_pk)
            .where(
                D.c.item_pk.in_(item_pks),
                D.c.channel == self.channel,
                D.c.action == "publish",
                D.c.state.in_(LIVE_STATES),
            )
        ).all()
        newest: dict[int, Any] = {}
        for row in rows:
            if row.item_pk not in newest or row.revision > newest[row.item_pk].revision:
                newest[row.item_pk] = row
        return {pk: _Shown(row.revision_pk, row.category, row.accepted_at) for pk, row in newest.items()}

    def item_keys(self, index_nos: list[str]) -> dict[str, tuple[SortKey, bool]]:
        """Where each item sorts and whether it is retracted, in one query (an item
        never stored is absent)."""
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(ITEMS.c.index_no, ITEMS.c.created_at, ITEMS.c.pk, ITEMS.c.retracted_at).where(
                    ITEMS.c.index_no.in_(sorted(set(index_nos)))
                )
            ).all()
        return {row.index_no: ((row.created_at, row.pk), row.retracted_at is not None) for row in rows}

    def several_agencies(self) -> bool:
        """Whether items of more than one agency exist (two probes of the agency index)."""
        lowest = select(func.min(ITEMS.c.agency_code)).scalar_subquery()
        highest = select(func.max(ITEMS.c.agency_code)).scalar_subquery()
        with self.engine.connect() as conn:
            row = conn.execute(select(lowest, highest)).one()
        return row[0] is not None and row[0] != row[1]

    def agency_exists(self, agency_code: str) -> bool:
        with self.engine.connect() as conn:
            return (
                conn.execute(select(ITEMS.c.pk).where(ITEMS.c.agency_code == agency_code).limit(1)).first()
                is not None
            )

    def agencies(self) -> list[str]:
        """Every agency with items (for rebuilding every feed; walks the agency index)."""
        with self.engine.connect() as conn:
            query = select(ITEMS.c.agency_code).distinct().order_by(ITEMS.c.agency_code)
            return list(conn.execute(query).scalars())


def _heads(scope: Scope, after: SortKey | None, size: int) -> Any:
    """The next ``size`` items, newest first, from one index of the items table."""
    query = select(ITEMS.c.pk, ITEMS.c.created_at, ITEMS.c.retracted_at)
    if scope.kind == "agency":
        query = query.where(ITEMS.c.agency_code == scope.value)
    if after is not None:
        query = query.where(tuple_(ITEMS.c.created_at, ITEMS.c.pk) < tuple_(*after))
    return query.order_by(ITEMS.c.created_at.desc(), ITEMS.c.pk.desc()).limit(size)


def _entries(conn: Connection, chosen: list[tuple[SortKey, _Shown]]) -> list[Entry]:
    """The documents of the chosen revisions, only those (each up to a body's size)."""
    if not chosen:
        return []
    documents = dict(
        conn.execute(
            select(R.c.pk, R.c.document).where(R.c.pk.in_([shown.revision_pk for _, shown in chosen]))
        )
        .tuples()
        .all()
    )
    return [
        Entry(
            item=Published.model_validate(documents[shown.revision_pk]),
            published=key[0],
            updated=shown.accepted_at,
            key=key,
        )
        for key, shown in chosen
    ]
