"""The archive packages made so far, and which deliveries each one holds.

A package is frozen once: its members are chosen in one transaction and never
change, so re-exporting it rebuilds the same bytes, and a delivery that becomes due
after its period was exported joins a later package instead. ``snapshot`` keeps
what the package says about a member that could otherwise change later (the
item's delivery history on the other channels, the retraction reason).

The tables live in the channel's own ``metadata`` (its plug-in's ``tables``), made by
the revisions in ``channels/archive/migrations``.
"""

from __future__ import annotations

from sqlalchemy import JSON, BigInteger, Column, ForeignKey, Index, Integer, MetaData, String, Table, Text

from pipeline.db import Id, UTCDateTime, deliveries, revisions

metadata = MetaData()

archive_packages = Table(
    "archive_packages",
    metadata,
    Column("package_id", String(200), primary_key=True),
    Column("receiver", String(64), nullable=False),
    Column("period", String(200), nullable=False),
    Column("period_start", UTCDateTime, nullable=False),
    Column("period_end", UTCDateTime, nullable=False),
    Column("frozen_at", UTCDateTime, nullable=False),
    Column("item_count", Integer, nullable=False),
    Column("retraction_count", Integer, nullable=False),
    Column("file_name", String(255)),
    Column("sha256", String(64)),
    Column("size", BigInteger),
    Column("built_at", UTCDateTime),
    Column("receipt", Text),
    Column("confirmed_at", UTCDateTime),
    Column("last_error", Text),
    # whose items: one package per (receiver, agency, period); a per-item package's too
    Column("agency_code", String(32)),
    Index("ix_archive_packages_receiver_end", "receiver", "period_end"),
    Index("ix_archive_packages_receiver_agency_period", "receiver", "agency_code", "period"),
)

archive_members = Table(
    "archive_members",
    metadata,
    Column("delivery_id", Id, ForeignKey(deliveries.c.id), primary_key=True),
    Column("package_id", String(200), ForeignKey("archive_packages.package_id"), nullable=False),
    Column("index_no", String(64), nullable=False),
    Column("action", String(16), nullable=False),
    Column("revision_pk", Id, ForeignKey(revisions.c.pk), nullable=False),
    Column("snapshot", JSON, nullable=False),
    Index("ix_archive_members_package", "package_id", "index_no"),
)
