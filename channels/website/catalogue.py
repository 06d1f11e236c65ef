"""What the column lists, read from the pipeline's own tables.

An item is on the site when its latest website publish delivery is delivered
and the item is not retracted. Two refinements keep concurrent renders
consistent (every index rebuild runs under the site lock):

- the items being rendered (one, or a batch's) are left out of every query and
  merged in by the caller (their deliveries are not marked delivered until the render
  returns);
- a delivery another worker is sending counts when its item page is already on
  disk (that worker rendered it, or will render its indexes after us and include
  us): ``sending_ok`` names those items explicitly, so the answer cannot change
  while one render runs.

Listings are ordered newest first by (生成日期, item) and read with LIMIT/OFFSET
from the newest end; only counts walk a whole listing.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import Engine, and_, case, exists, func, or_, select, true, tuple_
from sqlalchemy.orm import aliased
from sqlalchemy.sql import ColumnElement, Select

from channels.website.layout import IndexSpec
from pipeline import db

D, R, ITEMS = db.deliveries, db.revisions, db.items


@dataclass(frozen=True)
class Entry:
    """One line of a listing."""

    item_pk: int
    index_no: str
    revision: int
    title: str
    category: str
    subcategory: str | None
    genre: str | None
    generated_on: date
    accepted_at: datetime
    agency_code: str = ""
    validity: str | None = None  # 有效性 of this revision
    created_at: datetime | None = None  # the item's first acceptance

    @property
    def key(self) -> str:
        return self.index_no.replace("/", "-")

    @property
    def updated_at(self) -> datetime | None:
        """When this revision came, if it is not the item's first (its 更新日期)."""
        revised = self.created_at is not None and self.accepted_at > self.created_at
        return self.accepted_at if revised else None

    @property
    def sort_key(self) -> tuple[date, int]:
        return (self.generated_on, self.item_pk)


ENTRY_COLUMNS = (
    R.c.item_pk,
    ITEMS.c.index_no,
    R.c.revision,
    R.c.title,
    R.c.category,
    R.c.subcategory,
    R.c.genre,
    R.c.generated_on,
    R.c.accepted_at,
    R.c.agency_code,
    R.c.validity,
    ITEMS.c.created_at,
)
NEWEST_FIRST = (R.c.generated_on.desc(), R.c.item_pk.desc())


def _entry(row: Any) -> Entry:
    return Entry(*row)


