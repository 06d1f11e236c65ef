"""initial schema

Revision ID: 0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

import pipeline.db

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:

    op.create_table(
        "blobs",
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("sha256"),
    )
    op.create_table(
        "index_serials",
        sa.Column("agency_code", sa.String(length=32), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("last_serial", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("agency_code", "year"),
    )
    op.create_table(
        "items",
        sa.Column(
            "pk",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("source", sa.String(length=64), nullable=False),
        sa.Column("item_id", sa.String(length=128), nullable=False),
        sa.Column("index_no", sa.String(length=64), nullable=False),
        sa.Column("agency_code", sa.String(length=32), nullable=False),
        sa.Column("latest_revision", sa.Integer(), nullable=False),
        sa.Column("created_at", pipeline.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("retracted_at", pipeline.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("retract_reason", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("pk"),
        sa.UniqueConstraint("index_no"),
        sa.UniqueConstraint("source", "item_id", name="uq_items_source_id"),
    )
    op.create_table(
        "sources",
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", pipeline.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", pipeline.db.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("name"),
        sa.UniqueConstraint("token_hash"),
    )
    op.create_table(
        "revisions",
        sa.Column(
            "pk",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("item_pk", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("body_hash", sa.String(length=64), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("category", sa.String(length=64), nullable=False),
        sa.Column("subcategory", sa.String(length=64), nullable=True),
        sa.Column("genre", sa.String(length=64), nullable=True),
        sa.Column("validity", sa.String(length=16), nullable=True),
        sa.Column("generated_on", sa.Date(), nullable=False),
        sa.Column("accepted_at", pipeline.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("document", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["item_pk"],
            ["items.pk"],
        ),
        sa.PrimaryKeyConstraint("pk"),
        sa.UniqueConstraint("item_pk", "revision", name="uq_revisions_item_revision"),
    )
    op.create_table(
        "deliveries",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("item_pk", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("revision_pk", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(length=64), nullable=False),
        sa.Column("action", sa.String(length=16), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("claim_no", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", pipeline.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("lease_until", pipeline.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("claimed_by", sa.String(length=128), nullable=True),
        sa.Column("external_ref", sa.JSON(), nullable=True),
        sa.Column("progress", sa.JSON(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("last_error_class", sa.String(length=128), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("created_at", pipeline.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", pipeline.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("delivered_at", pipeline.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["item_pk"],
            ["items.pk"],
        ),
        sa.ForeignKeyConstraint(
            ["revision_pk"],
            ["revisions.pk"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("revision_pk", "channel", "action", name="uq_deliveries_revision_channel"),
    )
    with op.batch_alter_table("deliveries", schema=None) as batch_op:
        batch_op.create_index("ix_deliveries_channel_state", ["channel", "state"], unique=False)
        batch_op.create_index("ix_deliveries_delivered_at", ["delivered_at"], unique=False)
        batch_op.create_index("ix_deliveries_item_channel", ["item_pk", "channel"], unique=False)
        batch_op.create_index("ix_deliveries_state_next", ["state", "next_attempt_at"], unique=False)

    op.create_table(
        "delivery_events",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("delivery_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("at", pipeline.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("worker", sa.String(length=128), nullable=False),
        sa.Column("outcome", sa.String(length=32), nullable=False),
        sa.Column("error_class", sa.String(length=128), nullable=True),
        sa.Column("message", sa.Text(), nullable=True),
        sa.Column("external_ref", sa.JSON(), nullable=True),
        sa.ForeignKeyConstraint(
            ["delivery_id"],
            ["deliveries.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("delivery_events", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_delivery_events_at"), ["at"], unique=False)
        batch_op.create_index(batch_op.f("ix_delivery_events_delivery_id"), ["delivery_id"], unique=False)


def downgrade() -> None:

    with op.batch_alter_table("delivery_events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_delivery_events_delivery_id"))
        batch_op.drop_index(batch_op.f("ix_delivery_events_at"))

    op.drop_table("delivery_events")
    with op.batch_alter_table("deliveries", schema=None) as batch_op:
        batch_op.drop_index("ix_deliveries_state_next")
        batch_op.drop_index("ix_deliveries_item_channel")
        batch_op.drop_index("ix_deliveries_delivered_at")
        batch_op.drop_index("ix_deliveries_channel_state")

    op.drop_table("deliveries")
    op.drop_table("revisions")
    op.drop_table("sources")
    op.drop_table("items")
    op.drop_table("index_serials")
    op.drop_table("blobs")
