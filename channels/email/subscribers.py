"""The subscribers of one e-mail instance: subscribe (pending), confirm, unsubscribe
(the row goes: nothing is kept of who left), bounce, and an address's export and
erasure (``govpub email subscribers export|erase``)."""

from __future__ import annotations

import contextlib
import hashlib
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, delete, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from pipeline.model import Published

from .tables import email_sends, email_subscribers

MODES = ("item", "digest")


def recipient_hash(address: str) -> str:
    """What the send log keeps of a recipient: enough to skip them on a retry."""
    return hashlib.sha256(address.strip().lower().encode()).hexdigest()


def in_scope(scope: str, item: Published) -> bool:
    """``all``, ``agency:CODE`` (its own items) or ``category:NAME``."""
    kind, _, value = scope.partition(":")
    if kind == "all":
        return True
    if kind == "agency":
        return item.agency.code == value
    return kind == "category" and item.category == value


@dataclass(frozen=True)
class Subscriber:
    id: int
    address: str
    scope: str
    mode: str
    state: str
    created_at: datetime
    confirmed_at: datetime | None


def _row(row: Any) -> Subscriber:
    return Subscriber(row.id, row.address, row.scope, row.mode, row.state, row.created_at, row.confirmed_at)


class Subscribers:
    def __init__(self, engine: Engine, channel: str) -> None:
        self.engine = engine
        self.channel = channel

    def subscribe(self, address: str, scope: str, mode: str, now: datetime) -> Subscriber:
        """A pending subscription (the same address and scope again: the row it has,
        its mode changed only once confirmed again)."""
        address = address.strip().lower()
        t = email_subscribers
        # already subscribed: the row it has (the error rolls the insert back, then is ignored)
        with contextlib.suppress(IntegrityError), self.engine.begin() as conn:
            conn.execute(
                insert(t).values(
                    channel=self.channel,
                    address=address,
                    scope=scope,
                    mode=mode,
                    state="pending",
                    created_at=now,
                )
            )
        with self.engine.begin() as conn:
            row = conn.execute(
                select(t).where(t.c.channel == self.channel, t.c.address == address, t.c.scope == scope)
            ).one()
            if row.state != "confirmed" and (row.mode != mode or row.state == "bounced"):
                conn.execute(
                    update(t)
                    .where(t.c.id == row.id)
                    .values(mode=mode, state="pending", created_at=now, bounced_at=None)
                )
                row = conn.execute(select(t).where(t.c.id == row.id)).one()
        return _row(row)

    def get(self, subscriber_id: int) -> Subscriber | None:
        t = email_subscribers
        with self.engine.connect() as conn:
            row = conn.execute(select(t).where(t.c.id == subscriber_id, t.c.channel == self.channel)).first()
        return _row(row) if row is not None else None

    def confirm(self, subscriber_id: int, now: datetime) -> None:
        t = email_subscribers
        with self.engine.begin() as conn:
            conn.execute(
                update(t)
                .where(t.c.id == subscriber_id, t.c.state == "pending")
                .values(state="confirmed", confirmed_at=now)
            )

    def unsubscribe(self, subscriber_id: int) -> bool:
        """The row goes; False when it was already gone."""
        t = email_subscribers
        with self.engine.begin() as conn:
            return bool(
                conn.execute(delete(t).where(t.c.id == subscriber_id, t.c.channel == self.channel)).rowcount
            )

    def bounced(self, address: str, now: datetime) -> int:
        """A permanent failure to this address: no more messages until they subscribe again."""
        t = email_subscribers
        with self.engine.begin() as conn:
            result = conn.execute(
                update(t)
                .where(
                    t.c.channel == self.channel,
                    t.c.address == address.strip().lower(),
                    t.c.state != "bounced",
                )
                .values(state="bounced", bounced_at=now)
            )
        return int(result.rowcount)

    def recipients(self, item: Published, mode: str) -> list[Subscriber]:
        """Confirmed subscribers of ``mode`` whose scope holds ``item``, one per address."""
        t = email_subscribers
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(t)
                .where(t.c.channel == self.channel, t.c.mode == mode, t.c.state == "confirmed")
                .order_by(t.c.id)
            ).all()
        chosen: dict[str, Subscriber] = {}
        for row in rows:
            if in_scope(row.scope, item) and row.address not in chosen:
                chosen[row.address] = _row(row)
        return list(chosen.values())

    def tally(self) -> dict[tuple[str, str], int]:
        """(state, mode) → how many subscriptions, for the operations overview."""
        t = email_subscribers
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(t.c.state, t.c.mode, func.count())
                .where(t.c.channel == self.channel)
                .group_by(t.c.state, t.c.mode)
            ).all()
        return {(state, mode): int(n) for state, mode, n in rows}

    def confirmed(self, mode: str) -> list[Subscriber]:
        t = email_subscribers
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(t)
                .where(t.c.channel == self.channel, t.c.mode == mode, t.c.state == "confirmed")
                .order_by(t.c.id)
            ).all()
        return [_row(r) for r in rows]


def export(engine: Engine, address: str) -> list[dict[str, Any]]:
    """Everything kept about ``address``, on every instance."""
    t = email_subscribers
    with engine.connect() as conn:
        rows = conn.execute(select(t).where(t.c.address == address.strip().lower()).order_by(t.c.id)).all()
        sent = conn.execute(
            select(email_sends.c.kind, email_sends.c.outcome, email_sends.c.sent_at, email_sends.c.channel)
            .where(email_sends.c.recipient_hash == recipient_hash(address))
            .order_by(email_sends.c.sent_at)
        ).all()
    return [
        {
            "channel": r.channel,
            "address": r.address,
            "scope": r.scope,
            "mode": r.mode,
            "state": r.state,
            "created_at": r.created_at.isoformat(),
            "confirmed_at": r.confirmed_at.isoformat() if r.confirmed_at else None,
            "bounced_at": r.bounced_at.isoformat() if r.bounced_at else None,
        }
        for r in rows
    ] + [
        {"channel": s.channel, "message": s.kind, "outcome": s.outcome, "sent_at": s.sent_at.isoformat()}
        for s in sent
    ]


def bounced_everywhere(engine: Engine, address: str, now: datetime) -> int:
    """A bounce report: the address fails for good, on every instance."""
    t = email_subscribers
    with engine.begin() as conn:
        result = conn.execute(
            update(t)
            .where(t.c.address == address.strip().lower(), t.c.state != "bounced")
            .values(state="bounced", bounced_at=now)
        )
    return int(result.rowcount)


def erase(engine: Engine, address: str) -> tuple[int, int]:
    """Forget ``address``: its subscriptions and the log of what was sent to it."""
    with engine.begin() as conn:
        subs = conn.execute(
            delete(email_subscribers).where(email_subscribers.c.address == address.strip().lower())
        )
        sent = conn.execute(
            delete(email_sends).where(email_sends.c.recipient_hash == recipient_hash(address))
        )
    return int(subs.rowcount), int(sent.rowcount)
