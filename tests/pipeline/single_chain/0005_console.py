"""console: operator accounts, sessions, audit log; indexes for the console's lists
and counts ((channel, state) becomes (channel, state, created_at))

Revision ID: 0005_console
Revises: 0004_website
"""

import sqlalchemy as sa
from alembic import op

import pipeline.db

revision = "0005_console"
down_revision = "0004_website"
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "audit_log",
        sa.Column("id", Id, autoincrement=True, nullable=False),
        sa.Column("at", pipeline.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("action", sa.String(length=32), nullable=False),
        sa.Column("item_pk", Id, nullable=True),
        sa.Column("delivery_id", Id, nullable=True),
        sa.Column("detail", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_audit_log_at"), ["at"], unique=False)
        batch_op.create_index(batch_op.f("ix_audit_log_item_pk"), ["item_pk"], unique=False)

    op.create_table(
        "console_sessions",
        sa.Column("id_hash", sa.String(length=64), nullable=False),
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("created_at", pipeline.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("last_seen_at", pipeline.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", pipeline.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id_hash"),
    )
    with op.batch_alter_table("console_sessions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_console_sessions_username"), ["username"], unique=False)

    op.create_table(
        "console_users",
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("password_hash", sa.String(length=256), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("created_at", pipeline.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("disabled_at", pipeline.db.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("username"),
    )
    with op.batch_alter_table("deliveries", schema=None) as batch_op:
        batch_op.drop_index("ix_deliveries_channel_state")
        batch_op.create_index(
            "ix_deliveries_channel_state_created", ["channel", "state", "created_at"], unique=False
        )
        batch_op.create_index("ix_deliveries_state_id", ["state", "id"], unique=False)
        batch_op.create_index("ix_deliveries_created_at", ["created_at"], unique=False)
        batch_op.create_index("ix_deliveries_channel_delivered", ["channel", "delivered_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("deliveries", schema=None) as batch_op:
        batch_op.drop_index("ix_deliveries_channel_delivered")
        batch_op.drop_index("ix_deliveries_created_at")
        batch_op.drop_index("ix_deliveries_state_id")
        batch_op.drop_index("ix_deliveries_channel_state_created")
        batch_op.create_index("ix_deliveries_channel_state", ["channel", "state"], unique=False)

    op.drop_table("console_users")
    with op.batch_alter_table("console_sessions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_console_sessions_username"))
    op.drop_table("console_sessions")
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_audit_log_item_pk"))
        batch_op.drop_index(batch_op.f("ix_audit_log_at"))
    op.drop_table("audit_log")
