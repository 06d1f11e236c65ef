"""Whose reports a console user may read: their :class:`~pipeline.tenancy.Reach`.

An agency's report and the platform's figures are public statutory numbers, but the
console's report names every late item and retraction, and the platform summary
compares agencies: a scoped user reads only their agencies' reports (another agency's
answers as not found), the summary is for the platform's administrators and auditors.
"""

from __future__ import annotations

from fastapi import Request
from sqlalchemy import select

from pipeline.services import Services
from pipeline.tenancy import Reach


def console_reach(request: Request) -> Reach:
    """The logged-in console user's reach (the login gate put the user, with it, on the
    request); nobody logged in reaches nothing."""
    user = getattr(request.state, "console_user", None)
    return user.reach if user is not None else Reach.of(())


def registered(services: Services, code: str) -> bool:
    """An agency of the registry, or one the stored items name (a database written
    before the registry, or by hand)."""
    from pipeline import db

    with services.engine.connect() as conn:
        if conn.execute(select(db.agencies.c.code).where(db.agencies.c.code == code)).first() is not None:
            return True
        return (
            conn.execute(select(db.items.c.pk).where(db.items.c.agency_code == code).limit(1)).first()
            is not None
        )
