"""indexes on items for the feeds: now made by the core's 0006_item_indexes

The indexes are on a core table (items), so the core makes them; this revision keeps
its id, so a database that recorded it still finds it, and starts the feed's own branch.

Revision ID: 0006_feed
Revises:
"""

revision = "0006_feed"
down_revision = None
branch_labels = ("feed",)
depends_on = None
legacy_order = 6  # its place in the single chain of before plug-ins (see pipeline.schema)


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
