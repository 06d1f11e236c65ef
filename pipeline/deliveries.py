"""The delivery state machine, one SQL statement per transition.

    pending → queued → sending → delivered
                 ↑        │ ├──→ retrying    → (due) → queued …   (an attempt failed)
                 │        │ ├──→ waiting     → (due) → claimed …  (a window, a result: no failure)
                 │        │ ├──→ unconfirmed → (due) → claimed …  (sent for good, result to come;
                 │        │ │                  counts as reached, never dead for want of an answer)
                 │        │ ├──→ in_doubt    (may be there, cannot tell: an operator confirms
                 │        │ │                  with the reference or resubmits)
                 │        │ ├──→ dead        (attempts exhausted or permanent error)
                 │        │ └──→ skipped     (superseded, nothing to do)
                 └────────┘ lease expired: the worker died, claim again

``delivered_at`` is set once the channel holds the item (``unconfirmed`` or
``delivered``) and kept through later polls: it is the moment that is counted.

A claim is ``UPDATE … WHERE id=? AND state IN (…)``: whoever loses it does nothing.
Every later write is fenced by ``claim_no``, so a worker whose lease ran out cannot
overwrite the outcome of the worker that took over. Every outcome appends an event.
Every change of a settled state, of what counts as reached, and every event moves the
counters (:mod:`pipeline.counters`) in the same transaction.
"""

from __future__ import annotations

import random
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

from sqlalchemy import (
    JSON,
    Boolean,
    Connection,
    Engine,
    Integer,
    String,
    Text,
    and_,
    bindparam,
    case,
    cast,
    column,
    exists,
    func,
    insert,
    literal,
    or_,
    select,
    tuple_,
    update,
    values,
)

from pipeline import claim_rules, counters, db, interpretations
from pipeline.claim_rules import ClaimRules
from pipeline.counters import Change
from pipeline.interpretations import WAITING_REASON
from pipeline.model import Published
from pipeline.states import (
    MAY_BE_OUT_STATES,
    RETRYABLE_STATES,
    SKIPPABLE_STATES,
    SUPERSEDABLE_STATES,
    UNSENT_STATES,
    WAITING_STATES,
    WAKEABLE_STATES,
)
from pipeline.states import DeliveryState as S

D = db.deliveries
R = db.revisions
# The claimed revision's document, read by the claim's own UPDATE … RETURNING (one round trip).
_DOCUMENT = select(R.c.document).where(R.c.pk == D.c.revision_pk).scalar_subquery().label("document")
# Whether an item interprets the claimed one: its publication wakes them (same statement).
_INTERPRETED = exists().where(db.interpretations.c.policy_pk == D.c.item_pk).label("interpreted")
POLICY_RECHECK_SECONDS = 60.0  # an interpretation looks again for its policy (woken sooner)


@dataclass
class Claim:
    """A delivery this worker holds until ``lease_until``."""

    id: int
    channel: str
    action: str
    revision: int
    item_pk: int
    claim_no: int
    attempts: int
    item: Published
    previous: dict[str, Any] | None
    progress: dict[str, Any]
    reason: str
    sent: bool = False  # the channel already took it for good (state was ``unconfirmed``)
    interpreted: bool = False  # another item interprets this one (pipeline.interpretations)
    sent_at: datetime | None = None  # since when (its ``delivered_at``)


def backoff(attempts: int, base: float, cap: float) -> float:
    """Exponential backoff with full jitter (AWS architecture blog's recommendation)."""
    return random.uniform(base / 2, min(cap, base * 2 ** max(attempts - 1, 0)))


@dataclass
class Batch:
    """What one claim took: ``more`` when it took all it asked for (more may be due)."""

    claims: list[Claim]
    more: bool


# A claim's parameters: the statements are built once per configuration of rules
# (building and caching one costs more than running it), these are bound at each call.
_NOW = bindparam("at_now", type_=db.UTCDateTime())
_TAKEN: dict[str, Any] = {
    "state": S.SENDING,
    "claim_no": D.c.claim_no + 1,
    "attempts": D.c.attempts + 1,
    "claimed_by": bindparam("b_worker", type_=String()),
    "lease_until": bindparam("b_lease_until", type_=db.UTCDateTime()),
    "updated_at": _NOW,
}
STUCK_PAGE = 50  # stuck rows looked at per claim (see Deliveries.claim_batch)


