"""A database made by the single chain of migrations of before plug-ins (frozen in
``tests/pipeline/single_chain``) upgrades to this release's branches: its revision is
recorded anew, only ``deliveries.kind`` is added (and filled) up to ``0010``, and ``govpub db check``
then finds nothing to do."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from click.testing import CliRunner
from sqlalchemy import Engine, MetaData, inspect, select

from pipeline import registry
from pipeline.cli.main import main
from pipeline.db import make_engine, metadata
from pipeline.schema import MIGRATIONS, alembic_config, pending, target_metadata, upgrade

SINGLE_CHAIN = Path(__file__).parent / "single_chain"
NOW = datetime(2026, 3, 1, tzinfo=UTC)


def build_single_chain(engine: Engine, last: str) -> None:
    """The database an installation of that release has, at revision ``last``."""
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("version_locations", str(SINGLE_CHAIN))
    cfg.attributes["target_metadata"] = metadata
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, last)


def add_old_deliveries(engine: Engine, channels: list[str]) -> None:
    """An item, its revision and one delivery per channel, in the old tables' shape."""
    old = MetaData()
    old.reflect(engine, only=["items", "revisions", "deliveries"])
    items, revisions, deliveries = (old.tables[n] for n in ("items", "revisions", "deliveries"))
    stamp = NOW.replace(tzinfo=None) if engine.dialect.name == "sqlite" else NOW
    with engine.begin() as conn:
        item_pk = conn.execute(
            items.insert().values(
                source="s",
                item_id="1",
                index_no="X/2026-00001",
                agency_code="X",
                latest_revision=1,
                created_at=stamp,
            )
        ).inserted_primary_key[0]
        revision_pk = conn.execute(
            revisions.insert().values(
                item_pk=item_pk,
                revision=1,
                body_hash="h",
                title="t",
                category="c",
                generated_on=NOW.date(),
                accepted_at=stamp,
                document={},
            )
        ).inserted_primary_key[0]
        for channel in channels:
            conn.execute(
                deliveries.insert().values(
                    item_pk=item_pk,
                    revision_pk=revision_pk,
                    revision=1,
                    channel=channel,
                    action="publish",
                    state="delivered",
                    attempts=1,
                    claim_no=1,
                    next_attempt_at=stamp,
                    created_at=stamp,
                    updated_at=stamp,
                    delivered_at=stamp,
                )
            )


def shape(engine: Engine) -> dict[str, Any]:
    """Every table's columns and indexes."""
    found = inspect(engine)
    return {
        name: (
            sorted(c["name"] for c in found.get_columns(name)),
            sorted((i["name"], tuple(i["column_names"])) for i in found.get_indexes(name)),
        )
        for name in found.get_table_names()
    }


@pytest.mark.parametrize("last", ["0009_wechat_broadcast", "0005_console", "0003_archive"])
def test_a_single_chain_database_upgrades_with_nothing_else_changed(db_url: str, last: str) -> None:
    engine = make_engine(db_url)
    build_single_chain(engine, last)
    add_old_deliveries(engine, ["site-main", "wechat", "noticeboard"])
    if last == "0009_wechat_broadcast":
        before = shape(engine)

    upgrade(engine, "0010_delivery_kind", channel_kinds={"site-main": "website"})
    if last == "0009_wechat_broadcast":  # the release that moved to branches adds one column
        after = shape(engine)
        columns, indexes = before.pop("deliveries")
        assert after.pop("deliveries") == (sorted([*columns, "kind"]), indexes)
        assert after == before
    upgrade(engine, channel_kinds={"site-main": "website"})

    script = ScriptDirectory.from_config(alembic_config(engine))
    with engine.connect() as conn:
        assert set(MigrationContext.configure(conn).get_current_heads()) == set(script.get_heads())
        assert (
            compare_metadata(MigrationContext.configure(conn), target_metadata(registry.plugins().values()))
            == []
        )
        kinds = dict(
            conn.execute(
                select(metadata.tables["deliveries"].c.channel, metadata.tables["deliveries"].c.kind)
            ).all()
        )
    assert pending(engine) == []
    # configured: its kind; not configured: its name (a known kind, or not)
    assert kinds == {"site-main": "website", "wechat": "wechat", "noticeboard": "noticeboard"}


def test_db_check_finds_nothing_to_do_after_the_upgrade(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'old.db'}"
    engine = make_engine(url)
    build_single_chain(engine, "0009_wechat_broadcast")
    runner = CliRunner()
    env = {"GOVPUB_DATABASE_URL": url, "GOVPUB_DATA_DIR": str(tmp_path), "GOVPUB_CONFIG": ""}
    lacking = runner.invoke(main, ["db", "check"], env=env)
    assert lacking.exit_code == 1 and "0010_delivery_kind" in lacking.output
    assert runner.invoke(main, ["db", "upgrade"], env=env).exit_code == 0
    done = runner.invoke(main, ["db", "check"], env=env)
    assert done.exit_code == 0 and "latest schema" in done.output
