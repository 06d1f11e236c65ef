"""The console's tables: operator accounts, their sessions, and the audit log.

Declared on the shared ``metadata`` (imported at the bottom of :mod:`pipeline.db`),
so migrations and the schema test see them like every other table.
"""

from __future__ import annotations

from sqlalchemy import Column, String, Table, Text

from pipeline.db import Id, UTCDateTime, metadata

console_users = Table(
    "console_users",
    metadata,
    Column("username", String(64), primary_key=True),
    Column("password_hash", String(256), nullable=False),
    Column("role", String(16), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("disabled_at", UTCDateTime),
)

console_sessions = Table(
    "console_sessions",
    metadata,
    Column("id_hash", String(64), primary_key=True),
    Column("username", String(64), nullable=False, index=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("last_seen_at", UTCDateTime, nullable=False),
    Column("expires_at", UTCDateTime, nullable=False),
)

audit_log = Table(
    "audit_log",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("at", UTCDateTime, nullable=False, index=True),
    Column("username", String(64), nullable=False),
    Column("role", String(16), nullable=False),
    Column("action", String(32), nullable=False),
    Column("item_pk", Id, index=True),
    Column("delivery_id", Id),
    Column("detail", Text),
)
