"""Database migrations (Alembic), run by ``govpub db upgrade`` and by the embedded
mode at start-up.

The core's revisions are in ``pipeline/migrations/versions`` (branch ``core``); every
installed channel plug-in that keeps tables adds its own folder (its ``migrations``,
branch label = its kind) and its own ``MetaData`` (its ``tables``). A fresh database
gets every installed branch; a plug-in not installed gets no tables. Databases made
while all revisions sat in one chain are recorded anew first (:mod:`pipeline.legacy_chain`).
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util import CommandError
from sqlalchemy import Connection, Engine, MetaData

from pipeline import legacy_chain, registry
from pipeline.db import metadata
from pipeline.plugin import ChannelPlugin

MIGRATIONS = Path(__file__).parent / "migrations"
CORE_VERSIONS = MIGRATIONS / "versions"
CORE_BRANCH = "core"


def core_metadata() -> MetaData:
    """The core's tables, the console's included (they join ``pipeline.db.metadata``)."""
    import pipeline.console.tables  # noqa: F401

    return metadata


def target_metadata(plugins: Iterable[ChannelPlugin]) -> list[MetaData]:
    """What the database should hold: the core's tables and each plug-in's."""
    return [core_metadata(), *(p.tables() for p in plugins if p.tables is not None)]


def version_locations(plugins: Iterable[ChannelPlugin]) -> list[Path]:
    return [CORE_VERSIONS, *(p.migrations for p in plugins if p.migrations is not None)]


def alembic_config(
    engine: Engine,
    channel_kinds: Mapping[str, str] | None = None,
    agency_paths: Mapping[str, str] | None = None,
) -> Config:
    """Alembic's configuration for this installation's plug-ins. ``channel_kinds``
    (channel name → kind, from the configuration) fills ``deliveries.kind`` of older rows;
    ``agency_paths`` (code → column path) names the columns of the agencies registered
    from a single-agency database's items."""
    plugins = list(registry.plugins().values())
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("version_path_separator", "os")
    cfg.set_main_option("version_locations", os.pathsep.join(str(p) for p in version_locations(plugins)))
    cfg.attributes["engine"] = engine
    cfg.attributes["target_metadata"] = target_metadata(plugins)
    cfg.attributes["channel_kinds"] = dict(channel_kinds or {})
    cfg.attributes["agency_paths"] = dict(agency_paths or {})
    return cfg


def configured_kinds(settings: object) -> dict[str, str]:
    """Channel name → kind, from a settings object's ``channels``."""
    channels = getattr(settings, "channels", {}) or {}
    return {name: cfg.kind for name, cfg in channels.items()}


def configured_agency_paths(settings: object) -> dict[str, str]:
    """Agency code → column path, as a settings object's ``agencies`` declare them."""
    agencies = getattr(settings, "agencies", {}) or {}
    return {code: cfg.path for code, cfg in agencies.items() if cfg.path}


def upgrade(
    engine: Engine,
    target: str = "heads",
    channel_kinds: Mapping[str, str] | None = None,
    agency_paths: Mapping[str, str] | None = None,
) -> None:
    cfg = alembic_config(engine, channel_kinds, agency_paths)
    with engine.connect() as conn, sqlite_keys_checked_at_the_end(conn), conn.begin():
        cfg.attributes["connection"] = conn
        script = ScriptDirectory.from_config(cfg)
        legacy_chain.adopt(conn, script)
        absent = set_aside_absent(conn, script)
        command.upgrade(cfg, target)
        if absent:
            conn.execute(legacy_chain.VERSIONS.insert(), [{"version_num": rev} for rev in absent])
        if conn.dialect.name == "sqlite":
            broken = conn.exec_driver_sql("PRAGMA foreign_key_check").all()
            if broken:
                raise RuntimeError(f"the upgrade would break foreign keys: {broken[:5]}")


@contextmanager
def sqlite_keys_checked_at_the_end(conn: Connection) -> Iterator[None]:
    """SQLite enforces foreign keys at each statement, so a batch copy of a table other
    tables refer to (drop, then rename the copy) fails half-way; as SQLite documents, run
    the migrations with enforcement off (it cannot change inside a transaction) and check
    every key before the commit (``upgrade``)."""
    if conn.dialect.name != "sqlite":
        yield
        return
    raw = conn.connection.driver_connection  # autocommit: the pragma outside any transaction
    assert raw is not None
    raw.execute("PRAGMA foreign_keys=OFF")
    try:
        yield
    finally:
        raw.execute("PRAGMA foreign_keys=ON")


def set_aside_absent(conn: Connection, script: ScriptDirectory) -> list[str]:
    """Take out the recorded revisions of plug-ins no longer installed (their tables stay
    as they are), which Alembic cannot place; the caller records them again after the
    upgrade, so installing the plug-in again carries on where it stopped. A database
    whose core revision is unknown is a newer release's: refused."""
    recorded = MigrationContext.configure(conn).get_current_heads()
    known = {rev.revision: rev for rev in script.walk_revisions()}
    absent = [rev for rev in recorded if rev not in known]
    if not absent:
        return []
    if not any(CORE_BRANCH in known[rev].branch_labels for rev in recorded if rev in known):
        raise CommandError(f"the database records revisions this release does not have: {absent}")
    conn.execute(legacy_chain.VERSIONS.delete().where(legacy_chain.VERSIONS.c.version_num.in_(absent)))
    return absent


def revision(engine: Engine, message: str, branch: str = CORE_BRANCH) -> None:
    """Autogenerate a migration from the table definitions (for developers), on the
    core's branch or a plug-in's (its kind)."""
    cfg = alembic_config(engine)
    location = CORE_VERSIONS if branch == CORE_BRANCH else registry.plugin(branch).migrations
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.revision(
            cfg, message=message, autogenerate=True, head=f"{branch}@head", version_path=str(location)
        )


def pending(engine: Engine) -> list[str]:
    """Migrations this code has that the database has not applied, oldest first (empty when
    it is up to date). Pods wait on this until the release's migration job has run."""
    script = ScriptDirectory.from_config(alembic_config(engine))
    with engine.connect() as conn:
        recorded = set(legacy_chain.recorded_heads(conn, script))
    heads = set(script.get_heads())
    # not a newer release's, nor a plug-in's no longer installed
    known = recorded & {rev.revision for rev in script.walk_revisions()}
    if known == heads:
        return []
    missing = script.iterate_revisions(tuple(heads), tuple(known))
    return [rev.revision for rev in reversed(list(missing))] or sorted(heads)
