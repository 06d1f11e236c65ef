"""The tables. Durability lives here, not in the broker.

``items`` holds one row per (source, id) with its 索引号 and retraction;
``revisions`` every revision as submitted; ``deliveries`` one row per
(revision, channel, action) with the state machine; ``delivery_events`` the
append-only log of every attempt and outcome, from which reports are counted.
Times are UTC. Channels keep their own tables in their own ``MetaData`` (their plug-in's
``tables``); :mod:`pipeline.schema` puts them together for the migrations.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    Date,
    DateTime,
    Engine,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    TypeDecorator,
    UniqueConstraint,
    create_engine,
    event,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Dialect, make_url

metadata = MetaData()


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes in and out, on SQLite (naive storage) and PostgreSQL alike."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the store")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value


Id = BigInteger().with_variant(Integer, "sqlite")

sources = Table(
    "sources",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("revoked_at", UTCDateTime),
)

# The agencies publishing through this installation (the tenants of a platform): the
# registry, pipeline.agencies. A row is never deleted (an agency is retired), so its
# items, pages and reports stay. ``managed_by``: "toml" when govpub.toml declares it
# (the file wins), else "cli".
agencies = Table(
    "agencies",
    metadata,
    Column("code", String(32), primary_key=True),
    Column("name", Text, nullable=False),
    Column("parent_code", String(32), ForeignKey("agencies.code")),
    Column("kind", String(16), nullable=False),
    Column("path", String(40), nullable=False, unique=True),
    Column("former_paths", JSON, nullable=False),
    Column("column_name", Text),
    Column("taxonomy", JSON),
    Column("position", Integer, nullable=False),
    Column("managed_by", String(8), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("retired_at", UTCDateTime),
)

# Which agencies a source submits for (and so whose 索引号 series it takes).
source_agencies = Table(
    "source_agencies",
    metadata,
    Column("source", String(64), ForeignKey("sources.name"), primary_key=True),
    Column("agency_code", String(32), ForeignKey("agencies.code"), primary_key=True),
)

# Each agency's annual report (年度报告) of a year: published as one of its items, or elsewhere.
annual_reports = Table(
    "annual_reports",
    metadata,
    Column("agency_code", String(32), ForeignKey("agencies.code"), primary_key=True),
    Column("year", Integer, primary_key=True),
    Column("item_pk", Id, ForeignKey("items.pk")),
    Column("url", Text),
    Column("published_at", UTCDateTime),
    Column("recorded_by", String(64), nullable=False),
    Column("recorded_at", UTCDateTime, nullable=False),
)

index_serials = Table(
    "index_serials",
    metadata,
    Column("agency_code", String(32), primary_key=True),
    Column("year", Integer, primary_key=True),
    Column("last_serial", Integer, nullable=False),
)

items = Table(
    "items",
    metadata,
    Column("pk", Id, primary_key=True, autoincrement=True),
    Column("source", String(64), nullable=False),
    Column("item_id", String(128), nullable=False),
    Column("index_no", String(64), nullable=False, unique=True),
    Column(
        "agency_code",
        String(32),
        ForeignKey("agencies.code", name="fk_items_agency_code_agencies"),
        nullable=False,
    ),
    Column("latest_revision", Integer, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("retracted_at", UTCDateTime),
    Column("retract_reason", Text),
    UniqueConstraint("source", "item_id", name="uq_items_source_id"),
    # Newest items first, in all and per agency: what a feed reads to regenerate at a
    # cost bounded by its length, not by every item ever stored.
    Index("ix_items_created", "created_at", "pk"),
    Index("ix_items_agency_created", "agency_code", "created_at", "pk"),
    Index("ix_items_agency_pk", "agency_code", "pk"),
)

revisions = Table(
    "revisions",
    metadata,
    Column("pk", Id, primary_key=True, autoincrement=True),
    Column("item_pk", Id, ForeignKey("items.pk"), nullable=False),
    Column("revision", Integer, nullable=False),
    # the item's, copied (an item never changes agency): a column's listings walk it
    Column("agency_code", String(32), nullable=False),
    Column("body_hash", String(64), nullable=False),
    Column("title", Text, nullable=False),
    Column("category", String(64), nullable=False),
    Column("subcategory", String(64)),
    Column("genre", String(64)),
    Column("validity", String(16)),
    Column("generated_on", Date, nullable=False),
    Column("accepted_at", UTCDateTime, nullable=False),
    Column("document", JSON, nullable=False),
    UniqueConstraint("item_pk", "revision", name="uq_revisions_item_revision"),
    # the website's listings, walked newest first (whole column / year, category, sub-category)
    Index("ix_revisions_listing", "generated_on", "item_pk"),
    Index("ix_revisions_category_listing", "category", "generated_on", "item_pk"),
    Index("ix_revisions_subcategory_listing", "category", "subcategory", "generated_on", "item_pk"),
    # the same listings of one agency's column (platform mode: a column walks its own rows)
    Index("ix_revisions_agency_listing", "agency_code", "generated_on", "item_pk"),
    Index("ix_revisions_agency_category_listing", "agency_code", "category", "generated_on", "item_pk"),
    Index(
        "ix_revisions_agency_subcategory_listing",
        "agency_code",
        "category",
        "subcategory",
        "generated_on",
        "item_pk",
    ),
)

deliveries = Table(
    "deliveries",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("item_pk", Id, ForeignKey("items.pk"), nullable=False),
    Column("revision_pk", Id, ForeignKey("revisions.pk"), nullable=False),
    Column("revision", Integer, nullable=False),
    # the item's, copied: a scoped list walks an index that starts with the agency
    Column("agency_code", String(32), nullable=False),
    Column("channel", String(64), nullable=False),
    # the channel's kind when the row was made: the report and the console read it, so
    # they never depend on the configuration they run with
    Column("kind", String(64), nullable=False),
    Column("action", String(16), nullable=False, default="publish"),
    Column("state", String(16), nullable=False),
    Column("attempts", Integer, nullable=False, default=0),
    Column("claim_no", Integer, nullable=False, default=0),
    Column("next_attempt_at", UTCDateTime, nullable=False),
    Column("lease_until", UTCDateTime),
    Column("claimed_by", String(128)),
    Column("external_ref", JSON),
    Column("progress", JSON),
    Column("reason", Text),
    Column("last_error_class", String(128)),
    Column("last_error", Text),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    Column("delivered_at", UTCDateTime),
    UniqueConstraint("revision_pk", "channel", "action", name="uq_deliveries_revision_channel"),
    Index("ix_deliveries_state_next", "state", "next_attempt_at"),
    # (channel, state, created_at) also counts per channel, state and period from the index alone
    Index("ix_deliveries_channel_state_created", "channel", "state", "created_at"),
    Index("ix_deliveries_delivered_at", "delivered_at"),
    # (item_pk, channel, …) also serves an item's timeline and the per-item ordering checks
    Index("ix_deliveries_item_publications", "item_pk", "channel", "action", "state", "revision"),
    # the console's filtered, paginated lists and each channel's last delivery
    Index("ix_deliveries_state_id", "state", "id"),
    Index("ix_deliveries_created_at", "created_at"),
    Index("ix_deliveries_channel_delivered", "channel", "delivered_at"),
    Index("ix_deliveries_agency_id", "agency_code", "id"),
    Index("ix_deliveries_agency_state_id", "agency_code", "state", "id"),
    Index("ix_deliveries_agency_delivered", "agency_code", "delivered_at"),
    # a scoped console user's overview: its agencies' deliveries of the year per channel and state
    Index("ix_deliveries_agency_created", "agency_code", "created_at", "channel", "state"),
)

# Counts kept as deliveries change (pipeline.counters), so the report and the overview
# read a few hundred rows instead of scanning the log. One row per local day
# (Asia/Shanghai), agency, measure, name and detail; ``slot`` spreads concurrent writers
# over several rows (readers add the slots up). pipeline.recount rebuilds them from the log.
counters = Table(
    "counters",
    metadata,
    Column("measure", String(16), primary_key=True),  # reached, kind, role, state, event
    Column("day", Date, primary_key=True),
    Column("agency_code", String(32), primary_key=True),
    Column("name", String(64), primary_key=True),  # the channel, the kind or the role
    Column("detail", String(64), primary_key=True),  # the channel's kind, the state, the outcome, ""
    Column("slot", Integer, primary_key=True),
    Column("n", BigInteger, nullable=False),
    Index("ix_counters_agency", "agency_code", "measure", "day"),
)

delivery_events = Table(
    "delivery_events",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("delivery_id", Id, ForeignKey("deliveries.id"), nullable=False, index=True),
    Column("at", UTCDateTime, nullable=False, index=True),
    Column("attempt", Integer, nullable=False),
    Column("worker", String(128), nullable=False),
    Column("outcome", String(32), nullable=False),
    Column("error_class", String(128)),
    Column("message", Text),
    Column("external_ref", JSON),
)

# One row: this installation's random id, made by the migration (or on first use), so that
# ids sent to shared outside systems (a WeChat clientmsgid) never collide with those of
# another installation, or of this one rebuilt, on the same account. Not configuration:
# a copied configuration file must not copy it.
installation = Table(
    "installation",
    metadata,
    Column("key", String(32), primary_key=True),
    Column("value", String(64), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
)

# What the checks found in a revision (pipeline.checks): shown on the console's item
# page and in the item API's answer; written in the intake's transaction
check_findings = Table(
    "check_findings",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("item_pk", Id, ForeignKey("items.pk"), nullable=False, index=True),
    Column("revision_pk", Id, ForeignKey("revisions.pk"), nullable=False, index=True),
    Column("revision", Integer, nullable=False),
    Column("agency_code", String(32), nullable=False),
    Column("check_name", String(32), nullable=False),
    Column("severity", String(8), nullable=False),
    Column("location", String(500), nullable=False),
    Column("found", Text, nullable=False),
    Column("suggestion", Text, nullable=False),
    Column("note", Text, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
)

# 政策解读: which items each revision interprets (pipeline.interpretations). Per revision,
# as what a revision says is fixed: the claim reads the list of the revision it sends, and
# a new revision may name other policies. Written in the intake's transaction.
interpretations = Table(
    "interpretations",
    metadata,
    Column("revision_pk", Id, ForeignKey("revisions.pk"), primary_key=True),
    Column("policy_pk", Id, ForeignKey("items.pk"), primary_key=True),
    # the interpreting item (not ``item_pk``: a subquery of a statement on deliveries
    # would read that name as its own column)
    Column("interpretation_pk", Id, ForeignKey("items.pk"), nullable=False),
    # a policy's interpretations (its page's 相关解读, the report's list, waking them)
    Index("ix_interpretations_policy", "policy_pk", "interpretation_pk"),
    Index("ix_interpretations_item", "interpretation_pk"),
)

# After publishing (pipeline.freshness): per agency, each column and 政务新媒体 account
# watched, its limit and its last publication as beat last looked, and the warning last
# sent to each destination ("warn@2026-11-18T02:00:00+00:00"), so a warning goes out once
freshness = Table(
    "freshness",
    metadata,
    Column("agency_code", String(32), primary_key=True),
    Column("subject", String(200), primary_key=True),
    Column("kind", String(8), nullable=False),
    Column("label", Text, nullable=False),
    Column("limit_days", Float, nullable=False),
    Column("warn_before_days", Float, nullable=False),
    Column("last_at", UTCDateTime),
    Column("checked_at", UTCDateTime, nullable=False),
    Column("webhook_sent", String(64)),
    Column("email_sent", String(64)),
)

blobs = Table(
    "blobs",
    metadata,
    Column("sha256", String(64), primary_key=True),
    Column("size", BigInteger, nullable=False),
    Column("data", LargeBinary, nullable=False),
)


def upsert(conn: Connection, table: Table) -> Any:
    """An INSERT that takes ``ON CONFLICT …`` clauses, on SQLite and PostgreSQL alike."""
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    return dialect.insert(table)


def insert_ignore(conn: Connection, table: Table, values: dict[str, Any]) -> bool:
    """INSERT … ON CONFLICT DO NOTHING on SQLite and PostgreSQL; True when a row went in.
    (SQLAlchemy 2.1 keeps an INSERT's rowcount only when asked: -1 on psycopg otherwise.)"""
    statement = upsert(conn, table).values(**values).on_conflict_do_nothing()
    result = conn.execute(statement, execution_options={"preserve_rowcount": True})
    return bool(result.rowcount == 1)


def make_engine(url: str) -> Engine:
    """An engine for SQLite (WAL, waits on locks) or PostgreSQL."""
    if url.startswith("sqlite"):
        path = make_url(url).database
        if path and not path.startswith(":"):  # "" and ":memory:" are in memory
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False})

        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_conn, _record):  # type: ignore[no-untyped-def]
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.close()
            dbapi_conn.isolation_level = None  # we issue BEGIN IMMEDIATE ourselves

        @event.listens_for(engine, "begin")
        def _begin(conn):  # type: ignore[no-untyped-def]
            conn.exec_driver_sql("BEGIN IMMEDIATE")

        return engine
    return create_engine(url, pool_pre_ping=True)
