"""Alembic environment: runs on the connection govpub hands it, against the core's and
the installed plug-ins' tables (see pipeline.schema)."""

from alembic import context

config = context.config
context.configure(
    connection=config.attributes["connection"],
    target_metadata=config.attributes["target_metadata"],
    render_as_batch=True,
)
with context.begin_transaction():
    context.run_migrations()
