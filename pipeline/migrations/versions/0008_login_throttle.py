"""console_login_throttle: wrong passwords per account and per client address, so
every serve process refuses a guesser alike

Revision ID: 0008_login_throttle
Revises: 0007_lean_deliveries
"""

import sqlalchemy as sa
from alembic import op

import pipeline.db

revision = "0008_login_throttle"
down_revision = "0007_lean_deliveries"
branch_labels = None
depends_on = None
legacy_order = 8


def upgrade() -> None:
    op.create_table(
        "console_login_throttle",
        sa.Column("key", sa.String(length=100), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("last_failure_at", pipeline.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("blocked_until", pipeline.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("last_address", sa.String(length=64), nullable=True),
        sa.PrimaryKeyConstraint("key"),
    )
    with op.batch_alter_table("console_login_throttle", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_console_login_throttle_last_failure_at"), ["last_failure_at"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("console_login_throttle", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_console_login_throttle_last_failure_at"))
    op.drop_table("console_login_throttle")