class Deliveries:
    def __init__(self, engine: Engine, depends_on: dict[str, list[str]] | None = None) -> None:
        self.engine = engine
        self.rules = ClaimRules(depends_on or {})
        self._claim_one = (
            update(D)
            .where(D.c.id == bindparam("b_id"), self.rules.free_to_go(D, _NOW))
            .values(_TAKEN)
            .returning(*D.c, _DOCUMENT, _INTERPRETED)
        )
        # Rows other workers are claiming right now are passed over, not waited for
        # (PostgreSQL's SKIP LOCKED; SQLite has one writer: BEGIN IMMEDIATE, no locks to
        # skip, and the clause is left out). No ORDER BY: sorting would weigh the rules
        # of every due row of the channel; the channel's index walk is oldest first.
        free = D.alias("free")
        picked = (
            select(free.c.id)
            .where(free.c.channel == bindparam("b_channel"), self.rules.free_to_go(free, _NOW))
            .limit(bindparam("b_n", type_=Integer()))
            .with_for_update(skip_locked=True)
        )
        self._claim_some = (
            update(D).where(D.c.id.in_(picked)).values(_TAKEN).returning(*D.c, _DOCUMENT, _INTERPRETED)
        )
        self._any_free = (
            select(free.c.id)
            .where(free.c.channel == bindparam("b_channel"), self.rules.free_to_go(free, _NOW))
            .limit(1)
        )
        self._stuck = (
            select(D, *self.rules.reasons(D, _NOW))
            .where(D.c.channel == bindparam("b_channel"), claim_rules.claimable(D, _NOW))
            .limit(STUCK_PAGE)
            .with_for_update(skip_locked=True, of=D)
        )

    def mark_queued(self, ids: list[int], now: datetime) -> None:
        """pending → queued once the message is sent. Only a hint (pending is claimable
        and swept alike), so on PostgreSQL its commit does not wait for the disk: a mark
        lost in a crash leaves the row pending, which changes nothing."""
        if not ids:
            return
        with self.engine.begin() as conn:
            if conn.dialect.name == "postgresql":
                conn.exec_driver_sql("SET LOCAL synchronous_commit = off")
            conn.execute(
                update(D)
                .where(D.c.id.in_(ids), D.c.state == S.PENDING)
                .values(state=S.QUEUED, updated_at=now)
            )

    def claim(self, delivery_id: int, worker: str, now: datetime, lease_seconds: float) -> Claim | None:
        """Take the delivery if it is due and nothing must go before it.

        The common case is one statement; a delivery that waits for another, is
        superseded or was left by a dead worker goes the longer way."""
        lease_until = now + timedelta(seconds=lease_seconds)
        with self.engine.begin() as conn:
            return self._claim_hint(conn, delivery_id, worker, now, lease_until)

    def claim_batch(
        self, channel: str, hint: int, size: int, worker: str, now: datetime, lease_seconds: float
    ) -> Batch:
        """Up to ``size`` deliveries of ``channel`` in one transaction, committed before
        any of them is sent (a claim that was not committed is never sent).

        ``hint`` (the woken delivery, 0 for none) goes first, as :meth:`claim` takes it;
        then whatever else is free to go, in one ``UPDATE … WHERE id IN (SELECT … FOR
        UPDATE SKIP LOCKED LIMIT n) RETURNING``. When that finds fewer than it asked for,
        the channel's due rows are drained of free ones, and what is left due is stuck:
        waiting for another delivery (deferred, as the single claim does), superseded
        (skipped), or abandoned by a dead worker (taken over). Those are settled here a
        page at a time, so one wake-up message serves a whole batch of deliveries."""
        lease_until = now + timedelta(seconds=lease_seconds)
        params = {"at_now": now, "b_lease_until": lease_until, "b_worker": worker, "b_channel": channel}
        with self.engine.begin() as conn:
            claims: list[Claim] = []
            if hint:
                first = self._claim_hint(conn, hint, worker, now, lease_until)
                claims += [first] if first is not None else []
            want = size - len(claims)
            if want <= 0:  # a batch of one: is anything else due?
                return Batch(claims, more=conn.execute(self._any_free, params).first() is not None)
            rows = conn.execute(self._claim_some, {**params, "b_n": want}).all()
            claims += [self._claimed(conn, row, row.document) for row in rows]
            if len(rows) == want:
                return Batch(claims, more=True)
            stuck = conn.execute(self._stuck, params).all()
            for row in stuck:
                taken = self._settle(conn, row, worker, now, lease_until, may_take=len(claims) < size)
                claims += [taken] if taken is not None else []
            return Batch(claims, more=len(stuck) == STUCK_PAGE)

    def _claim_hint(
        self, conn: Connection, delivery_id: int, worker: str, now: datetime, lease_until: datetime
    ) -> Claim | None:
        fast = self._claim_fast(conn, delivery_id, worker, now, lease_until)
        if fast is not None:
            return fast
        return self._claim_slowly(conn, delivery_id, worker, now, lease_until)

    def _claim_fast(
        self, conn: Connection, delivery_id: int, worker: str, now: datetime, lease_until: datetime
    ) -> Claim | None:
        """One ``UPDATE … RETURNING``: the row, if it is free to go, with its document."""
        params = {"b_id": delivery_id, "at_now": now, "b_lease_until": lease_until, "b_worker": worker}
        taken = conn.execute(self._claim_one, params).first()
        return None if taken is None else self._claimed(conn, taken, taken.document)

    def _claim_slowly(
        self, conn: Connection, delivery_id: int, worker: str, now: datetime, lease_until: datetime
    ) -> Claim | None:
        """Why the fast claim failed (the same rules, read as columns), and what to do."""
        row = conn.execute(select(D, *self.rules.reasons(D, now)).where(D.c.id == delivery_id)).first()
        if row is None:
            return None
        return self._settle(conn, row, worker, now, lease_until)

    def _settle(
        self,
        conn: Connection,
        row: Any,
        worker: str,
        now: datetime,
        lease_until: datetime,
        may_take: bool = True,
    ) -> Claim | None:
        """A due row the fast claim did not take: defer it while it waits for another
        delivery, skip it when superseded, else (abandoned, or free after all) take it."""
        if not row.claimable:
            return None
        wait, recheck = _why_waiting(row)
        if wait:
            self._defer(conn, row, now + timedelta(seconds=recheck), f"waiting: {wait}")
            return None
        if row.superseded_by is not None:
            self._skip_superseded(conn, row, now, worker)
            return None
        if not may_take:
            return None
        claimed = conn.execute(
            update(D)
            .where(D.c.id == row.id, D.c.claim_no == row.claim_no, claim_rules.claimable(D, now))
            .values(_taken(worker, now, lease_until))
            .returning(*D.c, _DOCUMENT, _INTERPRETED)
        ).first()
        if claimed is None:
            return None
        if row.state == S.SENDING:  # the previous holder died: close its attempt
            message = "lease expired before the worker reported back"
            _event(conn, row.id, now, row.attempts, row.claimed_by or "?", "lost", message=message)
            counters.record(conn, [Change.of(claimed, row.state, row.delivered_at, "lost", now)])
        return self._claimed(conn, claimed, claimed.document)

    @staticmethod
    def _skip_superseded(conn: Connection, row: Any, now: datetime, worker: str) -> None:
        why = f"superseded by revision {row.superseded_by}"
        skipped = conn.execute(
            update(D)
            .where(D.c.id == row.id, D.c.claim_no == row.claim_no, claim_rules.claimable(D, now))
            .values(state=S.SKIPPED, reason=why, updated_at=now)
            .returning(*counters.COLUMNS)
        ).first()
        if skipped is not None:
            _event(conn, row.id, now, row.attempts, worker, "skipped", message=why)
            counters.record(conn, [Change.of(skipped, row.state, row.delivered_at, "skipped", now)])

    def _claimed(self, conn: Connection, row: Any, document: dict[str, Any]) -> Claim:
        return Claim(
            id=row.id,
            channel=row.channel,
            action=row.action,
            revision=row.revision,
            item_pk=row.item_pk,
            claim_no=row.claim_no,
            attempts=row.attempts,
            item=Published.model_validate(document),
            previous=self._previous(conn, row),
            progress=dict(row.progress or {}),
            reason=self._retract_reason(conn, row),
            sent=row.delivered_at is not None,
            interpreted=bool(row.interpreted),
            sent_at=row.delivered_at,
        )

    def refresh(self, claim: Claim) -> None:
        """Read again what an earlier delivery of the same item and channel may have
        changed since the claim (what is live there; the retraction's reason)."""
        with self.engine.connect() as conn:
            claim.previous = self._previous(conn, claim)
            claim.reason = self._retract_reason(conn, claim)

    def _previous(self, conn: Connection, row: Any) -> dict[str, Any] | None:
        """What an earlier revision left live on this channel (for update/retract)."""
        if row.action == "publish" and row.revision == 1:
            return None
        query = select(D.c.external_ref).where(
            D.c.item_pk == row.item_pk,
            D.c.channel == row.channel,
            D.c.action == "publish",
            D.c.state == S.DELIVERED,
        )
        if row.action == "publish":
            query = query.where(D.c.revision < row.revision)
        prev = conn.execute(query.order_by(D.c.revision.desc()).limit(1)).first()
        return dict(prev.external_ref or {}) if prev else None

    @staticmethod
    def _retract_reason(conn: Connection, row: Any) -> str:
        if row.action != "retract":
            return ""
        reason = conn.execute(
            select(db.items.c.retract_reason).where(db.items.c.pk == row.item_pk)
        ).scalar_one()
        return str(reason or "")

    def _defer(self, conn: Connection, row: Any, when: datetime, why: str) -> None:
        """Waiting for another delivery is no failure (and what went out stays reached)."""
        state = S.UNCONFIRMED if row.delivered_at is not None else S.WAITING
        deferred = conn.execute(
            update(D)
            .where(D.c.id == row.id, D.c.claim_no == row.claim_no)
            .values(state=state, next_attempt_at=when, reason=why, updated_at=when)
            .returning(*counters.COLUMNS)
        ).first()
        if deferred is not None:
            counters.record(conn, [Change.of(deferred, row.state, row.delivered_at)])

    # -- outcomes ----------------------------------------------------------------
    # Each outcome is an :class:`Outcome` first (what the row becomes, what the log
    # says); :meth:`record` writes any number of them in one transaction.
    def succeeded(self, claim: Claim, worker: str, now: datetime, ref: dict[str, Any] | None) -> bool:
        return claim.id in self.record([Outcome.success(claim, ref)], worker, now)

    def failed(
        self,
        claim: Claim,
        worker: str,
        now: datetime,
        error: BaseException,
        *,
        retry_at: datetime | None,
        counts: bool = True,
    ) -> str:
        """Record a failed attempt; ``retry_at`` None means dead. Returns the new state."""
        outcome = Outcome.failure(claim, error, retry_at=retry_at, counts=counts)
        self.record([outcome], worker, now)
        return outcome.state

    def waiting(
        self,
        claim: Claim,
        worker: str,
        now: datetime,
        message: str,
        *,
        retry_at: datetime,
        ref: dict[str, Any] | None = None,
    ) -> str:
        """Record an attempt that ended waiting (see :meth:`Outcome.wait`). Returns the state."""
        outcome = Outcome.wait(claim, message, retry_at=retry_at, ref=ref)
        self.record([outcome], worker, now)
        return outcome.state

    def in_doubt(self, claim: Claim, worker: str, now: datetime, error: BaseException) -> str:
        """The channel may hold it and cannot tell: nothing more happens by itself."""
        outcome = Outcome.doubt(claim, error)
        self.record([outcome], worker, now)
        return outcome.state

    def record(self, outcomes: list[Outcome], worker: str, now: datetime) -> set[int]:
        """End the claimed attempts with their outcomes and log them, in one transaction
        (one ``UPDATE`` and one ``INSERT`` of events on PostgreSQL). An outcome whose claim
        was lost (another worker took the delivery over) is not written. Returns the ids
        written."""
        if not outcomes:
            return set()
        with self.engine.begin() as conn:
            if conn.dialect.name == "postgresql":
                done = _write_set(conn, outcomes, now)
            else:
                done = {o.claim.id for o in outcomes if _write_one(conn, o, now)}
            events = [o.event_row(worker, now) for o in outcomes if o.claim.id in done]
            if events:
                conn.execute(insert(db.delivery_events), events)
                _count_outcomes(conn, [o for o in outcomes if o.claim.id in done], now)
        return done

    def renew(self, claims: list[Claim], now: datetime, lease_seconds: float) -> set[int]:
        """Extend the leases of claims this worker still holds, in one statement; returns
        their ids. A claim taken over since (``claim_no`` moved on) or finished is not
        touched. ``updated_at`` stays as it was: it tells the sweeper when the row was
        last handed out."""
        if not claims:
            return set()
        lease_until = now + timedelta(seconds=lease_seconds)
        held = [(claim.id, claim.claim_no) for claim in claims]
        with self.engine.begin() as conn:
            kept = conn.execute(
                update(D)
                .where(tuple_(D.c.id, D.c.claim_no).in_(held), D.c.state == S.SENDING)
                .values(lease_until=lease_until)
                .returning(D.c.id)
            ).scalars()
            return set(kept)

    def checkpoint(self, claim: Claim, progress: dict[str, Any], now: datetime) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                update(D)
                .where(D.c.id == claim.id, D.c.claim_no == claim.claim_no)
                .values(progress=progress, updated_at=now)
            )

    # -- the sweeper's view ------------------------------------------------------
    def due(self, now: datetime, requeue_after: float, limit: int = 1000) -> list[tuple[int, str]]:
        """Deliveries that need a (new) task: retries that are due, rows left in
        pending/queued too long (the broker lost them), sending past the lease."""
        return [(i, channel) for i, channel, _ in self.due_rows(now, requeue_after, limit)]

    def due_rows(
        self, now: datetime, requeue_after: float, limit: int = 1000, backlogged: frozenset[str] = frozenset()
    ) -> list[tuple[int, str, str]]:
        """:meth:`due` with each row's state, so the sweeper can tell a lost message
        (pending/queued) from a wake-up (retrying, or sending past its lease: its worker
        died, so it goes out as soon as the lease runs out, not ``requeue_after`` later). Rows
        waiting in ``backlogged`` channels are left out: their messages are only behind
        others, and leaving them in would fill ``limit`` and starve every other channel.
        A row is due again ``requeue_after`` after it was last sent (``updated_at``)."""
        stale = now - timedelta(seconds=requeue_after)
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(D.c.id, D.c.channel, D.c.state)
                .where(
                    or_(
                        and_(D.c.state.in_((S.RETRYING, S.WAITING)), D.c.next_attempt_at <= now),
                        # an unconfirmed row stays unconfirmed when sent: once when due, then
                        # again only every requeue_after (the message may have been lost)
                        and_(
                            D.c.state == S.UNCONFIRMED,
                            D.c.next_attempt_at <= now,
                            or_(D.c.updated_at < D.c.next_attempt_at, D.c.updated_at <= stale),
                        ),
                        and_(
                            D.c.state.in_(UNSENT_STATES),
                            D.c.updated_at <= stale,
                            D.c.next_attempt_at <= now,
                            D.c.channel.not_in(sorted(backlogged)),
                        ),
                        and_(
                            D.c.state == S.SENDING,
                            D.c.lease_until < now,
                            # at once when the lease ran out; then once per requeue_after
                            or_(D.c.updated_at < D.c.lease_until, D.c.updated_at <= stale),
                        ),
                    )
                )
                .order_by(D.c.next_attempt_at)
                .limit(limit)
            ).all()
        return [(r.id, r.channel, r.state) for r in rows]

    def due_for_channel(self, channel: str, now: datetime, limit: int = 500) -> list[int]:
        """Claimable deliveries of one (batched) channel, oldest first."""
        with self.engine.connect() as conn:
            return list(
                conn.execute(
                    select(D.c.id)
                    .where(D.c.channel == channel, claim_rules.claimable(D, now))
                    .order_by(D.c.id)
                    .limit(limit)
                ).scalars()
            )

    def requeued(self, ids: list[int], now: datetime) -> None:
        """Mark swept rows as queued again (the ``updated_at`` clock restarts)."""
        if not ids:
            return
        with self.engine.begin() as conn:
            conn.execute(
                update(D)
                .where(D.c.id.in_(ids), D.c.state.in_(WAITING_STATES))
                .values(state=S.QUEUED, updated_at=now)
            )
            conn.execute(
                update(D)
                .where(D.c.id.in_(ids), D.c.state.in_((S.SENDING, S.UNCONFIRMED)))
                .values(updated_at=now)
            )

    def wake(self, ids: list[int], now: datetime) -> list[int]:
        """Make waiting deliveries due now (a channel learnt their result early, e.g. from a
        callback). Only rows in ``retrying`` move; anything claimed or finished is left alone."""
        if not ids:
            return []
        with self.engine.begin() as conn:
            woken = (
                conn.execute(
                    update(D)
                    .where(D.c.id.in_(ids), D.c.state.in_(WAKEABLE_STATES), D.c.next_attempt_at > now)
                    .values(next_attempt_at=now, updated_at=now)
                    .returning(D.c.id)
                )
                .scalars()
                .all()
            )
        return list(woken)

    def wake_interpretations(self, claim: Claim, now: datetime) -> list[tuple[int, str]]:
        """The item ``claim`` published is out: the deliveries of its interpretations that
        wait for it are due now; returns them (id, channel) for the queue. Only asked when
        the claim found the item interpreted, so other items pay nothing."""
        if not claim.interpreted or claim.action != "publish":
            return []
        with self.engine.begin() as conn:
            woken = conn.execute(
                update(D)
                .where(interpretations.waiting_for(claim.item_pk), D.c.next_attempt_at > now)
                .values(next_attempt_at=now, updated_at=now)
                .returning(D.c.id, D.c.channel)
            ).all()
        return [(row.id, row.channel) for row in woken]

    # -- operator actions --------------------------------------------------------
    def retry_now(self, delivery_id: int, operator: str, now: datetime) -> bool:
        with self.engine.begin() as conn:
            values = {"state": S.QUEUED, "attempts": 0, "next_attempt_at": now, "updated_at": now}
            done = _move(
                conn, [D.c.id == delivery_id, D.c.state.in_(RETRYABLE_STATES)], values, "operator_retry", now
            )
            if done:
                _event(conn, delivery_id, now, 0, operator, "operator_retry")
            return bool(done)

    def confirm(self, delivery_id: int, operator: str, ref: dict[str, Any], note: str, now: datetime) -> bool:
        """An operator saw the item on the channel: a delivery ``in_doubt`` is delivered
        with the reference they give (and their note in the log)."""
        values = {
            "state": S.DELIVERED,
            "external_ref": ref,
            "delivered_at": now,
            "reason": None,
            "last_error_class": None,
            "last_error": None,
            "updated_at": now,
        }
        with self.engine.begin() as conn:
            done = _move(
                conn, [D.c.id == delivery_id, D.c.state == S.IN_DOUBT], values, "operator_confirm", now
            )
            if done:
                _event(
                    conn, delivery_id, now, 0, operator, "operator_confirm", message=note, external_ref=ref
                )
            return bool(done)

    def resubmit(self, delivery_id: int, operator: str, note: str, now: datetime) -> bool:
        """An operator saw that the item is not on the channel: a delivery ``in_doubt`` is
        queued again with ``operator_resubmit`` in its progress, which tells the channel
        to send it afresh instead of looking for the earlier attempt's result. Its
        ``delivered_at`` goes (the channel does not hold it): the resend is no "sent for
        good" claim, and the report counts the item when the resend reaches the channel."""
        with self.engine.begin() as conn:
            row = conn.execute(
                select(D.c.progress, D.c.claim_no).where(D.c.id == delivery_id, D.c.state == S.IN_DOUBT)
            ).first()
            if row is None:
                return False
            progress = {**(row.progress or {}), "operator_resubmit": True}
            done = _move(
                conn,
                [D.c.id == delivery_id, D.c.state == S.IN_DOUBT, D.c.claim_no == row.claim_no],
                {
                    "state": S.QUEUED,
                    "attempts": 0,
                    "next_attempt_at": now,
                    "updated_at": now,
                    "progress": progress,
                    "delivered_at": None,
                },
                "operator_resubmit",
                now,
            )
            if done:
                _event(conn, delivery_id, now, 0, operator, "operator_resubmit", message=note)
            return bool(done)

    def held_of(self, item_pk: int) -> list[tuple[int, str]]:
        """The item's held deliveries (id, channel)."""
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(D.c.id, D.c.channel)
                .where(D.c.item_pk == item_pk, D.c.state == S.HELD)
                .order_by(D.c.id)
            ).all()
        return [(row.id, row.channel) for row in rows]

    def release(self, delivery_id: int, operator: str, reason: str, now: datetime) -> bool:
        """An operator read the findings and lets a ``held`` delivery go, with a reason."""
        with self.engine.begin() as conn:
            values = {"state": S.QUEUED, "reason": None, "next_attempt_at": now, "updated_at": now}
            done = _move(conn, [D.c.id == delivery_id, D.c.state == S.HELD], values, "operator_release", now)
            if done:
                _event(conn, delivery_id, now, 0, operator, "operator_release", message=reason)
            return bool(done)

    def skip(self, delivery_id: int, operator: str, reason: str, now: datetime) -> bool:
        with self.engine.begin() as conn:
            values = {"state": S.SKIPPED, "reason": reason, "updated_at": now}
            done = _move(
                conn, [D.c.id == delivery_id, D.c.state.in_(SKIPPABLE_STATES)], values, "operator_skip", now
            )
            if done:
                _event(conn, delivery_id, now, 0, operator, "operator_skip", message=reason)
            return bool(done)


