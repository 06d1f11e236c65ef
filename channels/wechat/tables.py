"""The tables of what the WeChat channel has done, beside the deliveries, in the channel's
own ``metadata`` (its plug-in's ``tables``), made by the revisions in
``channels/wechat/migrations``.

- ``wechat_jobs``: one row per ``freepublish/submit`` or mass send. A mass send's row
  (its window, its draft, its articles and a ``clientmsgid`` unique to this
  installation and this send) is written at the window's cut-off, *before* ``sendall``,
  so a redelivered task resumes that very send and WeChat's 45065 answers it with the
  first ``msg_id``; sent rows are the quota use. A send that cannot go out (no quota
  left) is abandoned: its articles are gathered again for the next window.
- ``wechat_previews``: each ``message/mass/preview`` of a send to an operator's phone.
- ``wechat_windows``: an operator's order to send a window's mass send now.
- ``wechat_articles``: which delivery is which article (1-based) of which job, so a
  delivery already in a send is never put into another, and a retraction finds an
  article whose delivery is still waiting for its result.
- ``wechat_outcomes``: final results, from the callback or a poll, keyed by job id;
  the first writer wins, so a replayed callback event is handled once.
- ``wechat_media``: uploaded images and covers by content hash, uploaded once.

Every table but the articles' (which hang off a job) names the ``account`` as well as
the channel: one WeChat channel serves several official accounts in platform mode
(``""`` the instance's own account; else the code of the agency that owns it). A
``publish_id`` or ``msg_id`` is unique only within its account, a media id is good only
on the account that uploaded it, and quotas and windows are the account's.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    Column,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from pipeline.db import Id, UTCDateTime

metadata = MetaData()

jobs = Table(
    "wechat_jobs",
    metadata,
    Column("pk", Id, primary_key=True, autoincrement=True),
    Column("channel", String(64), nullable=False),
    Column("account", String(32), nullable=False, server_default=""),
    Column("kind", String(16), nullable=False),
    Column("job_id", String(64)),
    Column("clientmsgid", String(64)),
    Column("media_id", String(128)),
    Column("period", String(10)),
    Column("created_at", UTCDateTime, nullable=False),
    Column("sent_at", UTCDateTime),
    Column("window", String(10)),  # a mass send's window: the local date it is sent
    Column("send_at", UTCDateTime),  # when it is due to go out
    Column("abandoned_at", UTCDateTime),  # never sent (no quota left): gathered again later
    Column("note", Text),
    UniqueConstraint("channel", "account", "kind", "job_id", name="uq_wechat_jobs_account_job"),
    UniqueConstraint("channel", "clientmsgid", name="uq_wechat_jobs_clientmsgid"),
    Index("ix_wechat_jobs_period", "channel", "kind", "period"),
)

articles = Table(
    "wechat_articles",
    metadata,
    Column("job_pk", Id, ForeignKey("wechat_jobs.pk"), primary_key=True),
    Column("idx", Integer, primary_key=True),
    Column("delivery_id", Id, nullable=False, index=True),
    Column("item_key", String(80), nullable=False, index=True),
)

outcomes = Table(
    "wechat_outcomes",
    metadata,
    Column("channel", String(64), primary_key=True),
    Column("account", String(32), primary_key=True, server_default=""),
    Column("kind", String(16), primary_key=True),
    Column("job_id", String(64), primary_key=True),
    Column("status", String(32), nullable=False),
    Column("result", JSON),
    Column("source", String(16), nullable=False),
    Column("at", UTCDateTime, nullable=False),
)

previews = Table(
    "wechat_previews",
    metadata,
    Column("pk", Id, primary_key=True, autoincrement=True),
    Column("job_pk", Id, ForeignKey("wechat_jobs.pk"), nullable=False, index=True),
    Column("recipient", String(64), nullable=False),
    Column("at", UTCDateTime, nullable=False),
    Column("msg_id", String(64)),
    Column("error", Text),
)

windows = Table(
    "wechat_windows",
    metadata,
    Column("channel", String(64), primary_key=True),
    Column("account", String(32), primary_key=True, server_default=""),
    Column("window", String(10), primary_key=True),
    Column("send_now_at", UTCDateTime, nullable=False),
    Column("send_now_by", String(128), nullable=False),
)

media = Table(
    "wechat_media",
    metadata,
    Column("channel", String(64), primary_key=True),
    Column("account", String(32), primary_key=True, server_default=""),
    Column("kind", String(16), primary_key=True),
    Column("sha256", String(64), primary_key=True),
    Column("media_id", String(128)),
    Column("url", String(1024)),
    Column("created_at", UTCDateTime, nullable=False),
)
