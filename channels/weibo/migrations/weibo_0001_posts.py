"""weibo channel: posts per delivery, renewed tokens (the first revision of its branch)

Revision ID: weibo_0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

import pipeline.db

revision = "weibo_0001"
down_revision = None
branch_labels = ("weibo",)
depends_on = "0001"

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "weibo_posts",
        sa.Column("pk", Id, autoincrement=True, nullable=False),
        sa.Column("channel", sa.String(length=64), nullable=False),
        sa.Column("account", sa.String(length=64), nullable=False),
        sa.Column("delivery_id", Id, nullable=False),
        sa.Column("source", sa.String(length=64), nullable=False),
        sa.Column("item_id", sa.String(length=128), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("post_id", sa.String(length=64), nullable=False),
        sa.Column("uid", sa.String(length=64), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("adopted", sa.Boolean(), nullable=False),
        sa.Column("posted_at", pipeline.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("deleted_at", pipeline.db.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("pk"),
        sa.UniqueConstraint("channel", "delivery_id", name="uq_weibo_posts_delivery"),
    )
    op.create_index("ix_weibo_posts_item", "weibo_posts", ["channel", "account", "source", "item_id"])
    op.create_index("ix_weibo_posts_hour", "weibo_posts", ["channel", "account", "posted_at"])
    op.create_table(
        "weibo_tokens",
        sa.Column("channel", sa.String(length=64), nullable=False),
        sa.Column("account", sa.String(length=64), nullable=False),
        sa.Column("base", sa.String(length=64), nullable=False),
        sa.Column("access_token", sa.Text(), nullable=False),
        sa.Column("refresh_token", sa.Text(), nullable=True),
        sa.Column("expires_at", pipeline.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("obtained_at", pipeline.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("channel", "account"),
    )


def downgrade() -> None:
    op.drop_table("weibo_tokens")
    op.drop_index("ix_weibo_posts_hour", table_name="weibo_posts")
    op.drop_index("ix_weibo_posts_item", table_name="weibo_posts")
    op.drop_table("weibo_posts")
