"""deliveries.kind: the channel kind each delivery was made for, set at intake

Backfill, for the rows made before: a channel named in the configuration the upgrade
runs with (``upgrade(engine, channel_kinds=…)``; ``govpub db upgrade`` passes it) gets
its configured kind; any other channel keeps its name as its kind, which is right for
the default configuration (channels named after their kind) and otherwise names a
kind no plug-in has, which the report counts as another channel and the console
shows by that name.

Revision ID: 0010_delivery_kind
Revises: 0009_installation
"""

import sqlalchemy as sa
from alembic import context, op

revision = "0010_delivery_kind"
down_revision = "0009_installation"
branch_labels = None
depends_on = None

deliveries = sa.table("deliveries", sa.column("channel", sa.String), sa.column("kind", sa.String))


def upgrade() -> None:
    # NOT NULL needs a default to add a column on SQLite; rows get their kind just below
    op.add_column("deliveries", sa.Column("kind", sa.String(length=64), nullable=False, server_default=""))
    configured = context.config.attributes.get("channel_kinds") or {}
    for channel, kind in configured.items():
        op.execute(deliveries.update().where(deliveries.c.channel == channel).values(kind=kind))
    op.execute(deliveries.update().where(deliveries.c.kind == "").values(kind=deliveries.c.channel))
    if op.get_bind().dialect.name != "sqlite":  # SQLite cannot drop a default in place
        op.alter_column("deliveries", "kind", server_default=None)


def downgrade() -> None:
    with op.batch_alter_table("deliveries", schema=None) as batch_op:
        batch_op.drop_column("kind")