@dataclass
class Outcome:
    """How one claimed attempt ended, before it is written: the row's new ``state`` and
    columns, and the log's event. ``reached`` says what becomes of ``delivered_at``: kept,
    set now unless set before (the channel holds the item), or cleared (it does not)."""

    claim: Claim
    state: str
    event: str
    reached: Literal["keep", "now", "clear"] = "keep"
    ref: dict[str, Any] | None = None  # the row's external_ref, when set_ref
    set_ref: bool = False
    reason: str | None = None
    error_class: str | None = None
    error: str | None = None
    next_attempt_at: datetime | None = None  # None: as it was
    counts: bool = True  # False: the attempt is given back (a wait, no failure)
    keep_errors: bool = False  # True: last_error(_class) stay as they were
    message: str | None = None
    logged_ref: dict[str, Any] | None = None
    log_error_class: str | None = None

    @classmethod
    def success(cls, claim: Claim, ref: dict[str, Any] | None) -> Outcome:
        if ref is None:
            return cls(claim, S.SKIPPED, "skipped", reason="nothing to do on this channel", keep_errors=True)
        # an earlier attempt's error is history now (the log); sent earlier: that moment counts
        return cls(claim, S.DELIVERED, "delivered", reached="now", ref=ref, set_ref=True, logged_ref=ref)

    @classmethod
    def failure(
        cls, claim: Claim, error: BaseException, *, retry_at: datetime | None, counts: bool = True
    ) -> Outcome:
        """A failed attempt; ``retry_at`` None means dead (the channel said it does not
        hold it: ``delivered_at`` goes)."""
        state = S.RETRYING if retry_at is not None else S.DEAD
        event = {S.DEAD: "dead", S.RETRYING: "retry" if counts else "waiting"}[state]
        return cls(
            claim,
            state,
            event,
            reached="keep" if retry_at is not None else "clear",
            next_attempt_at=retry_at,
            counts=counts,
            **_error_columns(claim, error),
        )

    @classmethod
    def wait(
        cls, claim: Claim, message: str, *, retry_at: datetime, ref: dict[str, Any] | None = None
    ) -> Outcome:
        """An attempt that ended waiting, which is no failure: the attempt is not counted
        and the row keeps no error, the message says what it waits for. It waits in
        ``waiting`` for a window or an asynchronous result, or, once the channel took it
        for good (``ref`` now, or an earlier attempt), in ``unconfirmed``: counted as
        reached from this moment on, with ``ref`` as what went out."""
        return cls(
            claim,
            S.UNCONFIRMED if claim.sent or ref is not None else S.WAITING,
            "sent" if ref is not None and not claim.sent else "waiting",
            reached="now" if ref is not None else "keep",
            ref=ref,
            set_ref=ref is not None,
            reason=message[:4000],
            next_attempt_at=retry_at,
            counts=False,
            message=message[:4000],
            logged_ref=ref if ref is not None else claim.progress or None,
        )

    @classmethod
    def doubt(cls, claim: Claim, error: BaseException) -> Outcome:
        """The channel may hold it and cannot tell: nothing more happens by itself."""
        return cls(claim, S.IN_DOUBT, "in_doubt", **_error_columns(claim, error))

    def event_row(self, worker: str, now: datetime) -> dict[str, Any]:
        return {
            "delivery_id": self.claim.id,
            "at": now,
            "attempt": self.claim.attempts,
            "worker": worker,
            "outcome": self.event,
            "error_class": self.log_error_class,
            "message": self.message,
            "external_ref": self.logged_ref,
        }


