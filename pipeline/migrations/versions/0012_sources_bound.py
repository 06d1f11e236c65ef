"""items.agency_code refers to agencies.code: an item is always a registered agency's

The intake refuses unregistered codes since sources are bound to agencies (issue 18,
P2), so the database says it too. 0011 registered an agency per code found; a code
stored after it and still unregistered (an installation that ran in between) is
registered here first, under its code as its name, so the key holds for every row.
On SQLite the table is copied (batch): pipeline.schema.upgrade runs the migrations
with foreign-key enforcement off and checks every key before the commit, SQLite's own
recipe for a table other tables refer to.

Revision ID: 0012_sources_bound
Revises: 0013_console_scope
"""

import re
from datetime import UTC, datetime

import sqlalchemy as sa
import structlog
from alembic import op

import pipeline.db

revision = "0012_sources_bound"
down_revision = "0013_console_scope"
branch_labels = None
depends_on = None

log = structlog.get_logger("govpub.schema")
FK = "fk_items_agency_code_agencies"
items = sa.table("items", sa.column("agency_code"))
agencies = sa.table("agencies", sa.column("code"), sa.column("path"))


def upgrade() -> None:
    register_orphans()
    with op.batch_alter_table("items") as batch:
        batch.create_foreign_key(FK, "agencies", ["agency_code"], ["code"])


def register_orphans() -> None:
    conn = op.get_bind()
    known = set(conn.execute(sa.select(agencies.c.code)).scalars())
    found = set(conn.execute(sa.select(items.c.agency_code).distinct()).scalars())
    orphans = sorted(found - known)
    if not orphans:
        return
    taken = set(conn.execute(sa.select(agencies.c.path)).scalars())
    now = datetime.now(UTC)
    rows = []
    for code in orphans:
        path = base = re.sub(r"[^a-z0-9-]", "-", code.lower())[:36]
        n = 1
        while path in taken:
            n += 1
            path = f"{base}-{n}"
        taken.add(path)
        rows.append(
            {
                "code": code, "name": code, "parent_code": None, "kind": "department", "path": path,
                "former_paths": [], "column_name": None, "taxonomy": None, "position": 0,
                "managed_by": "cli", "created_at": now, "retired_at": None,
            }
        )  # fmt: skip
    op.bulk_insert(pipeline.db.agencies, rows)
    log.warning("agencies registered for items of unregistered codes", codes=orphans)


def downgrade() -> None:
    with op.batch_alter_table("items") as batch:
        batch.drop_constraint(FK, type_="foreignkey")
