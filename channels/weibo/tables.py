"""The Weibo channel's own tables (its plug-in's ``tables``; made by
``channels/weibo/migrations``).

- ``weibo_posts``: every post a delivery made (or found already made: ``adopted``),
  per channel and account (``""`` the instance's own, else the agency whose overlay
  gives it an account of its own); ``deleted_at`` once destroyed.
- ``weibo_tokens``: the access token in use per account when it is not the configured
  one (renewed), with what is known of its expiry; ``base`` fingerprints the configured
  token it descends from, so an operator's new authorisation wins over an old renewal.
"""

from __future__ import annotations

from sqlalchemy import Boolean, Column, Index, Integer, MetaData, String, Table, Text, UniqueConstraint

from pipeline.db import Id, UTCDateTime

metadata = MetaData()

posts = Table(
    "weibo_posts",
    metadata,
    Column("pk", Id, primary_key=True, autoincrement=True),
    Column("channel", String(64), nullable=False),
    Column("account", String(64), nullable=False),
    Column("delivery_id", Id, nullable=False),
    Column("source", String(64), nullable=False),
    Column("item_id", String(128), nullable=False),
    Column("revision", Integer, nullable=False),
    Column("post_id", String(64), nullable=False),
    Column("uid", String(64), nullable=False),
    Column("text", Text, nullable=False),
    Column("adopted", Boolean, nullable=False, default=False),
    Column("posted_at", UTCDateTime, nullable=False),
    Column("deleted_at", UTCDateTime),
    UniqueConstraint("channel", "delivery_id", name="uq_weibo_posts_delivery"),
    Index("ix_weibo_posts_item", "channel", "account", "source", "item_id"),
    Index("ix_weibo_posts_hour", "channel", "account", "posted_at"),
)

tokens = Table(
    "weibo_tokens",
    metadata,
    Column("channel", String(64), primary_key=True),
    Column("account", String(64), primary_key=True),
    Column("base", String(64), nullable=False),
    Column("access_token", Text, nullable=False),
    Column("refresh_token", Text),
    Column("expires_at", UTCDateTime),
    Column("obtained_at", UTCDateTime, nullable=False),
)
