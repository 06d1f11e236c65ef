"""What a feed holds, read from the pipeline's own tables at a cost bounded by its length.

An item is in a feed channel's feeds when a publish delivery of the channel is
delivered (or is being sent: see below) and the item is not retracted; the entry
shows the newest such revision. Items are ordered newest first by their first
acceptance (``items.created_at``, then ``pk``), walked backwards along an index
and cut at the feed's length, so the cost follows the number of entries, not
the number of items ever published.

Two refinements keep concurrent regenerations consistent (each runs under the
feeds folder lock, see :mod:`channels.feed.channel`):

- the item being delivered is left out of the query and merged in by the caller:
  its own delivery is only marked delivered after the channel returns;
- publications that another worker is sending count as live: that worker will
  regenerate after us (it waits for the lock), and until then our file already
  holds its item, so whichever regeneration writes last, no item goes missing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, and_, exists, func, or_, select
from sqlalchemy.orm import aliased
from sqlalchemy.sql import ColumnElement

from channels.feed.scopes import Scope
from pipeline import db
from pipeline.model import Published

D, R, ITEMS = db.deliveries, db.revisions, db.items
LIVE_STATES = ("delivered", "sending")

SortKey = tuple[datetime, int]  # (first acceptance, item pk): newest first


@dataclass(frozen=True)
class Entry:
    """One entry of a feed: the item revision it shows and its two times."""

    item: Published
    published: datetime  # when the item was first accepted
    updated: datetime  # when the shown revision was accepted
    key: SortKey


class Catalogue:
    """Queries of one feed channel's entries."""

    def __init__(self, engine: Engine, channel: str) -> None:
        self.engine = engine
        self.channel = channel

    def _publication(self, table: Any) -> ColumnElement[bool]:
        return and_(table.c.channel == self.channel, table.c.action == "publish")

    def newest(self, scope: Scope, limit: int, exclude: int | None = None) -> list[Entry]:
        """The newest ``limit`` live entries of the scope, without item ``exclude``."""
        newer = aliased(D)
        superseded = exists(
            select(newer.c.id).where(
                newer.c.item_pk == D.c.item_pk,
                self._publication(newer),
                newer.c.state.in_(LIVE_STATES),
                newer.c.revision > D.c.revision,
            )
        )
        query = (
            select(ITEMS.c.pk, ITEMS.c.created_at, R.c.accepted_at, R.c.document)
            .select_from(ITEMS.join(D, D.c.item_pk == ITEMS.c.pk).join(R, R.c.pk == D.c.revision_pk))
            .where(
                self._publication(D),
                D.c.state.in_(LIVE_STATES),
                ITEMS.c.retracted_at.is_(None),
                ~superseded,
                *_in_scope(scope),
            )
            .order_by(ITEMS.c.created_at.desc(), ITEMS.c.pk.desc())
            .limit(limit)
        )
        if exclude is not None:
            query = query.where(ITEMS.c.pk != exclude)
        with self.engine.connect() as conn:
            rows = conn.execute(query).all()
        return [
            Entry(
                item=Published.model_validate(row.document),
                published=row.created_at,
                updated=row.accepted_at,
                key=(row.created_at, row.pk),
            )
            for row in rows
        ]

    def last_retraction(self, scope: Scope, oldest: SortKey | None) -> datetime | None:
        """When an item that was in this feed was last retracted: a retraction changes
        the feed (its entry goes) when the item sorts after the ``oldest`` entry shown
        (None: the feed is not full, so any retraction changed it)."""
        was_shown = exists(
            select(D.c.id)
            .select_from(D.join(R, R.c.pk == D.c.revision_pk))
            .where(
                D.c.item_pk == ITEMS.c.pk, self._publication(D), D.c.state.in_(LIVE_STATES), *_in_scope(scope)
            )
        )
        # Driven by the retractions (few, indexed), never by the revisions of a category.
        query = select(func.max(ITEMS.c.retracted_at)).where(ITEMS.c.retracted_at.is_not(None), was_shown)
        if oldest is not None:
            created, pk = oldest
            query = query.where(
                or_(ITEMS.c.created_at > created, and_(ITEMS.c.created_at == created, ITEMS.c.pk > pk))
            )
        with self.engine.connect() as conn:
            value: datetime | None = conn.execute(query).scalar_one_or_none()
        return value

    def item_key(self, index_no: str) -> SortKey | None:
        """Where the item sorts (None if the pipeline never stored it)."""
        with self.engine.connect() as conn:
            row = conn.execute(
                select(ITEMS.c.created_at, ITEMS.c.pk).where(ITEMS.c.index_no == index_no)
            ).first()
        return (row.created_at, row.pk) if row else None

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


def _in_scope(scope: Scope) -> list[ColumnElement[bool]]:
    if scope.kind == "category":
        return [R.c.category == scope.value]
    if scope.kind == "agency":
        return [ITEMS.c.agency_code == scope.value]
    return []
