"""installation id; WeChat mass sends by window (previews, an operator's send-now order,
abandoned sends)

Revision ID: 0009_wechat_broadcast
Revises: 0008_login_throttle
"""

import secrets
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

import pipeline.db

revision = "0009_wechat_broadcast"
down_revision = "0008_login_throttle"
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    installation = op.create_table(
        "installation",
        sa.Column("key", sa.String(length=32), nullable=False),
        sa.Column("value", sa.String(length=64), nullable=False),
        sa.Column("created_at", pipeline.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("key"),
    )
    op.bulk_insert(
        installation, [{"key": "id", "value": secrets.token_hex(8), "created_at": datetime.now(UTC)}]
    )
    with op.batch_alter_table("wechat_jobs", schema=None) as batch_op:
        batch_op.add_column(sa.Column("window", sa.String(length=10), nullable=True))
        batch_op.add_column(sa.Column("send_at", pipeline.db.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("abandoned_at", pipeline.db.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("note", sa.Text(), nullable=True))
    op.create_table(
        "wechat_previews",
        sa.Column("pk", ID, autoincrement=True, nullable=False),
        sa.Column("job_pk", ID, nullable=False),
        sa.Column("recipient", sa.String(length=64), nullable=False),
        sa.Column("at", pipeline.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("msg_id", sa.String(length=64), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(["job_pk"], ["wechat_jobs.pk"]),
        sa.PrimaryKeyConstraint("pk"),
    )
    with op.batch_alter_table("wechat_previews", schema=None) as batch_op:
        batch_op.create_index("ix_wechat_previews_job_pk", ["job_pk"], unique=False)
    op.create_table(
        "wechat_windows",
        sa.Column("channel", sa.String(length=64), nullable=False),
        sa.Column("window", sa.String(length=10), nullable=False),
        sa.Column("send_now_at", pipeline.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("send_now_by", sa.String(length=128), nullable=False),
        sa.PrimaryKeyConstraint("channel", "window"),
    )


def downgrade() -> None:
    op.drop_table("wechat_windows")
    with op.batch_alter_table("wechat_previews", schema=None) as batch_op:
        batch_op.drop_index("ix_wechat_previews_job_pk")
    op.drop_table("wechat_previews")
    with op.batch_alter_table("wechat_jobs", schema=None) as batch_op:
        batch_op.drop_column("note")
        batch_op.drop_column("abandoned_at")
        batch_op.drop_column("send_at")
        batch_op.drop_column("window")
    op.drop_table("installation")
