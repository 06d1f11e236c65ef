"""Database migrations (Alembic), run by ``govpub db upgrade`` and by the embedded
mode at start-up."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine

MIGRATIONS = Path(__file__).parent / "migrations"


def alembic_config(engine: Engine) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["engine"] = engine
    return cfg


def upgrade(engine: Engine, target: str = "head") -> None:
    cfg = alembic_config(engine)
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, target)


def revision(engine: Engine, message: str) -> None:
    """Autogenerate a migration from the table definitions (for developers)."""
    cfg = alembic_config(engine)
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.revision(cfg, message=message, autogenerate=True)


def pending(engine: Engine) -> list[str]:
    """Migrations this code has that the database has not applied, oldest first (empty when
    it is up to date). Pods wait on this until the release's migration job has run."""
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory

    script = ScriptDirectory.from_config(alembic_config(engine))
    with engine.connect() as conn:
        current = set(MigrationContext.configure(conn).get_current_heads())
    heads = set(script.get_heads())
    if current == heads:
        return []
    known = current & {rev.revision for rev in script.walk_revisions()}  # not a newer release's
    missing = script.iterate_revisions(tuple(heads), tuple(known))
    return [rev.revision for rev in reversed(list(missing))] or sorted(heads)
