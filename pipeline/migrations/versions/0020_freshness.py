"""freshness: each column's and 政务新媒体 account's last publication and the warnings sent (issue 19)

Revision ID: 0020_freshness
Revises: 0018_interprets
"""

import sqlalchemy as sa
from alembic import op

from pipeline.db import UTCDateTime

revision = "0020_freshness"
down_revision = "0018_interprets"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "freshness",
        sa.Column("agency_code", sa.String(32), primary_key=True),
        sa.Column("subject", sa.String(200), primary_key=True),
        sa.Column("kind", sa.String(8), nullable=False),
        sa.Column("label", sa.Text, nullable=False),
        sa.Column("limit_days", sa.Float, nullable=False),
        sa.Column("warn_before_days", sa.Float, nullable=False),
        sa.Column("last_at", UTCDateTime),
        sa.Column("checked_at", UTCDateTime, nullable=False),
        sa.Column("webhook_sent", sa.String(64)),
        sa.Column("email_sent", sa.String(64)),
    )


def downgrade() -> None:
    op.drop_table("freshness")
