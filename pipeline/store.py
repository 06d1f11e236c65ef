"""The store: items in, in one transaction with their delivery rows (the outbox).

:meth:`Store.accept` commits the item revision and one delivery row per enabled
channel before the intake answers; the queue is only told afterwards, so Redis
may lose everything without losing an accepted item. Serials for 索引号 are taken
inside the same transaction (:mod:`pipeline.serials`), so a refused or rolled-back item
leaves no gap. :meth:`Store.accept_many` stores the ordinary items of a batch as sets
(:mod:`pipeline.store_set`) and the rest one at a time, with the same rows either way
(:mod:`pipeline.rows`).
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable, Collection, Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager
from datetime import UTC, datetime
from functools import partial
from typing import Any

import structlog
from sqlalchemy import Connection, Engine, and_, bindparam, func, insert, select, update
from sqlalchemy.exc import DataError, IntegrityError

from pipeline import db, deliveries, interpretations, rows, serials, store_set
from pipeline.checks.findings import NOTHING, Outcome
from pipeline.db import insert_ignore
from pipeline.errors import (
    Conflict,
    IndexNoTaken,
    IntakeError,
    NotFound,
    StaleRevision,
    ValidationFailed,
)
from pipeline.model import ItemIn, Published, content_hash
from pipeline.rows import Accepted as Accepted
from pipeline.rows import Stored
from pipeline.rows import Work as Work
from pipeline.states import ACTIVE_STATES
from pipeline.tenancy import Reach

log = structlog.get_logger("govpub.store")
# Built once: the intake runs them for every item (building and hashing a statement
# costs more than its round trip).
HEAD = (
    select(db.items)
    .where(db.items.c.source == bindparam("source"), db.items.c.item_id == bindparam("item_id"))
    .with_for_update()
)
INSERT_ITEM = insert(db.items).returning(db.items.c.pk)
INSERT_REVISION = insert(db.revisions).returning(db.revisions.c.pk)


def utcnow() -> datetime:
    return datetime.now(UTC)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class Store:
    def __init__(self, engine: Engine, kinds: Mapping[str, str] | None = None) -> None:
        self.engine = engine
        # channel name → kind, from the configuration: each delivery row keeps its kind
        # (a channel not named here is taken to be of the kind it is named after)
        self.kinds = dict(kinds or {})

    # -- sources -----------------------------------------------------------------
    def add_source(self, name: str, agencies: Collection[str] | None = None) -> str:
        """Create an upstream source (or give it a new token) and return the token (stored
        only hashed). ``agencies`` (checked by the caller) are bound to it, added to those
        it has; None binds a new source to the only active agency of a single-agency
        installation, and to none where several are registered (``govpub sources add``
        asks for ``--agency`` there)."""
        token = "gp_" + secrets.token_urlsafe(32)
        with self.engine.begin() as conn:
            existing = conn.execute(select(db.sources.c.name).where(db.sources.c.name == name))
            if existing.first():
                conn.execute(
                    update(db.sources)
                    .where(db.sources.c.name == name)
                    .values(token_hash=hash_token(token), revoked_at=None)
                )
            else:
                conn.execute(
                    insert(db.sources).values(name=name, token_hash=hash_token(token), created_at=utcnow())
                )
                if agencies is None:
                    active = select(db.agencies.c.code).where(db.agencies.c.retired_at.is_(None)).limit(2)
                    only = list(conn.execute(active).scalars())
                    agencies = only if len(only) == 1 else []
            for code in agencies or ():
                insert_ignore(conn, db.source_agencies, {"source": name, "agency_code": code})
        return token

    def revoke_source(self, name: str) -> bool:
        with self.engine.begin() as conn:
            result = conn.execute(
                update(db.sources).where(db.sources.c.name == name).values(revoked_at=utcnow())
            )
            return result.rowcount > 0

    def source_for_token(self, token: str) -> str | None:
        with self.engine.connect() as conn:
            row = conn.execute(
                select(db.sources.c.name).where(
                    db.sources.c.token_hash == hash_token(token), db.sources.c.revoked_at.is_(None)
                )
            ).first()
        return row.name if row else None

    # -- intake ------------------------------------------------------------------
    def accept(self, item: ItemIn, channels: dict[str, bool], now: datetime | None = None) -> Accepted:
        """Store one validated item revision and its deliveries, atomically.

        ``channels`` maps every enabled channel to whether this item wants it.
        """
        (answer,) = self.accept_many([(item, channels)], now)
        if isinstance(answer, IntakeError):
            raise answer
        return answer

    def accept_many(
        self,
        batch: list[tuple[ItemIn, dict[str, bool]]],
        now: datetime | None = None,
        outcomes: list[Outcome] | None = None,
    ) -> list[Accepted | IntakeError]:
        """Store several items in one transaction, so the whole batch costs a single
        commit. ``outcomes`` (aligned with ``batch``): what the checks found in each item,
        stored with its revision, and the channels whose deliveries start ``held``.

        The ordinary items of a serial series (new keys, no 索引号 of their own) go in
        as one set (:mod:`pipeline.store_set`); the others, and a set that meets anything
        unusual, one at a time, each in its own savepoint, so one refusal leaves the
        others (a lone item: in its own transaction, no savepoint to pay for). A race
        with an identical submission from another request loses on a unique key; the
        item is then retried once and answered like a resubmission.
        """
        now = now or utcnow()
        outcomes = outcomes or [NOTHING] * len(batch)
        if len(batch) == 1:
            return [self._accept_one(self.engine.begin, *batch[0], now, outcomes[0])]
        answers: dict[int, Accepted | IntakeError] = {}
        with self.engine.begin() as conn:
            plan = store_set.plan(conn, [item for item, _ in batch])
            # Locks (serial rows, new item keys) are taken series by series in one global
            # order, so two concurrent batches queue behind each other instead of deadlocking;
            # within a series, interpretations after the others (their policy may be in the batch).
            for series in sorted(plan):
                together, alone = plan[series]
                if together:
                    entries = [(i, *batch[i], outcomes[i]) for i in together]
                    stored = store_set.accept(conn, self.kinds, series, entries, now)
                    if stored is None:  # something unusual: every item of the series alone
                        together, alone = [], together + alone
                    answers.update(stored or {})
                for index in sorted(alone, key=lambda i: (bool(batch[i][0].interprets), i)):
                    item, channels = batch[index]
                    answers[index] = self._accept_one(
                        partial(savepoint, conn), item, channels, now, outcomes[index]
                    )
        return [answers[i] for i in range(len(batch))]

    def _accept_one(
        self,
        scope: Callable[[], AbstractContextManager[Connection]],
        item: ItemIn,
        channels: dict[str, bool],
        now: datetime,
        outcome: Outcome,
    ) -> Accepted | IntakeError:
        """One item in its own ``scope`` (a savepoint, or a transaction). A unique key
        lost to a concurrent request is retried once (then the other request's item is
        there to answer against); any refusal of the database is this item's 4xx, never
        the batch's 500."""
        body_hash = content_hash(item.hashed_document())
        for attempt in (1, 2):
            try:
                with scope() as conn:
                    return self._accept(conn, item, body_hash, channels, now, outcome)
            except IntakeError as exc:
                return exc
            except IntegrityError as exc:
                if attempt == 2:
                    log.warning("unique key lost twice", item=item.id, error=str(exc.orig)[:200])
                    return Conflict(f"{item.source}/{item.id} collided with a concurrent submission; retry")
            except DataError as exc:
                log.warning("value refused by the database", item=item.id, error=str(exc.orig)[:200])
                return ValidationFailed("item refused", ["a value cannot be stored (too long or invalid)"])
        raise AssertionError("unreachable")

    def _accept(
        self,
        conn: Connection,
        item: ItemIn,
        body_hash: str,
        channels: dict[str, bool],
        now: datetime,
        outcome: Outcome = NOTHING,
    ) -> Accepted:
        head = conn.execute(HEAD, {"source": item.source, "item_id": item.id}).first()
        if head is None:
            index_no = self._new_index_no(conn, item)
            item_pk = conn.execute(INSERT_ITEM, rows.item_row(item, index_no, now)).scalar_one()
            agency_code = item.agency.code
        else:
            resubmitted = self._resubmission(conn, head, item, body_hash)
            if resubmitted is not None:
                return resubmitted
            self._check_new_revision(head, item)
            item_pk, index_no, agency_code = head.pk, head.index_no, head.agency_code
            conn.execute(
                update(db.items).where(db.items.c.pk == item_pk).values(latest_revision=item.revision)
            )
        policies = interpretations.resolve(conn, item, item_pk)
        document = rows.published(conn, item, index_no, now, [p for _, p in policies])
        stored = Stored(item_pk, agency_code)
        revision = rows.revision_row(stored, item, body_hash, document, now)
        revision_pk = int(conn.execute(INSERT_REVISION, revision).scalar_one())
        interpretations.record(conn, item_pk, revision_pk, [pk for pk, _ in policies])
        if head is not None:
            deliveries.supersede(conn, item_pk, item.revision, now)
        store_findings(conn, stored, revision_pk, item.revision, outcome, now)
        work = self._create_deliveries(conn, stored, revision_pk, item.revision, channels, now, held=outcome)
        return Accepted(item_pk, index_no, item.revision, True, work)

    @staticmethod
    def _resubmission(conn: Connection, head: Any, item: ItemIn, body_hash: str) -> Accepted | None:
        """The answer to a revision already stored (the same body again changes nothing),
        or None for a revision not seen yet."""
        same = conn.execute(
            select(db.revisions.c.body_hash).where(
                db.revisions.c.item_pk == head.pk, db.revisions.c.revision == item.revision
            )
        ).first()
        if same is None:
            return None
        if same.body_hash != body_hash:
            raise Conflict(
                f"revision {item.revision} of {item.source}/{item.id} was already "
                "submitted with a different body; submit a higher revision"
            )
        return Accepted(head.pk, head.index_no, item.revision, False, [])

    @staticmethod
    def _check_new_revision(head: Any, item: ItemIn) -> None:
        """A new revision must be newer, of an item not retracted, under the same 索引号
        and agency."""
        if item.revision < head.latest_revision:
            raise StaleRevision(
                f"revision {item.revision} is older than stored revision {head.latest_revision}"
            )
        if head.retracted_at is not None:
            raise Conflict(f"{item.source}/{item.id} was retracted; submit it under a new id")
        if item.index_no and item.index_no != head.index_no:
            raise ValidationFailed("index_no cannot change", [f"index_no: stored as {head.index_no}"])
        if item.agency.code != head.agency_code:
            raise ValidationFailed("agency cannot change", [f"agency.code: stored as {head.agency_code}"])

    @staticmethod
    def _new_index_no(conn: Connection, item: ItemIn) -> str:
        """The 索引号 of a new item: its own if free, else the next free serial.

        Both hold the (agency, year) serial row locked, so an explicit number and the
        allocator never race for the same 索引号: whichever comes second sees the first
        one's item (a taken explicit number is a 409 for that item alone)."""
        if item.index_no:
            serials.lock(conn, *serials.serial_key(item.index_no))
            if serials.held(conn, item.index_no):
                raise IndexNoTaken(
                    f"index_no {item.index_no} is already taken",
                    ["index_no: omit it to have the next free 索引号 assigned, or choose another"],
                )
            return item.index_no
        (index_no,) = serials.take(conn, item.agency.code, item.generated_on.year)
        return index_no

    def _create_deliveries(
        self,
        conn: Connection,
        stored: Stored,
        revision_pk: int,
        revision: int,
        channels: dict[str, bool],
        now: datetime,
        action: str = "publish",
        held: Outcome = NOTHING,
    ) -> list[Work]:
        if not channels:
            return []
        values = rows.delivery_rows(stored, revision_pk, revision, channels, self.kinds, now, action, held)
        return store_set.insert_deliveries(conn, values)

    # -- retraction --------------------------------------------------------------
    def retract(
        self,
        source: str,
        item_id: str,
        reason: str,
        now: datetime | None = None,
        keep: Collection[str] = (),
        reach: Reach = Reach.PLATFORM,
    ) -> list[Work]:
        """Withdraw an item everywhere: cancel what waits, queue a retraction per channel
        that received (or may be receiving) it. Retracting twice changes nothing.
        Channels in ``keep`` keep records (archives): what waits for them is not
        cancelled, and they get the retraction too. An item out of ``reach`` is NotFound,
        as one that does not exist."""
        now = now or utcnow()
        with self.engine.begin() as conn:
            head = self._head(conn, source, item_id, reach, for_update=True)
            if head.retracted_at is not None:
                return []
            conn.execute(
                update(db.items)
                .where(db.items.c.pk == head.pk)
                .values(retracted_at=now, retract_reason=reason)
            )
            told = deliveries.cancel_for_retraction(conn, head.pk, reason, keep, now)
            revision_pk = self._latest_revision_pk(conn, head)
            wanted = dict.fromkeys(told, True)
            return self._create_deliveries(
                conn,
                Stored(head.pk, head.agency_code),
                revision_pk,
                head.latest_revision,
                wanted,
                now,
                action="retract",
            )

    @staticmethod
    def _latest_revision_pk(conn: Connection, head: Any) -> int:
        return int(
            conn.execute(
                select(db.revisions.c.pk).where(
                    db.revisions.c.item_pk == head.pk,
                    db.revisions.c.revision == head.latest_revision,
                )
            ).scalar_one()
        )

    @staticmethod
    def _head(conn: Connection, source: str, item_id: str, reach: Reach, for_update: bool = False) -> Any:
        """The item's row; NotFound alike when there is none and when it is out of
        ``reach`` (one query either way: no answer or timing tells them apart)."""
        query = select(db.items).where(
            db.items.c.source == source, db.items.c.item_id == item_id, reach.items_where()
        )
        if for_update:
            query = query.with_for_update()
        head = conn.execute(query).first()
        if head is None:
            raise NotFound(f"no item {source}/{item_id}")
        return head

    # -- reading -----------------------------------------------------------------
    def item_status(self, source: str, item_id: str, reach: Reach = Reach.PLATFORM) -> dict[str, Any]:
        with self.engine.connect() as conn:
            head = self._head(conn, source, item_id, reach)
            rev = conn.execute(
                select(db.revisions.c.document).where(
                    db.revisions.c.item_pk == head.pk,
                    db.revisions.c.revision == head.latest_revision,
                )
            ).scalar_one()
            rows = conn.execute(
                select(db.deliveries).where(db.deliveries.c.item_pk == head.pk).order_by(db.deliveries.c.id)
            ).all()
            findings = findings_of(conn, head.pk)
        return {
            "item": rev,
            "findings": findings,
            "retracted_at": head.retracted_at.isoformat() if head.retracted_at else None,
            "retract_reason": head.retract_reason,
            "deliveries": [delivery_json(r) for r in rows],
        }

    def counts(self, reach: Reach = Reach.PLATFORM) -> dict[str, dict[str, int]]:
        """``{channel: {state: count}}`` over every delivery within ``reach``."""
        out: dict[str, dict[str, int]] = {}
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(db.deliveries.c.channel, db.deliveries.c.state, func.count())
                .where(reach.deliveries_where())
                .group_by(db.deliveries.c.channel, db.deliveries.c.state)
            ).all()
        for channel, state, count in rows:
            out.setdefault(channel, {})[state] = count
        return out

    def blob(self, sha256: str) -> bytes:
        with self.engine.connect() as conn:
            data = conn.execute(
                select(db.blobs.c.data).where(db.blobs.c.sha256 == sha256)
            ).scalar_one_or_none()
        if data is None:
            raise LookupError(f"no blob {sha256}")
        return bytes(data)

    def published(self, revision_pk: int) -> Published:
        with self.engine.connect() as conn:
            doc = conn.execute(
                select(db.revisions.c.document).where(db.revisions.c.pk == revision_pk)
            ).scalar_one()
        return Published.model_validate(doc)

    def events(self, delivery_id: int) -> list[dict[str, Any]]:
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(db.delivery_events)
                .where(db.delivery_events.c.delivery_id == delivery_id)
                .order_by(db.delivery_events.c.id)
            ).all()
        return [row_json(r) for r in rows]

    def active_count(self) -> int:
        with self.engine.connect() as conn:
            return int(
                conn.execute(
                    select(func.count())
                    .select_from(db.deliveries)
                    .where(and_(db.deliveries.c.state.in_(ACTIVE_STATES)))
                ).scalar_one()
            )


