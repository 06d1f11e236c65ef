"""indexes on items, newest first, in all and per agency

Made by revision 0006 of the single chain of before plug-ins, which now sits, emptied,
in a channel's folder: indexes on core tables belong to the core.

Revision ID: 0006_item_indexes
Revises: 0005_console
"""

from alembic import op

revision = "0006_item_indexes"
down_revision = "0005_console"
branch_labels = None
depends_on = None
legacy_order = 6


def upgrade() -> None:
    with op.batch_alter_table("items", schema=None) as batch_op:
        batch_op.create_index("ix_items_created", ["created_at", "pk"], unique=False)
        batch_op.create_index("ix_items_agency_created", ["agency_code", "created_at", "pk"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("items", schema=None) as batch_op:
        batch_op.drop_index("ix_items_agency_created")
        batch_op.drop_index("ix_items_created")
