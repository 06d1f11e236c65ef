"""counters: per-day counts kept as deliveries change (issue 21), filled from the log

Revision ID: 0016_counters
Revises: 0020_freshness
"""

import sqlalchemy as sa
from alembic import op

from pipeline import recount

revision = "0016_counters"
down_revision = "0020_freshness"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "counters",
        sa.Column("measure", sa.String(16), primary_key=True),
        sa.Column("day", sa.Date, primary_key=True),
        sa.Column("agency_code", sa.String(32), primary_key=True),
        sa.Column("name", sa.String(64), primary_key=True),
        sa.Column("detail", sa.String(64), primary_key=True),
        sa.Column("slot", sa.Integer, primary_key=True),
        sa.Column("n", sa.BigInteger, nullable=False),
    )
    op.create_index("ix_counters_agency", "counters", ["agency_code", "measure", "day"])
    recount.fill(op.get_bind())  # one INSERT … SELECT per measure over the whole log


def downgrade() -> None:
    op.drop_table("counters")
