"""agencies: the registry of tenants, sources and console users bound to agencies,
agency_code on revisions, deliveries and the audit log, annual reports

The upgrade of a database made for one agency (every release before platform mode):
- one ``agencies`` row per code found in ``items`` and ``index_serials``, named after
  the newest revision's ``agency.name``; its column path is the one the configuration
  the upgrade runs with declares (``upgrade(…, agency_paths=…)``; ``govpub db upgrade``
  passes it), else the code in lower case;
- ``revisions.agency_code`` and ``deliveries.agency_code`` copied from their item, in
  ranges of pks so a large table is not updated in one statement; ``audit_log`` too;
- each source bound to the agencies of its items (a source with none: every agency);
- operators become admins (they ran the installation and keep acting on everything),
  auditors platform auditors; ``govpub users scope`` narrows them afterwards.
索引号, item pks and item URLs are not touched.

Revision ID: 0011_agencies
Revises: 0010_delivery_kind
"""

import re
from datetime import UTC, datetime

import sqlalchemy as sa
import structlog
from alembic import context, op

import pipeline.db

revision = "0011_agencies"
down_revision = "0010_delivery_kind"
branch_labels = None
depends_on = None

log = structlog.get_logger("govpub.schema")
CHUNK = 50_000
PATH = re.compile(r"[a-z0-9][a-z0-9-]{0,39}")

items = sa.table("items", sa.column("pk"), sa.column("source"), sa.column("agency_code"))
revisions = sa.table(
    "revisions", sa.column("pk"), sa.column("item_pk"), sa.column("agency_code"), sa.column("document")
)
deliveries = sa.table("deliveries", sa.column("id"), sa.column("item_pk"), sa.column("agency_code"))
serials = sa.table("index_serials", sa.column("agency_code"))
sources = sa.table("sources", sa.column("name"))
users = sa.table("console_users", sa.column("role"), sa.column("platform"))
audit = sa.table("audit_log", sa.column("item_pk"), sa.column("agency_code"))
installation = sa.table("installation", sa.column("key"), sa.column("value"), sa.column("created_at"))


