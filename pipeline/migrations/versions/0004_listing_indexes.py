"""indexes for listing revisions newest first (whole column / year, category,
sub-category) and for an item's publications per channel

These were made by revision 0004 of the single chain of before plug-ins, which now
sits, emptied, in a channel's folder: indexes on core tables belong to the core.

Revision ID: 0004_listing_indexes
Revises: 0001
"""

from alembic import op

revision = "0004_listing_indexes"
down_revision = "0001"
branch_labels = None
depends_on = None
legacy_order = 4

REVISION_INDEXES = {
    "ix_revisions_listing": ["generated_on", "item_pk"],
    "ix_revisions_category_listing": ["category", "generated_on", "item_pk"],
    "ix_revisions_subcategory_listing": ["category", "subcategory", "generated_on", "item_pk"],
}
PUBLICATIONS = ["item_pk", "channel", "action", "state", "revision"]


def upgrade() -> None:
    with op.batch_alter_table("revisions", schema=None) as batch_op:
        for name, columns in REVISION_INDEXES.items():
            batch_op.create_index(name, columns, unique=False)
    with op.batch_alter_table("deliveries", schema=None) as batch_op:
        batch_op.create_index("ix_deliveries_item_publications", PUBLICATIONS, unique=False)


def downgrade() -> None:
    with op.batch_alter_table("deliveries", schema=None) as batch_op:
        batch_op.drop_index("ix_deliveries_item_publications")
    with op.batch_alter_table("revisions", schema=None) as batch_op:
        for name in REVISION_INDEXES:
            batch_op.drop_index(name)
