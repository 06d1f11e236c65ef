"""email subscribers and sent messages (the first revision of the channel's own branch)

Revision ID: 0001_email
Revises:
"""

import sqlalchemy as sa
from alembic import op

import pipeline.db

revision = "0001_email"
down_revision = None
branch_labels = ("email",)
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "email_subscribers",
        sa.Column("id", Id, autoincrement=True, nullable=False),
        sa.Column("channel", sa.String(length=64), nullable=False),
        sa.Column("address", sa.String(length=254), nullable=False),
        sa.Column("scope", sa.String(length=100), nullable=False),
        sa.Column("mode", sa.String(length=16), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("created_at", pipeline.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("confirmed_at", pipeline.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("bounced_at", pipeline.db.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("channel", "address", "scope", name="uq_email_subscribers_scope"),
    )
    op.create_index("ix_email_subscribers_address", "email_subscribers", ["address"])
    op.create_table(
        "email_sends",
        sa.Column("message_id", sa.String(length=255), nullable=False),
        sa.Column("channel", sa.String(length=64), nullable=False),
        sa.Column("delivery_id", Id, nullable=True),
        sa.Column("recipient_hash", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("detail", sa.Text(), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("sent_at", pipeline.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("message_id"),
    )
    op.create_index("ix_email_sends_delivery", "email_sends", ["delivery_id"])
    op.create_index("ix_email_sends_recipient", "email_sends", ["recipient_hash"])


def downgrade() -> None:
    op.drop_table("email_sends")
    op.drop_table("email_subscribers")
