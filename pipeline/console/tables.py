"""The console's tables: operator accounts, their sessions, the audit log, and the
login throttle's counters (per account and per client address).

Declared on the shared ``metadata`` (imported at the bottom of :mod:`pipeline.db`),
so migrations and the schema test see them like every other table.
"""

from __future__ import annotations

from sqlalchemy import Column, Integer, String, Table, Text

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

# One row per account name or client address with recent wrong passwords
# (pipeline.console.throttle); shared by every serve process through the database.
console_login_throttle = Table(
    "console_login_throttle",
    metadata,
    Column("key", String(100), primary_key=True),
    Column("failures", Integer, nullable=False),
    Column("last_failure_at", UTCDateTime, nullable=False, index=True),
    Column("blocked_until", UTCDateTime),
    Column("last_address", String(64)),
)
