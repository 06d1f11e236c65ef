"""The console's tables: operator accounts, their sessions, the audit log, and the
login throttle's counters (per account and per client address).

Declared on the shared ``metadata`` (imported at the bottom of :mod:`pipeline.db`),
so migrations and the schema test see them like every other table.
"""

from __future__ import annotations

from sqlalchemy import Boolean, Column, ForeignKey, Index, Integer, String, Table, Text, false

from pipeline.db import Id, UTCDateTime, metadata

console_users = Table(
    "console_users",
    metadata,
    Column("username", String(64), primary_key=True),
    Column("password_hash", String(256), nullable=False),
    Column("role", String(16), nullable=False),
    # an auditor who reads every agency (admins act on every agency by their role)
    Column("platform", Boolean, nullable=False, server_default=false()),
    # the operator API/CLI credential (pipeline.opsapi), stored hashed like a source's
    Column("api_token_hash", String(64), unique=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("disabled_at", UTCDateTime),
)

# The agencies an operator or auditor is scoped to (pipeline.tenancy.user_reach).
console_user_agencies = Table(
    "console_user_agencies",
    metadata,
    Column("username", String(64), ForeignKey("console_users.username"), primary_key=True),
    Column("agency_code", String(32), ForeignKey("agencies.code"), primary_key=True),
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
    Column("agency_code", String(32)),
    Index("ix_audit_log_agency_at", "agency_code", "at"),
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
