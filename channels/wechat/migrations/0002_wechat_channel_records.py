"""wechat channel records (the first revision of the channel's own branch)

Revision ID: 0002_wechat
Revises:
"""

import sqlalchemy as sa
from alembic import op

import pipeline.db

revision = "0002_wechat"
down_revision = None
branch_labels = ("wechat",)
depends_on = None
legacy_order = 2  # its place in the single chain of before plug-ins (see pipeline.schema)


def upgrade() -> None:

    op.create_table(
        "wechat_jobs",
        sa.Column(
            "pk", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("channel", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("job_id", sa.String(length=64), nullable=True),
        sa.Column("clientmsgid", sa.String(length=64), nullable=True),
        sa.Column("media_id", sa.String(length=128), nullable=True),
        sa.Column("period", sa.String(length=10), nullable=True),
        sa.Column("created_at", pipeline.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("sent_at", pipeline.db.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("pk"),
        sa.UniqueConstraint("channel", "clientmsgid", name="uq_wechat_jobs_clientmsgid"),
        sa.UniqueConstraint("channel", "kind", "job_id", name="uq_wechat_jobs_job"),
    )
    with op.batch_alter_table("wechat_jobs", schema=None) as batch_op:
        batch_op.create_index("ix_wechat_jobs_period", ["channel", "kind", "period"], unique=False)

    op.create_table(
        "wechat_media",
        sa.Column("channel", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("media_id", sa.String(length=128), nullable=True),
        sa.Column("url", sa.String(length=1024), nullable=True),
        sa.Column("created_at", pipeline.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("channel", "kind", "sha256"),
    )
    op.create_table(
        "wechat_outcomes",
        sa.Column("channel", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("job_id", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("result", sa.JSON(), nullable=True),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("at", pipeline.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("channel", "kind", "job_id"),
    )
    op.create_table(
        "wechat_articles",
        sa.Column("job_pk", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("idx", sa.Integer(), nullable=False),
        sa.Column("delivery_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("item_key", sa.String(length=80), nullable=False),
        sa.ForeignKeyConstraint(
            ["job_pk"],
            ["wechat_jobs.pk"],
        ),
        sa.PrimaryKeyConstraint("job_pk", "idx"),
    )
    with op.batch_alter_table("wechat_articles", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_wechat_articles_delivery_id"), ["delivery_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_wechat_articles_item_key"), ["item_key"], unique=False)


def downgrade() -> None:

    with op.batch_alter_table("wechat_articles", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_wechat_articles_item_key"))
        batch_op.drop_index(batch_op.f("ix_wechat_articles_delivery_id"))

    op.drop_table("wechat_articles")
    op.drop_table("wechat_outcomes")
    op.drop_table("wechat_media")
    with op.batch_alter_table("wechat_jobs", schema=None) as batch_op:
        batch_op.drop_index("ix_wechat_jobs_period")

    op.drop_table("wechat_jobs")
