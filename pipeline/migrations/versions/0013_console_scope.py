"""ix_deliveries_agency_created: a scoped console user's overview counts its agencies'
deliveries of this year (per channel and state) from one range of this index, instead
of every delivery of its agencies since the beginning (ix_deliveries_agency_id) or
every agency's of this year (ix_deliveries_created_at)

Revision ID: 0013_console_scope
Revises: 0011_agencies
"""

from alembic import op

revision = "0013_console_scope"
down_revision = "0011_agencies"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        "ix_deliveries_agency_created", "deliveries", ["agency_code", "created_at", "channel", "state"]
    )


def downgrade() -> None:
    op.drop_index("ix_deliveries_agency_created", table_name="deliveries")