def _error_columns(claim: Claim, error: BaseException) -> dict[str, Any]:
    text = str(error)[:4000]
    name = type(error).__name__
    return {
        "error_class": name,
        "error": text,
        "message": text,
        "logged_ref": claim.progress or None,
        "log_error_class": name,
    }


def _count_outcomes(conn: Connection, written: list[Outcome], now: datetime) -> None:
    """Move the counters by the outcomes written (each row as it now stands, against the
    ``sending`` it left, with ``delivered_at`` as the claim found it)."""
    rows = {
        r.id: r
        for r in conn.execute(select(*counters.COLUMNS).where(D.c.id.in_([o.claim.id for o in written])))
    }
    counters.record(
        conn, [Change.of(rows[o.claim.id], S.SENDING, o.claim.sent_at, o.event, now) for o in written]
    )


def _write_one(conn: Connection, outcome: Outcome, now: datetime) -> bool:
    """One outcome, fenced by its claim (SQLite: no round trips to save)."""
    o = outcome
    values: dict[str, Any] = {"state": o.state, "reason": o.reason, "lease_until": None, "updated_at": now}
    if not o.keep_errors:
        values.update(last_error_class=o.error_class, last_error=o.error)
    if o.set_ref:
        values["external_ref"] = o.ref
    if o.reached != "keep":
        values["delivered_at"] = _first_reached(now) if o.reached == "now" else None
    if o.next_attempt_at is not None:
        values["next_attempt_at"] = o.next_attempt_at
    if not o.counts:
        values["attempts"] = o.claim.attempts - 1
    fence = and_(D.c.id == o.claim.id, D.c.claim_no == o.claim.claim_no, D.c.state == S.SENDING)
    return bool(conn.execute(update(D).where(fence).values(**values)).rowcount == 1)


