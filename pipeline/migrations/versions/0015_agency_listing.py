"""ix_revisions_agency_*listing: one agency's listings walked newest first

In platform mode each agency's column lists only its own revisions; without an index
leading with the agency, every listing query of a column (its census, its front pages)
walked the whole platform's revisions. The same three listings as 0004, per agency.

Revision ID: 0015_agency_listing
Revises: 0012_sources_bound
"""

from alembic import op

revision = "0015_agency_listing"
down_revision = "0012_sources_bound"
branch_labels = None
depends_on = None

INDEXES = {
    "ix_revisions_agency_listing": ["agency_code", "generated_on", "item_pk"],
    "ix_revisions_agency_category_listing": ["agency_code", "category", "generated_on", "item_pk"],
    "ix_revisions_agency_subcategory_listing": [
        "agency_code",
        "category",
        "subcategory",
        "generated_on",
        "item_pk",
    ],
}


def upgrade() -> None:
    for name, columns in INDEXES.items():
        op.create_index(name, "revisions", columns, unique=False)


def downgrade() -> None:
    for name in INDEXES:
        op.drop_index(name, table_name="revisions")
