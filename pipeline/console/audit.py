"""The audit log: who did what in the console, shown on the item's timeline.

Written in the same breath as the action it records (login, logout, a wrong password,
a lock and its lifting, retry, skip, retract), never updated or deleted by govpub.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Engine, Insert, insert, select

from pipeline.console.auth import User
from pipeline.console.tables import audit_log

LOGIN_ACTIONS = ("login", "logout", "login_failed", "login_locked", "login_unlocked")
PAGE = 50


def record(
    engine: Engine,
    user: User,
    action: str,
    at: datetime,
    *,
    item_pk: int | None = None,
    delivery_id: int | None = None,
    detail: str | None = None,
    agency_code: str | None = None,
) -> None:
    """One entry; ``agency_code``: the agency of the item acted on (None: no item)."""
    with engine.begin() as conn:
        conn.execute(
            audit_row(
                at, user.username, action, detail, user.role, item_pk=item_pk, delivery_id=delivery_id
            ).values(agency_code=agency_code)
        )


def audit_row(
    at: datetime,
    username: str,
    action: str,
    detail: str | None = None,
    role: str = "-",
    **about: int | None,
) -> Insert:
    """One entry, for a caller's own transaction; ``role`` is ``-`` for someone who is not
    logged in (a wrong password, a lock)."""
    return insert(audit_log).values(
        at=at, username=username, role=role, action=action, detail=detail, **about
    )


def recent_logins(
    engine: Engine, before: int | None = None, limit: int = PAGE, username: str | None = None
) -> list[dict[str, Any]]:
    """The latest logins, logouts, wrong passwords, locks and unlocks, newest first
    (``username``: only that account's)."""
    query = (
        select(audit_log)
        .where(audit_log.c.action.in_(LOGIN_ACTIONS))
        .order_by(audit_log.c.id.desc())
        .limit(limit)
    )
    if before:
        query = query.where(audit_log.c.id < before)
    if username is not None:
        query = query.where(audit_log.c.username == username)
    with engine.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(query)]


def for_item(engine: Engine, item_pk: int) -> list[dict[str, Any]]:
    with engine.connect() as conn:
        rows = conn.execute(
            select(audit_log).where(audit_log.c.item_pk == item_pk).order_by(audit_log.c.id)
        ).all()
    return [dict(r._mapping) for r in rows]
