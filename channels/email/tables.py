"""What the e-mail channel keeps: its subscribers (only what sending needs: address,
scope, mode, confirmation state, times) and the messages it sent (by Message-ID, the
recipient as a hash), so a retried delivery skips who already has it."""

from __future__ import annotations

from sqlalchemy import Column, Index, Integer, MetaData, String, Table, Text, UniqueConstraint

from pipeline.db import Id, UTCDateTime

metadata = MetaData()

email_subscribers = Table(
    "email_subscribers",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("channel", String(64), nullable=False),
    Column("address", String(254), nullable=False),
    Column("scope", String(100), nullable=False),  # all | agency:CODE | category:NAME
    Column("mode", String(16), nullable=False),  # item | digest
    Column("state", String(16), nullable=False),  # pending | confirmed | bounced
    Column("created_at", UTCDateTime, nullable=False),
    Column("confirmed_at", UTCDateTime),
    Column("bounced_at", UTCDateTime),
    UniqueConstraint("channel", "address", "scope", name="uq_email_subscribers_scope"),
    Index("ix_email_subscribers_address", "address"),
)

email_sends = Table(
    "email_sends",
    metadata,
    Column("message_id", String(255), primary_key=True),
    Column("channel", String(64), nullable=False),
    Column("delivery_id", Id),  # None: a confirmation or a digest
    Column("recipient_hash", String(64), nullable=False),
    Column("kind", String(16), nullable=False),  # item | retraction | digest | confirm
    Column("outcome", String(16), nullable=False),  # sent | refused
    Column("detail", Text),
    Column("attempts", Integer, nullable=False, default=1),
    Column("sent_at", UTCDateTime, nullable=False),
    Index("ix_email_sends_delivery", "delivery_id"),
    Index("ix_email_sends_recipient", "recipient_hash"),
)