class Catalogue:
    """Queries of one website channel's listings: one agency's column (``agency``), or the
    whole platform (None: the portal's latest list); ``exclude`` are the items being
    rendered."""

    def __init__(
        self,
        engine: Engine,
        channel: str,
        exclude: Collection[int],
        sending_ok: Iterable[int],
        agency: str | None = None,
    ) -> None:
        self.engine = engine
        self.channel = channel
        self.exclude = sorted(set(exclude))
        self.sending_ok = sorted(set(sending_ok) - set(exclude))
        self.agency = agency

    # -- the live set --------------------------------------------------------------
    def _shown(self, state: Any, item_pk: Any) -> ColumnElement[bool]:
        shown = state == "delivered"
        if self.sending_ok:
            shown = or_(shown, and_(state == "sending", item_pk.in_(self.sending_ok)))
        return shown

    def _live(self, spec: IndexSpec, *columns: Any) -> Select[Any]:
        """Listed revisions, walked from the revisions' listing indexes (newest first);
        the delivery tests are correlated lookups on the deliveries' unique key and
        on the item's publications."""
        listed = exists(
            select(D.c.id).where(
                D.c.revision_pk == R.c.pk,
                D.c.channel == self.channel,
                D.c.action == "publish",
                self._shown(D.c.state, D.c.item_pk),
            )
        )
        newer = aliased(D)
        superseded = exists(
            select(newer.c.id).where(
                newer.c.item_pk == R.c.item_pk,
                newer.c.channel == self.channel,
                newer.c.action == "publish",
                newer.c.revision > R.c.revision,
                self._shown(newer.c.state, newer.c.item_pk),
            )
        )
        return (
            select(*columns)
            .select_from(R.join(ITEMS, ITEMS.c.pk == R.c.item_pk))
            .where(
                *([R.c.agency_code == self.agency] if self.agency is not None else []),
                *_filter(spec),
                *([R.c.item_pk.not_in(self.exclude)] if self.exclude else []),
                ITEMS.c.retracted_at.is_(None),
                listed,
                ~superseded,
            )
        )

    # -- reading -------------------------------------------------------------------
    def census(self, wanted: list[tuple[IndexSpec, list[tuple[date, int]]]]) -> list[tuple[int, list[int]]]:
        """For each listing: how many items it lists, and how many of them sort below
        each of its keys. One walk of the whole column answers every listing at once."""
        sums: list[Any] = []
        for spec, keys in wanted:
            member = and_(true(), *_filter(spec))
            sums.append(func.sum(case((member, 1), else_=0)))
            sums += [func.sum(case((and_(member, _older_than(key)), 1), else_=0)) for key in keys]
        with self.engine.connect() as conn:
            row = iter(conn.execute(self._live(IndexSpec("all"), *sums)).one())
        return [(int(next(row) or 0), [int(next(row) or 0) for _ in keys]) for _, keys in wanted]

    def window(self, spec: IndexSpec, offset: int, limit: int) -> list[Entry]:
        """``limit`` entries from position ``offset``, newest first."""
        if limit <= 0:
            return []
        query = self._live(spec, *ENTRY_COLUMNS).order_by(*NEWEST_FIRST).offset(offset).limit(limit)
        with self.engine.connect() as conn:
            return [_entry(r) for r in conn.execute(query)]

    def beside(
        self, spec: IndexSpec, key: tuple[date, int], newer: bool, offset: int, limit: int
    ) -> list[Entry]:
        """Entries next to ``key``: the ``offset``-th to ``offset+limit``-th newer ones,
        nearest first (``newer``), or older ones, newest first. A range walk from the
        key, so a page deep in a listing costs its own length, not its depth."""
        if limit <= 0:
            return []
        sort = tuple_(R.c.generated_on, R.c.item_pk)
        if newer:
            query = self._live(spec, *ENTRY_COLUMNS).where(sort > tuple_(*key))
            query = query.order_by(R.c.generated_on, R.c.item_pk)
        else:
            query = self._live(spec, *ENTRY_COLUMNS).where(sort < tuple_(*key)).order_by(*NEWEST_FIRST)
        with self.engine.connect() as conn:
            return [_entry(r) for r in conn.execute(query.offset(offset).limit(limit))]

    def search(self, text: str, limit: int) -> list[Entry]:
        """Listed items whose title holds ``text`` (or whose 索引号 it is), newest first:
        a walk of the listing index from the newest end that stops at ``limit``."""
        wanted = or_(R.c.title.contains(text, autoescape=True), ITEMS.c.index_no == text)
        query = (
            self._live(IndexSpec("all"), *ENTRY_COLUMNS).where(wanted).order_by(*NEWEST_FIRST).limit(limit)
        )
        with self.engine.connect() as conn:
            return [_entry(r) for r in conn.execute(query)]

    def years(self) -> list[int]:
        """Every year (of 生成日期) with a listed item; walks the whole listing."""
        query = self._live(IndexSpec("all"), R.c.generated_on).distinct()
        with self.engine.connect() as conn:
            return sorted({day.year for day in conn.execute(query).scalars()}, reverse=True)

    def everything(self, spec: IndexSpec) -> list[Entry]:
        query = self._live(spec, *ENTRY_COLUMNS).order_by(*NEWEST_FIRST)
        with self.engine.connect() as conn:
            return [_entry(r) for r in conn.execute(query)]


def _older_than(key: tuple[date, int]) -> ColumnElement[bool]:
    day, pk = key
    return or_(R.c.generated_on < day, and_(R.c.generated_on == day, R.c.item_pk < pk))


def _filter(spec: IndexSpec) -> list[ColumnElement[bool]]:
    if spec.kind == "category":
        return [R.c.category == spec.category]
    if spec.kind == "subcategory":
        return [R.c.category == spec.category, R.c.subcategory == spec.subcategory]
    if spec.kind == "year" and spec.year is not None:
        return [R.c.generated_on >= date(spec.year, 1, 1), R.c.generated_on <= date(spec.year, 12, 31)]
    return []


