"""Migrations: one head per branch (the core's and each plug-in's), and they build
exactly the tables the code declares, with or without a plug-in."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util import CommandError
from sqlalchemy import inspect, text

from pipeline import registry
from pipeline.db import make_engine
from pipeline.schema import CORE_VERSIONS, alembic_config, pending, target_metadata, upgrade


def test_each_branch_has_one_head() -> None:
    script = ScriptDirectory.from_config(alembic_config(make_engine("sqlite://")))
    heads = script.get_heads()
    branches = {label for head in heads for label in script.get_revision(head).branch_labels}
    with_migrations = {kind for kind, p in registry.plugins().items() if p.migrations is not None}
    assert branches == {"core"} | with_migrations
    assert len(heads) == len(branches)
    assert CORE_VERSIONS.is_dir()


def test_migrations_match_the_table_definitions(db_url: str) -> None:
    engine = make_engine(db_url)
    upgrade(engine)
    upgrade(engine)  # a second upgrade is a no-op
    with engine.connect() as conn:
        diff = compare_metadata(
            MigrationContext.configure(conn), target_metadata(registry.plugins().values())
        )
    assert diff == []
    assert pending(engine) == []


def test_a_plugin_not_installed_gets_no_tables(db_url: str) -> None:
    with_tables = [kind for kind, p in registry.plugins().items() if p.tables is not None]
    assert with_tables, "no installed plug-in keeps tables of its own"
    gone = with_tables[0]
    engine = make_engine(db_url)
    with registry.without([gone]):
        upgrade(engine)
        remaining = registry.plugins().values()
        with engine.connect() as conn:
            diff = compare_metadata(MigrationContext.configure(conn), target_metadata(remaining))
        assert diff == []
        assert pending(engine) == []
    its_tables = set(registry.plugin(gone).tables().tables)  # type: ignore[misc]
    assert its_tables and not its_tables & set(inspect(engine).get_table_names())
    upgrade(engine)  # installed again: its branch runs now
    assert its_tables <= set(inspect(engine).get_table_names())


def test_a_plugin_uninstalled_after_the_upgrade_leaves_its_tables_and_revisions(db_url: str) -> None:
    engine = make_engine(db_url)
    upgrade(engine)
    gone = next(kind for kind, p in registry.plugins().items() if p.tables is not None)
    its_tables = set(registry.plugin(gone).tables().tables)  # type: ignore[misc]
    with engine.connect() as conn:
        before = set(MigrationContext.configure(conn).get_current_heads())
    with registry.without([gone]):
        assert pending(engine) == []  # govpub db check: nothing to do
        upgrade(engine)  # govpub db upgrade / the embedded start: runs, changes nothing
    with engine.connect() as conn:
        assert set(MigrationContext.configure(conn).get_current_heads()) == before
    assert its_tables <= set(inspect(engine).get_table_names())


def test_a_newer_release_database_is_refused(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'newer.db'}")
    upgrade(engine)
    script = ScriptDirectory.from_config(alembic_config(engine))
    (core,) = (h for h in script.get_heads() if "core" in script.get_revision(h).branch_labels)
    with engine.begin() as conn:
        later = "UPDATE alembic_version SET version_num = '0099_later' WHERE version_num = :core"
        conn.execute(text(later), {"core": core})
    with pytest.raises(CommandError, match="0099_later"):
        upgrade(engine)