def _write_set(conn: Connection, outcomes: list[Outcome], now: datetime) -> set[int]:
    """Every outcome in one ``UPDATE … FROM (VALUES …)``, each row fenced by its claim;
    returns the ids written."""
    v = values(
        column("id", Integer()),
        column("claim_no", Integer()),
        column("state", String()),
        column("reason", Text()),
        column("keep_errors", Boolean()),
        column("error_class", String()),
        column("error", Text()),
        column("set_ref", Boolean()),
        column("ref", JSON()),
        column("reached", String()),
        column("next_at", db.UTCDateTime()),
        column("uncount", Integer()),
        name="v",
    ).data(
        [
            (
                o.claim.id,
                o.claim.claim_no,
                o.state,
                o.reason,
                o.keep_errors,
                o.error_class,
                o.error,
                o.set_ref,
                o.ref,
                o.reached,
                o.next_attempt_at,
                0 if o.counts else 1,
            )
            for o in outcomes
        ]
    )
    at = literal(now, db.UTCDateTime())
    kept_or = lambda mine, theirs: case((v.c.keep_errors, theirs), else_=mine)  # noqa: E731
    statement = (
        update(D)
        .where(D.c.id == v.c.id, D.c.claim_no == v.c.claim_no, D.c.state == S.SENDING)
        .values(
            state=cast(v.c.state, D.c.state.type),
            reason=cast(v.c.reason, D.c.reason.type),
            last_error_class=kept_or(cast(v.c.error_class, String()), D.c.last_error_class),
            last_error=kept_or(cast(v.c.error, Text()), D.c.last_error),
            external_ref=case((v.c.set_ref, cast(v.c.ref, JSON())), else_=D.c.external_ref),
            delivered_at=case(
                (v.c.reached == "now", func.coalesce(D.c.delivered_at, at)),
                (v.c.reached == "clear", None),
                else_=D.c.delivered_at,
            ),
            next_attempt_at=func.coalesce(cast(v.c.next_at, D.c.next_attempt_at.type), D.c.next_attempt_at),
            attempts=D.c.attempts - v.c.uncount,
            lease_until=None,
            updated_at=at,
        )
        .returning(D.c.id)
    )
    return set(conn.execute(statement).scalars())