# -- the item being rendered ----------------------------------------------------------
def item_rows(engine: Engine, index_nos: list[str]) -> dict[str, Any]:
    """Each item's primary key, retraction and first acceptance, by 索引号 (an item the pipeline never
    stored is absent)."""
    query = select(
        ITEMS.c.index_no, ITEMS.c.pk, ITEMS.c.retracted_at, ITEMS.c.retract_reason, ITEMS.c.created_at
    )
    with engine.connect() as conn:
        rows = conn.execute(query.where(ITEMS.c.index_no.in_(sorted(set(index_nos))))).all()
    return {row.index_no: row for row in rows}


def last_delivered(engine: Engine, channel: str, item_pk: int) -> Entry | None:
    """The revision of the item the site shows now (its latest delivered publication)."""
    query = (
        select(*ENTRY_COLUMNS)
        .select_from(D.join(R, R.c.pk == D.c.revision_pk).join(ITEMS, ITEMS.c.pk == D.c.item_pk))
        .where(
            D.c.item_pk == item_pk,
            D.c.channel == channel,
            D.c.action == "publish",
            D.c.state == "delivered",
        )
        .order_by(D.c.revision.desc())
        .limit(1)
    )
    with engine.connect() as conn:
        row = conn.execute(query).first()
    return _entry(row) if row else None


def latest_stored(engine: Engine, item_pk: int) -> Entry | None:
    """The item's latest revision, delivered or not (what a retraction removes when no
    publication was recorded as delivered)."""
    query = (
        select(*ENTRY_COLUMNS)
        .select_from(R.join(ITEMS, ITEMS.c.pk == R.c.item_pk))
        .where(R.c.item_pk == item_pk, R.c.revision == ITEMS.c.latest_revision)
    )
    with engine.connect() as conn:
        row = conn.execute(query).first()
    return _entry(row) if row else None


def agency_codes(engine: Engine) -> list[str]:
    """Every agency with an item (registered or not: a column is where its items are)."""
    with engine.connect() as conn:
        return sorted(conn.execute(select(ITEMS.c.agency_code).distinct()).scalars())


def being_sent(engine: Engine, channel: str, agency: str | None = None) -> list[tuple[int, str]]:
    """(item pk, 索引号) of publications of this channel (for one agency's items, when
    given) some worker is sending now."""
    query = (
        select(D.c.item_pk, ITEMS.c.index_no)
        .select_from(D.join(ITEMS, ITEMS.c.pk == D.c.item_pk))
        .where(D.c.channel == channel, D.c.state == "sending", D.c.action == "publish")
    )
    if agency is not None:
        query = query.where(D.c.agency_code == agency)
    with engine.connect() as conn:
        return [(int(r.item_pk), str(r.index_no)) for r in conn.execute(query)]


def shown_pages(
    engine: Engine, channel: str, agency: str, chunk: int = 200
) -> Iterator[tuple[int, Any, Any, datetime]]:
    """For each item the agency's column shows (not retracted): its key, the document of
    its revision on the site, that delivery's reference and the item's first acceptance
    (what its page is rendered from again). The keys are read first, then the documents
    a chunk at a time, each read short (SQLite takes its write lock at every begin)."""
    newer = aliased(D)
    superseded = exists(
        select(newer.c.id).where(
            newer.c.item_pk == D.c.item_pk,
            newer.c.channel == channel,
            newer.c.action == "publish",
            newer.c.state == "delivered",
            newer.c.revision > D.c.revision,
        )
    )
    query = (
        select(D.c.item_pk, D.c.revision_pk, D.c.external_ref, ITEMS.c.created_at)
        .select_from(D.join(ITEMS, ITEMS.c.pk == D.c.item_pk))
        .where(
            D.c.agency_code == agency,
            D.c.channel == channel,
            D.c.action == "publish",
            D.c.state == "delivered",
            ITEMS.c.retracted_at.is_(None),
            ~superseded,
        )
        .order_by(D.c.item_pk)
    )
    with engine.connect() as conn:
        shown = conn.execute(query).all()
    for start in range(0, len(shown), chunk):
        part = shown[start : start + chunk]
        with engine.connect() as conn:
            found = conn.execute(
                select(R.c.pk, R.c.document).where(R.c.pk.in_([r.revision_pk for r in part]))
            )
            documents = dict(found.tuples().all())
        for row in part:
            yield row.item_pk, documents[row.revision_pk], row.external_ref, row.created_at