def upgrade() -> None:
    op.create_table(
        "agencies",
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("parent_code", sa.String(length=32), nullable=True),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("path", sa.String(length=40), nullable=False),
        sa.Column("former_paths", sa.JSON(), nullable=False),
        sa.Column("column_name", sa.Text(), nullable=True),
        sa.Column("taxonomy", sa.JSON(), nullable=True),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("managed_by", sa.String(length=8), nullable=False),
        sa.Column("created_at", pipeline.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("retired_at", pipeline.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["parent_code"], ["agencies.code"]),
        sa.PrimaryKeyConstraint("code"),
        sa.UniqueConstraint("path"),
    )
    op.create_table(
        "source_agencies",
        sa.Column("source", sa.String(length=64), nullable=False),
        sa.Column("agency_code", sa.String(length=32), nullable=False),
        sa.ForeignKeyConstraint(["agency_code"], ["agencies.code"]),
        sa.ForeignKeyConstraint(["source"], ["sources.name"]),
        sa.PrimaryKeyConstraint("source", "agency_code"),
    )
    op.create_table(
        "annual_reports",
        sa.Column("agency_code", sa.String(length=32), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("item_pk", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("url", sa.Text(), nullable=True),
        sa.Column("published_at", pipeline.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("recorded_by", sa.String(length=64), nullable=False),
        sa.Column("recorded_at", pipeline.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["agency_code"], ["agencies.code"]),
        sa.ForeignKeyConstraint(["item_pk"], ["items.pk"]),
        sa.PrimaryKeyConstraint("agency_code", "year"),
    )
    with op.batch_alter_table("console_users") as batch:
        batch.add_column(sa.Column("platform", sa.Boolean(), server_default=sa.false(), nullable=False))
        batch.add_column(sa.Column("api_token_hash", sa.String(length=64), nullable=True))
        batch.create_unique_constraint("uq_console_users_api_token_hash", ["api_token_hash"])
    op.create_table(
        "console_user_agencies",
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("agency_code", sa.String(length=32), nullable=False),
        sa.ForeignKeyConstraint(["agency_code"], ["agencies.code"]),
        sa.ForeignKeyConstraint(["username"], ["console_users.username"]),
        sa.PrimaryKeyConstraint("username", "agency_code"),
    )
    # NOT NULL needs a default to add a column on SQLite; every row gets its code below
    for table in ("revisions", "deliveries"):
        op.add_column(
            table, sa.Column("agency_code", sa.String(length=32), nullable=False, server_default="")
        )
    op.add_column("audit_log", sa.Column("agency_code", sa.String(length=32), nullable=True))

    register_existing_agencies()
    copy_agency_codes()
    bind_sources()
    op.execute(users.update().where(users.c.role == "operator").values(role="admin"))
    op.execute(users.update().where(users.c.role == "auditor").values(platform=True))
    op.execute(installation.insert().values(key="agencies_version", value="1", created_at=datetime.now(UTC)))

    if op.get_bind().dialect.name != "sqlite":  # SQLite cannot drop a default in place
        for table in ("revisions", "deliveries"):
            op.alter_column(table, "agency_code", server_default=None)
    op.create_index("ix_items_agency_pk", "items", ["agency_code", "pk"])
    op.create_index("ix_deliveries_agency_id", "deliveries", ["agency_code", "id"])
    op.create_index("ix_deliveries_agency_state_id", "deliveries", ["agency_code", "state", "id"])
    op.create_index("ix_deliveries_agency_delivered", "deliveries", ["agency_code", "delivered_at"])
    op.create_index("ix_audit_log_agency_at", "audit_log", ["agency_code", "at"])


def register_existing_agencies() -> None:
    conn = op.get_bind()
    codes = {row[0] for row in conn.execute(sa.select(items.c.agency_code).distinct())}
    codes |= {row[0] for row in conn.execute(sa.select(serials.c.agency_code).distinct())}
    declared: dict[str, str] = context.config.attributes.get("agency_paths") or {}
    taken: set[str] = set()
    rows = []
    now = datetime.now(UTC)
    for code in sorted(codes):
        rows.append(
            {
                "code": code,
                "name": _newest_name(conn, code) or code,
                "parent_code": None,
                "kind": "department",
                "path": _free_path(declared.get(code) or code.lower(), taken),
                "former_paths": [],
                "column_name": None,
                "taxonomy": None,
                "position": 0,
                "managed_by": "cli",
                "created_at": now,
                "retired_at": None,
            }
        )
    if rows:
        op.bulk_insert(pipeline.db.agencies, rows)
    log.info("agencies registered from the items", count=len(rows))


def _newest_name(conn: sa.Connection, code: str) -> str | None:
    document = conn.execute(
        sa.select(revisions.c.document)
        .join(items, items.c.pk == revisions.c.item_pk)
        .where(items.c.agency_code == code)
        .order_by(revisions.c.pk.desc())
        .limit(1)
    ).scalar()
    if isinstance(document, str):  # SQLite's JSON through a lightweight table
        import json

        document = json.loads(document)
    name = ((document or {}).get("agency") or {}).get("name")
    return name if isinstance(name, str) and name.strip() else None


def _free_path(wanted: str, taken: set[str]) -> str:
    path = re.sub(r"[^a-z0-9-]", "-", wanted.lower()).strip("-")[:36] or "agency"
    if not PATH.fullmatch(path):
        path = "a" + path[:35]
    candidate, n = path, 1
    while candidate in taken:
        n += 1
        candidate = f"{path}-{n}"
    taken.add(candidate)
    return candidate


def copy_agency_codes() -> None:
    """The item's code onto its revisions and deliveries, a range of pks at a time."""
    conn = op.get_bind()
    for table, key in ((revisions, revisions.c.pk), (deliveries, deliveries.c.id)):
        top = conn.execute(sa.select(sa.func.max(key))).scalar() or 0
        of_item = sa.select(items.c.agency_code).where(items.c.pk == table.c.item_pk).scalar_subquery()
        for start in range(0, top + 1, CHUNK):
            conn.execute(table.update().where(key >= start, key < start + CHUNK).values(agency_code=of_item))
            if top > CHUNK:
                log.info("agency codes copied", table=table.name, upto=min(start + CHUNK, top), of=top)
    of_audited = sa.select(items.c.agency_code).where(items.c.pk == audit.c.item_pk).scalar_subquery()
    conn.execute(audit.update().where(audit.c.item_pk.is_not(None)).values(agency_code=of_audited))


def bind_sources() -> None:
    """Each source to the agencies of its items; one with no items yet to every agency."""
    conn = op.get_bind()
    every = [row[0] for row in conn.execute(sa.select(pipeline.db.agencies.c.code))]
    used: dict[str, set[str]] = {}
    for source, code in conn.execute(sa.select(items.c.source, items.c.agency_code).distinct()):
        used.setdefault(source, set()).add(code)
    rows = [
        {"source": name, "agency_code": code}
        for (name,) in conn.execute(sa.select(sources.c.name))
        for code in sorted(used.get(name) or every)
    ]
    if rows:
        op.bulk_insert(pipeline.db.source_agencies, rows)


def downgrade() -> None:
    op.drop_index("ix_audit_log_agency_at", table_name="audit_log")
    op.drop_index("ix_deliveries_agency_delivered", table_name="deliveries")
    op.drop_index("ix_deliveries_agency_state_id", table_name="deliveries")
    op.drop_index("ix_deliveries_agency_id", table_name="deliveries")
    op.drop_index("ix_items_agency_pk", table_name="items")
    op.execute(installation.delete().where(installation.c.key == "agencies_version"))
    op.execute(users.update().where(users.c.role == "admin").values(role="operator"))
    op.drop_table("console_user_agencies")
    op.drop_table("annual_reports")
    op.drop_table("source_agencies")
    for table in ("audit_log", "deliveries", "revisions"):
        # in place (SQLite 3.35+ too): a batch copy would drop tables other tables refer to
        op.drop_column(table, "agency_code")
    with op.batch_alter_table("console_users") as batch:
        batch.drop_constraint("uq_console_users_api_token_hash", type_="unique")
        batch.drop_column("api_token_hash")
        batch.drop_column("platform")
    op.drop_table("agencies")