# -- inside the intake's transaction (the store's) -------------------------------
def supersede(conn: Connection, item_pk: int, revision: int, now: datetime) -> None:
    """A newer revision replaces older ones still waiting (not those being sent, nor
    what went out: it stays counted)."""
    _move(
        conn,
        [
            D.c.item_pk == item_pk,
            D.c.revision < revision,
            D.c.action == "publish",
            D.c.state.in_(SUPERSEDABLE_STATES),
            D.c.delivered_at.is_(None),
        ],
        {"state": S.SKIPPED, "reason": f"superseded by revision {revision}", "updated_at": now},
    )


def cancel_for_retraction(
    conn: Connection, item_pk: int, reason: str, keep: Collection[str], now: datetime
) -> list[str]:
    """Cancel the item's publications that have not gone out, except on channels in
    ``keep`` (archives keep records); returns the channels that must hear of the
    retraction: what is there or may be, what had started, and every kept channel."""
    _move(
        conn,
        [
            D.c.item_pk == item_pk,
            D.c.action == "publish",
            D.c.state.in_((*SUPERSEDABLE_STATES, S.DEAD)),
            D.c.delivered_at.is_(None),
            D.c.channel.notin_(list(keep)),
        ],
        {"state": S.RETRACTED, "reason": f"item retracted: {reason}", "updated_at": now},
    )
    told = or_(
        D.c.state.in_(MAY_BE_OUT_STATES),  # a retraction goes after it
        and_(D.c.state == S.RETRACTED, D.c.progress.is_not(None)),  # cancelled after the channel started
        and_(D.c.channel.in_(list(keep)), D.c.state != S.SKIPPED),
    )
    query = select(D.c.channel).distinct().where(D.c.item_pk == item_pk, D.c.action == "publish", told)
    return list(conn.execute(query).scalars().all())


