"""Migrations: one head, and they build exactly the tables the code declares."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory

from pipeline.db import make_engine, metadata
from pipeline.schema import MIGRATIONS, alembic_config, upgrade


def test_migrations_have_one_head() -> None:
    cfg = alembic_config(make_engine("sqlite://"))
    assert len(ScriptDirectory.from_config(cfg).get_heads()) == 1
    assert MIGRATIONS.is_dir()


def test_migrations_match_the_table_definitions(db_url: str) -> None:
    engine = make_engine(db_url)
    upgrade(engine)
    upgrade(engine)  # a second upgrade is a no-op
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), metadata)
    assert diff == []
