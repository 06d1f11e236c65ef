"""indexes on items for the feeds (newest first, in all and per agency)

Revision ID: 0006_feed
Revises: 0005_console
"""

from alembic import op

revision = "0006_feed"
down_revision = "0005_console"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("items", schema=None) as batch_op:
        batch_op.create_index("ix_items_created", ["created_at", "pk"], unique=False)
        batch_op.create_index("ix_items_agency_created", ["agency_code", "created_at", "pk"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("items", schema=None) as batch_op:
        batch_op.drop_index("ix_items_agency_created")
        batch_op.drop_index("ix_items_created")
