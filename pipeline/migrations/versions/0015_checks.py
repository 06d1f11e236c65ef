"""check_findings: what the compliance checks found in each revision (issue 19)

Revision ID: 0015_checks
Revises: 0015_agency_listing
"""

import sqlalchemy as sa
from alembic import op

from pipeline.db import Id, UTCDateTime

revision = "0015_checks"
down_revision = "0015_agency_listing"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "check_findings",
        sa.Column("id", Id, primary_key=True, autoincrement=True),
        sa.Column("item_pk", Id, sa.ForeignKey("items.pk"), nullable=False),
        sa.Column("revision_pk", Id, sa.ForeignKey("revisions.pk"), nullable=False),
        sa.Column("revision", sa.Integer, nullable=False),
        sa.Column("agency_code", sa.String(32), nullable=False),
        sa.Column("check_name", sa.String(32), nullable=False),
        sa.Column("severity", sa.String(8), nullable=False),
        sa.Column("location", sa.String(500), nullable=False),
        sa.Column("found", sa.Text, nullable=False),
        sa.Column("suggestion", sa.Text, nullable=False),
        sa.Column("note", sa.Text, nullable=False),
        sa.Column("created_at", UTCDateTime, nullable=False),
    )
    op.create_index("ix_check_findings_item_pk", "check_findings", ["item_pk"])
    op.create_index("ix_check_findings_revision_pk", "check_findings", ["revision_pk"])


def downgrade() -> None:
    op.drop_table("check_findings")