@contextmanager
def savepoint(conn: Connection) -> Iterator[Connection]:
    with conn.begin_nested():
        yield conn


def store_findings(
    conn: Connection, stored: Stored, revision_pk: int, revision: int, outcome: Outcome, now: datetime
) -> None:
    """The checks' findings on a new revision, in its transaction."""
    if outcome.findings:
        found = rows.finding_rows(stored, revision_pk, revision, outcome, now)
        conn.execute(insert(db.check_findings), found)


def findings_of(conn: Connection, item_pk: int, revision_pk: int | None = None) -> list[dict[str, Any]]:
    """The findings on an item's revisions (or one revision), oldest first."""
    F = db.check_findings
    query = select(F).where(F.c.item_pk == item_pk).order_by(F.c.id)
    if revision_pk is not None:
        query = query.where(F.c.revision_pk == revision_pk)
    return [
        {
            "revision": r.revision,
            "check": r.check_name,
            "severity": r.severity,
            "where": r.location,
            "found": r.found,
            "suggestion": r.suggestion,
            "note": r.note,
        }
        for r in conn.execute(query)
    ]


def row_json(row: Any) -> dict[str, Any]:
    out = dict(row._mapping)
    for key, value in out.items():
        if isinstance(value, datetime):
            out[key] = value.isoformat()
    return out


def delivery_json(row: Any) -> dict[str, Any]:
    data = row_json(row)
    data.pop("progress", None)
    return data
