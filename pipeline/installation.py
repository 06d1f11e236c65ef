"""This installation's id: 16 random hex digits kept in the database (``installation``).

Made by the migration that adds the table, or on first use by a database created
otherwise; never taken from configuration, so two installations (or one whose database
was rebuilt) never share it even when they share a configuration file. Used where an id
must be unique across every system that talks to the same outside account (WeChat's
``clientmsgid``)."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime

from sqlalchemy import Engine, select

from pipeline.db import insert_ignore, installation

KEY = "id"


def new_id() -> str:
    return secrets.token_hex(8)


def installation_id(engine: Engine) -> str:
    """The id, made now if the database has none yet (two processes racing agree on one)."""
    with engine.begin() as conn:
        found = conn.execute(select(installation.c.value).where(installation.c.key == KEY)).scalar()
        if found:
            return str(found)
        insert_ignore(conn, installation, {"key": KEY, "value": new_id(), "created_at": datetime.now(UTC)})
        return str(conn.execute(select(installation.c.value).where(installation.c.key == KEY)).scalar_one())
