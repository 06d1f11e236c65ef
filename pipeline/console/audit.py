"""The audit log: who did what in the console, shown on the item's timeline.

Written in the same breath as the action it records (login, logout, retry, skip,
retract), never updated or deleted by govpub.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Engine, insert, select

from pipeline.console.auth import User
from pipeline.console.tables import audit_log


def record(
    engine: Engine,
    user: User,
    action: str,
    at: datetime,
    *,
    item_pk: int | None = None,
    delivery_id: int | None = None,
    detail: str | None = None,
) -> None:
    with engine.begin() as conn:
        conn.execute(
            insert(audit_log).values(
                at=at,
                username=user.username,
                role=user.role,
                action=action,
                item_pk=item_pk,
                delivery_id=delivery_id,
                detail=detail,
            )
        )


def for_item(engine: Engine, item_pk: int) -> list[dict[str, Any]]:
    with engine.connect() as conn:
        rows = conn.execute(
            select(audit_log).where(audit_log.c.item_pk == item_pk).order_by(audit_log.c.id)
        ).all()
    return [dict(r._mapping) for r in rows]
