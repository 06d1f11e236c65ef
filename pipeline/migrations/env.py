"""Alembic environment: runs on the connection govpub hands it (see pipeline.schema)."""

from alembic import context

from pipeline.db import metadata

connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
