"""installation id: one random id per installation, made once

Made by revision 0009 of the single chain of before plug-ins together with a channel's
tables; that revision now sits in the channel's folder and keeps only the channel's part.

Revision ID: 0009_installation
Revises: 0008_login_throttle
"""

import secrets
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

import pipeline.db

revision = "0009_installation"
down_revision = "0008_login_throttle"
branch_labels = None
depends_on = None
legacy_order = 9


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


def downgrade() -> None:
    op.drop_table("installation")
