"""indexes for the website listings: now made by the core's 0004_listing_indexes

The indexes are on core tables (revisions, deliveries), so the core makes them; this
revision keeps its id, so a database that recorded it still finds it, and starts the
website's own branch.

Revision ID: 0004_website
Revises:
"""

revision = "0004_website"
down_revision = None
branch_labels = ("website",)
depends_on = None
legacy_order = 4  # its place in the single chain of before plug-ins (see pipeline.schema)


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
