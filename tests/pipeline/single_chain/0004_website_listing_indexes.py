"""indexes for the website listings

Revision ID: 0004_website
Revises: 0003_archive
"""

from alembic import op

revision = "0004_website"
down_revision = "0003_archive"
branch_labels = None
depends_on = None

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
