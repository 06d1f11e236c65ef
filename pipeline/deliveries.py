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
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Engine, and_, func, insert, literal, or_, select, update

from pipeline import db, states
from pipeline.model import Published

D = db.deliveries
R = db.revisions
WAKEABLE = ("retrying", "waiting", "unconfirmed")  # rows that wait for a time the channel may bring forward
SKIPPABLE = ("pending", "queued", "retrying", "waiting", "in_doubt", "dead")  # never what went out
# The claimed revision's document, read by the claim's own UPDATE … RETURNING (one round trip).
_DOCUMENT = select(R.c.document).where(R.c.pk == D.c.revision_pk).scalar_subquery().label("document")


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


def backoff(attempts: int, base: float, cap: float) -> float:
    """Exponential backoff with full jitter (AWS architecture blog's recommendation)."""
    return random.uniform(base / 2, min(cap, base * 2 ** max(attempts - 1, 0)))


class Deliveries:
    def __init__(self, engine: Engine, depends_on: dict[str, list[str]] | None = None) -> None:
        self.engine = engine
        self.depends_on = depends_on or {}

    def mark_queued(self, ids: list[int], now: datetime) -> None:
        if not ids:
            return
        with self.engine.begin() as conn:
            conn.execute(
                update(D)
                .where(D.c.id.in_(ids), D.c.state == "pending")
                .values(state="queued", updated_at=now)
            )

    def claim(self, delivery_id: int, worker: str, now: datetime, lease_seconds: float) -> Claim | None:
        """Take the delivery if it is due and nothing must go before it.

        The common case is one statement; a delivery that waits for another, is
        superseded or was left by a dead worker goes the longer way."""
        lease_until = now + timedelta(seconds=lease_seconds)
        with self.engine.begin() as conn:
            fast = conn.execute(
                update(D)
                .where(
                    D.c.id == delivery_id,
                    D.c.state.in_(states.CLAIMABLE_STATES),
                    D.c.next_attempt_at <= now,
                    D.c.channel.not_in([c for c, deps in self.depends_on.items() if deps]),
                    ~self._blocked(),
                )
                .values(
                    state="sending",
                    claim_no=D.c.claim_no + 1,
                    attempts=D.c.attempts + 1,
                    claimed_by=worker,
                    lease_until=lease_until,
                    updated_at=now,
                )
                .returning(*D.c, _DOCUMENT)
            ).first()
            if fast is not None:
                return self._claimed(conn, fast, fast.document)
            return self._claim_slowly(conn, delivery_id, worker, now, lease_until)

    @staticmethod
    def _blocked() -> Any:
        """Another delivery of the same item and channel must go first: an earlier
        revision (or, for a retraction, any publication) being sent; or a newer
        revision exists, which supersedes this one."""
        other = D.alias("other")
        return (
            select(other.c.id)
            .where(
                other.c.item_pk == D.c.item_pk,
                other.c.channel == D.c.channel,
                other.c.id != D.c.id,
                or_(
                    and_(
                        other.c.state == "sending",
                        or_(other.c.revision < D.c.revision, D.c.action == "retract"),
                    ),
                    and_(
                        other.c.action == "publish", D.c.action == "publish", other.c.revision > D.c.revision
                    ),
                ),
            )
            .exists()
        )

    def _claimed(self, conn: Connection, row: Any, document: dict[str, Any]) -> Claim:
        first_publication = row.action == "publish" and row.revision == 1
        return Claim(
            id=row.id,
            channel=row.channel,
            action=row.action,
            revision=row.revision,
            item_pk=row.item_pk,
            claim_no=row.claim_no,
            attempts=row.attempts,
            item=Published.model_validate(document),
            previous=None if first_publication else self._previous(conn, row),
            progress=dict(row.progress or {}),
            reason=self._retract_reason(conn, row),
            sent=row.delivered_at is not None,
        )

    def _claim_slowly(
        self, conn: Connection, delivery_id: int, worker: str, now: datetime, lease_until: datetime
    ) -> Claim | None:
        """Why the fast claim failed, and what to do about it."""
        row = conn.execute(select(D).where(D.c.id == delivery_id)).first()
        if row is None or not self._claimable(row, now):
            return None
        wait = self._must_wait(conn, row)
        if wait:
            self._defer(conn, row, now + timedelta(seconds=2), f"waiting: {wait}")
            return None
        newer = self._superseded_by(conn, row)
        if newer:
            why = f"superseded by revision {newer}"
            conn.execute(
                update(D).where(D.c.id == row.id).values(state="skipped", reason=why, updated_at=now)
            )
            _event(conn, row.id, now, row.attempts, worker, "skipped", message=why)
            return None
        claimed = conn.execute(
            update(D)
            .where(D.c.id == row.id, D.c.claim_no == row.claim_no, _claimable_sql(now))
            .values(
                state="sending",
                claim_no=row.claim_no + 1,
                attempts=row.attempts + 1,
                claimed_by=worker,
                lease_until=lease_until,
                updated_at=now,
            )
            .returning(*D.c, _DOCUMENT)
        ).first()
        if claimed is None:
            return None
        if row.state == "sending":  # the previous holder died: close its attempt
            _event(
                conn,
                row.id,
                now,
                row.attempts,
                row.claimed_by or "?",
                "lost",
                message="lease expired before the worker reported back",
            )
        return self._claimed(conn, claimed, claimed.document)

    @staticmethod
    def _claimable(row: Any, now: datetime) -> bool:
        if row.state in states.CLAIMABLE_STATES:
            return bool(row.next_attempt_at <= now)
        return row.state == "sending" and row.lease_until is not None and row.lease_until < now

    def _must_wait(self, conn: Connection, row: Any) -> str:
        """Order per item and channel, and channel dependencies (WeChat after website)."""
        earlier = D.c.revision < row.revision
        if row.action == "retract":  # a retraction waits for any publication in flight
            earlier = or_(earlier, D.c.action == "publish")
        older_sending = conn.execute(
            select(D.c.id)
            .where(
                D.c.item_pk == row.item_pk,
                D.c.channel == row.channel,
                D.c.id != row.id,
                D.c.state == "sending",
                earlier,
            )
            .limit(1)
        ).first()
        if older_sending:
            return f"delivery {older_sending.id} of an earlier revision is being sent"
        deps = self.depends_on.get(row.channel, [])
        if deps and row.action == "publish":
            pending_dep = conn.execute(
                select(D.c.channel)
                .where(
                    D.c.revision_pk == row.revision_pk,
                    D.c.channel.in_(deps),
                    D.c.action == "publish",
                    D.c.state.in_(states.ACTIVE_STATES),
                )
                .limit(1)
            ).first()
            if pending_dep:
                return f"channel {pending_dep.channel} goes first"
        return ""

    def _superseded_by(self, conn: Connection, row: Any) -> int | None:
        if row.action != "publish" or row.delivered_at is not None:  # what went out stays counted
            return None
        newer = conn.execute(
            select(D.c.revision)
            .where(
                D.c.item_pk == row.item_pk,
                D.c.channel == row.channel,
                D.c.action == "publish",
                D.c.revision > row.revision,
            )
            .order_by(D.c.revision.desc())
            .limit(1)
        ).first()
        return int(newer.revision) if newer else None

    def _previous(self, conn: Connection, row: Any) -> dict[str, Any] | None:
        """What an earlier revision left live on this channel (for update/retract)."""
        query = select(D.c.external_ref).where(
            D.c.item_pk == row.item_pk,
            D.c.channel == row.channel,
            D.c.action == "publish",
            D.c.state == "delivered",
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
        state = "unconfirmed" if row.delivered_at is not None else "waiting"
        conn.execute(
            update(D)
            .where(D.c.id == row.id, D.c.claim_no == row.claim_no)
            .values(state=state, next_attempt_at=when, reason=why, updated_at=when)
        )

    # -- outcomes ----------------------------------------------------------------
    def succeeded(self, claim: Claim, worker: str, now: datetime, ref: dict[str, Any] | None) -> bool:
        if ref is None:
            values: dict[str, Any] = {"state": "skipped", "reason": "nothing to do on this channel"}
            return self._close(claim, worker, now, values, "skipped")
        values = {
            "state": "delivered",
            "external_ref": ref,
            "delivered_at": _first_reached(now),  # sent earlier: that moment
            "reason": None,
            "last_error_class": None,  # an earlier attempt's error is history now (the log)
            "last_error": None,
        }
        return self._close(claim, worker, now, values, "delivered", external_ref=ref)

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
        state = "retrying" if retry_at is not None else "dead"
        values: dict[str, Any] = {
            "state": state,
            "last_error_class": type(error).__name__,
            "last_error": str(error)[:4000],
            "reason": None,
        }
        if retry_at is not None:
            values["next_attempt_at"] = retry_at
        else:
            values["delivered_at"] = None  # the channel said it does not hold it
        if not counts:
            values["attempts"] = claim.attempts - 1
        outcome = {"dead": "dead", "retrying": "retry" if counts else "waiting"}[state]
        self._close(claim, worker, now, values, outcome, error=error)
        return state

    def renew(self, claims: list[Claim], now: datetime, lease_seconds: float) -> set[int]:
        """Extend the leases of claims this worker still holds; returns their ids. A claim
        taken over since (``claim_no`` moved on) or finished is not touched. ``updated_at``
        stays as it was: it tells the sweeper when the row was last handed out."""
        lease_until = now + timedelta(seconds=lease_seconds)
        kept: set[int] = set()
        with self.engine.begin() as conn:
            for claim in claims:
                renewed = conn.execute(
                    update(D)
                    .where(D.c.id == claim.id, D.c.claim_no == claim.claim_no, D.c.state == "sending")
                    .values(lease_until=lease_until)
                ).rowcount
                if renewed:
                    kept.add(claim.id)
        return kept

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
        """Record an attempt that ended waiting, which is no failure: the attempt is not
        counted and the row keeps no error, the message says what it waits for. It waits
        in ``waiting`` for a window or an asynchronous result, or, once the channel took
        it for good (``ref`` now, or an earlier attempt), in ``unconfirmed``: counted as
        reached from this moment on, with ``ref`` as what went out. Returns the state."""
        state = "unconfirmed" if claim.sent or ref is not None else "waiting"
        values: dict[str, Any] = {
            "state": state,
            "next_attempt_at": retry_at,
            "attempts": claim.attempts - 1,
            "reason": message[:4000],
            "last_error_class": None,
            "last_error": None,
        }
        if ref is not None:
            values["external_ref"] = ref
            values["delivered_at"] = _first_reached(now)
        outcome = "sent" if ref is not None and not claim.sent else "waiting"
        logged = ref if ref is not None else claim.progress or None
        self._close(claim, worker, now, values, outcome, message=message[:4000], external_ref=logged)
        return state

    def in_doubt(self, claim: Claim, worker: str, now: datetime, error: BaseException) -> str:
        """The channel may hold it and cannot tell: nothing more happens by itself."""
        values = {
            "state": "in_doubt",
            "last_error_class": type(error).__name__,
            "last_error": str(error)[:4000],
            "reason": None,
        }
        self._close(claim, worker, now, values, "in_doubt", error=error)
        return "in_doubt"

    def _close(
        self,
        claim: Claim,
        worker: str,
        now: datetime,
        values: dict[str, Any],
        outcome: str,
        *,
        error: BaseException | None = None,
        message: str | None = None,
        external_ref: dict[str, Any] | None = None,
    ) -> bool:
        """End the claimed attempt with ``values`` and log it, unless the claim was lost
        (another worker took the delivery over): then nothing is written."""
        if error is not None:
            message, external_ref = str(error)[:4000], claim.progress or None
        with self.engine.begin() as conn:
            done = self._finish(conn, claim, now, values)
            if done:
                _event(
                    conn,
                    claim.id,
                    now,
                    claim.attempts,
                    worker,
                    outcome,
                    error_class=type(error).__name__ if error is not None else None,
                    message=message,
                    external_ref=external_ref,
                )
            return done

    def checkpoint(self, claim: Claim, progress: dict[str, Any], now: datetime) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                update(D)
                .where(D.c.id == claim.id, D.c.claim_no == claim.claim_no)
                .values(progress=progress, updated_at=now)
            )

    @staticmethod
    def _finish(conn: Connection, claim: Claim, now: datetime, values: dict[str, Any]) -> bool:
        result = conn.execute(
            update(D)
            .where(D.c.id == claim.id, D.c.claim_no == claim.claim_no, D.c.state == "sending")
            .values(lease_until=None, updated_at=now, **values)
        )
        return result.rowcount == 1

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
                        and_(D.c.state.in_(("retrying", "waiting")), D.c.next_attempt_at <= now),
                        # an unconfirmed row stays unconfirmed when sent: once when due, then
                        # again only every requeue_after (the message may have been lost)
                        and_(
                            D.c.state == "unconfirmed",
                            D.c.next_attempt_at <= now,
                            or_(D.c.updated_at < D.c.next_attempt_at, D.c.updated_at <= stale),
                        ),
                        and_(
                            D.c.state.in_(("pending", "queued")),
                            D.c.updated_at <= stale,
                            D.c.next_attempt_at <= now,
                            D.c.channel.not_in(sorted(backlogged)),
                        ),
                        and_(
                            D.c.state == "sending",
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
                    .where(D.c.channel == channel, _claimable_sql(now))
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
                .where(D.c.id.in_(ids), D.c.state.in_(("pending", "queued", "retrying", "waiting")))
                .values(state="queued", updated_at=now)
            )
            conn.execute(
                update(D)
                .where(D.c.id.in_(ids), D.c.state.in_(("sending", "unconfirmed")))
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
                    .where(D.c.id.in_(ids), D.c.state.in_(WAKEABLE), D.c.next_attempt_at > now)
                    .values(next_attempt_at=now, updated_at=now)
                    .returning(D.c.id)
                )
                .scalars()
                .all()
            )
        return list(woken)

    # -- operator actions --------------------------------------------------------
    def retry_now(self, delivery_id: int, operator: str, now: datetime) -> bool:
        with self.engine.begin() as conn:
            done = conn.execute(
                update(D)
                .where(D.c.id == delivery_id, D.c.state.in_(("dead", "retrying", "waiting")))
                .values(state="queued", attempts=0, next_attempt_at=now, updated_at=now)
            ).rowcount
            if done:
                _event(conn, delivery_id, now, 0, operator, "operator_retry")
            return bool(done)

    def confirm(self, delivery_id: int, operator: str, ref: dict[str, Any], note: str, now: datetime) -> bool:
        """An operator saw the item on the channel: a delivery ``in_doubt`` is delivered
        with the reference they give (and their note in the log)."""
        values = {
            "state": "delivered",
            "external_ref": ref,
            "delivered_at": now,
            "reason": None,
            "last_error_class": None,
            "last_error": None,
            "updated_at": now,
        }
        with self.engine.begin() as conn:
            done = conn.execute(
                update(D).where(D.c.id == delivery_id, D.c.state == "in_doubt").values(**values)
            ).rowcount
            if done:
                _event(
                    conn, delivery_id, now, 0, operator, "operator_confirm", message=note, external_ref=ref
                )
            return bool(done)

    def resubmit(self, delivery_id: int, operator: str, note: str, now: datetime) -> bool:
        """An operator saw that the item is not on the channel: a delivery ``in_doubt`` is
        queued again with ``operator_resubmit`` in its progress, which tells the channel
        to send it afresh instead of looking for the earlier attempt's result."""
        with self.engine.begin() as conn:
            row = conn.execute(
                select(D.c.progress, D.c.claim_no).where(D.c.id == delivery_id, D.c.state == "in_doubt")
            ).first()
            if row is None:
                return False
            progress = {**(row.progress or {}), "operator_resubmit": True}
            done = conn.execute(
                update(D)
                .where(D.c.id == delivery_id, D.c.state == "in_doubt", D.c.claim_no == row.claim_no)
                .values(state="queued", attempts=0, next_attempt_at=now, updated_at=now, progress=progress)
            ).rowcount
            if done:
                _event(conn, delivery_id, now, 0, operator, "operator_resubmit", message=note)
            return bool(done)

    def skip(self, delivery_id: int, operator: str, reason: str, now: datetime) -> bool:
        with self.engine.begin() as conn:
            done = conn.execute(
                update(D)
                .where(D.c.id == delivery_id, D.c.state.in_(SKIPPABLE))
                .values(state="skipped", reason=reason, updated_at=now)
            ).rowcount
            if done:
                _event(conn, delivery_id, now, 0, operator, "operator_skip", message=reason)
            return bool(done)


def _first_reached(now: datetime) -> Any:
    """``delivered_at`` as it was, or ``now`` when the channel holds the item for the first time."""
    return func.coalesce(D.c.delivered_at, literal(now, D.c.delivered_at.type))


def _claimable_sql(now: datetime) -> Any:
    return or_(
        and_(D.c.state.in_(states.CLAIMABLE_STATES), D.c.next_attempt_at <= now),
        and_(D.c.state == "sending", D.c.lease_until < now),
    )


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
