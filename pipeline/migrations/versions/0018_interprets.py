"""interpretations: the items each revision interprets (政策解读, issue 19)

Revision ID: 0018_interprets
Revises: 0015_checks
"""

import sqlalchemy as sa
from alembic import op

from pipeline.db import Id

revision = "0018_interprets"
down_revision = "0015_checks"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "interpretations",
        sa.Column("revision_pk", Id, sa.ForeignKey("revisions.pk"), primary_key=True),
        sa.Column("policy_pk", Id, sa.ForeignKey("items.pk"), primary_key=True),
        sa.Column("interpretation_pk", Id, sa.ForeignKey("items.pk"), nullable=False),
    )
    op.create_index("ix_interpretations_policy", "interpretations", ["policy_pk", "interpretation_pk"])
    op.create_index("ix_interpretations_item", "interpretations", ["interpretation_pk"])


def downgrade() -> None:
    op.drop_table("interpretations")