def _move(
    conn: Connection,
    where: list[Any],
    values: dict[str, Any],
    outcome: str | None = None,
    at: datetime | None = None,
) -> int:
    """Change the rows ``where`` selects to ``values`` and move the counters: the rows are
    locked and read first, because what they leave (their state) is what the counters
    subtract. Returns how many changed. ``outcome``: the event each logs (at ``at``)."""
    before = {
        row.id: row
        for row in conn.execute(
            select(D.c.id, D.c.state, D.c.delivered_at).where(*where).order_by(D.c.id).with_for_update()
        ).all()
    }
    if not before:
        return 0
    rows = conn.execute(
        update(D).where(D.c.id.in_(list(before))).values(**values).returning(*counters.COLUMNS)
    ).all()
    changes = [Change.of(r, before[r.id].state, before[r.id].delivered_at, outcome, at) for r in rows]
    counters.record(conn, changes)
    return len(rows)


def _first_reached(now: datetime) -> Any:
    """``delivered_at`` as it was, or ``now`` when the channel holds the item for the first time."""
    return func.coalesce(D.c.delivered_at, literal(now, D.c.delivered_at.type))


def _why_waiting(row: Any) -> tuple[str, float]:
    """What the row waits for, from the slow claim's reason columns ("" for nothing), and
    when to look again: soon for another delivery (it is being sent), a while for a
    policy (it may wait for days; its delivery wakes the row, :meth:`Deliveries.wake_interpretations`)."""
    if row.earlier_sending is not None:
        return f"delivery {row.earlier_sending} of an earlier revision is being sent", 2
    if row.open_dependency is not None:
        return f"channel {row.open_dependency} goes first", 2
    if row.waiting_policy is not None:
        return f"{WAITING_REASON}（{row.waiting_policy}）", POLICY_RECHECK_SECONDS
    return "", 0


def _taken(worker: str, now: datetime, lease_until: datetime) -> dict[str, Any]:
    """What a claim writes: the row is ``worker``'s until ``lease_until``."""
    return {
        "state": S.SENDING,
        "claim_no": D.c.claim_no + 1,
        "attempts": D.c.attempts + 1,
        "claimed_by": worker,
        "lease_until": lease_until,
        "updated_at": now,
    }


def _event(
    conn: Connection,
    delivery_id: int,
    at: datetime,
    attempt: int,
    worker: str,
    outcome: str,
    *,
    error_class: str | None = None,
    message: str | None = None,
    external_ref: dict[str, Any] | None = None,
) -> None:
    conn.execute(
        insert(db.delivery_events).values(
            delivery_id=delivery_id,
            at=at,
            attempt=attempt,
            worker=worker,
            outcome=outcome,
            error_class=error_class,
            message=message,
            external_ref=external_ref,
        )
    )
