"""The messages an instance sent, by Message-ID: a retry skips every recipient already
recorded (sent, or refused for good), and the reference of a delivery is read from here
so a redelivered task answers the same one."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Engine, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from .subscribers import recipient_hash
from .tables import email_sends


class SendLog:
    def __init__(self, engine: Engine, channel: str) -> None:
        self.engine = engine
        self.channel = channel

    def done(self, message_id: str) -> bool:
        with self.engine.connect() as conn:
            return (
                conn.execute(
                    select(email_sends.c.message_id).where(email_sends.c.message_id == message_id)
                ).first()
                is not None
            )

    def record(
        self,
        message_id: str,
        address: str,
        kind: str,
        outcome: str,
        now: datetime,
        *,
        delivery_id: int | None = None,
        detail: str | None = None,
    ) -> None:
        values: dict[str, Any] = dict(
            channel=self.channel,
            delivery_id=delivery_id,
            recipient_hash=recipient_hash(address),
            kind=kind,
            outcome=outcome,
            detail=detail,
            sent_at=now,
            attempts=1,
        )
        try:
            with self.engine.begin() as conn:
                conn.execute(insert(email_sends).values(message_id=message_id, **values))
        except IntegrityError:  # sent again after a crash before the record: count it
            with self.engine.begin() as conn:
                conn.execute(
                    update(email_sends)
                    .where(email_sends.c.message_id == message_id)
                    .values(attempts=email_sends.c.attempts + 1, outcome=outcome, sent_at=now)
                )

    def counts(self, delivery_id: int) -> dict[str, int]:
        """Outcomes of a delivery's messages: ``{"sent": n, "refused": m}``."""
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(email_sends.c.outcome, func.count())
                .where(email_sends.c.channel == self.channel, email_sends.c.delivery_id == delivery_id)
                .group_by(email_sends.c.outcome)
            ).all()
        found = {outcome: int(n) for outcome, n in rows}
        return {"sent": found.get("sent", 0), "refused": found.get("refused", 0)}

    def recipients_of(self, delivery_id: int) -> set[str]:
        """Hashes of those who received a delivery's message."""
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(email_sends.c.recipient_hash).where(
                    email_sends.c.channel == self.channel,
                    email_sends.c.delivery_id == delivery_id,
                    email_sends.c.outcome == "sent",
                )
            ).all()
        return {r.recipient_hash for r in rows}

    def message_ids(self, delivery_id: int) -> dict[str, str]:
        """recipient hash → the Message-ID they received for a delivery."""
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(email_sends.c.recipient_hash, email_sends.c.message_id).where(
                    email_sends.c.channel == self.channel, email_sends.c.delivery_id == delivery_id
                )
            ).all()
        return {r.recipient_hash: r.message_id for r in rows}
