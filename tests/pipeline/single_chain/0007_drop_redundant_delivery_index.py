"""drop ix_deliveries_item_channel: ix_deliveries_item_publications starts with the
same two columns, so it serves every lookup the smaller one did, and each state
change of a delivery wrote both

Revision ID: 0007_lean_deliveries
Revises: 0006_feed
"""

from alembic import op

revision = "0007_lean_deliveries"
down_revision = "0006_feed"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("deliveries", schema=None) as batch_op:
        batch_op.drop_index("ix_deliveries_item_channel")


def downgrade() -> None:
    with op.batch_alter_table("deliveries", schema=None) as batch_op:
        batch_op.create_index("ix_deliveries_item_channel", ["item_pk", "channel"], unique=False)
