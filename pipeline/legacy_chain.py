"""Databases made while every migration sat in one chain.

Until the channels kept their own migrations, the revisions formed one line, ``0001``
to ``0009_…`` (the core's and the channels' in turn), so such a database records one
revision, the last it ran, and holds everything before it. Those revisions kept their
ids: the core's stayed in ``pipeline/migrations/versions``, the channels' moved to each
channel's own folder, where they start the channel's branch, and the core's parts of
two of them became core revisions of their own. Every revision of that line, and every
core revision cut out of one, says its place in it (module attribute ``legacy_order``).

Alembic would read the one recorded id as "this revision and its ancestors", which in
the new graph is less than what ran. So before upgrading, a database that records one
revision with a place records instead the heads of every installed revision whose place
is at or before it: a stamp, nothing else in the database changes. A database upgraded
since always records a core revision that has no place (``0010_…`` or later), so this
never applies to it twice.
"""

from __future__ import annotations

import structlog
from alembic.runtime.migration import MigrationContext
from alembic.script import Script, ScriptDirectory
from alembic.util import CommandError
from sqlalchemy import column, table
from sqlalchemy.engine import Connection

log = structlog.get_logger("govpub.schema")

VERSIONS = table("alembic_version", column("version_num"))


def _place(rev: Script) -> int | None:
    place = getattr(rev.module, "legacy_order", None)
    return place if isinstance(place, int) else None


def _parents(rev: Script) -> tuple[str, ...]:
    """What ``rev`` revises and depends on (alembic reads both as applied below it)."""
    found: list[str] = []
    for named in (rev.down_revision, rev.dependencies):
        if named:
            found += [named] if isinstance(named, str) else list(named)
    return tuple(found)


def recorded_heads(conn: Connection, script: ScriptDirectory) -> tuple[str, ...]:
    """What the database holds, as heads of this release's revision graph."""
    stored = tuple(MigrationContext.configure(conn).get_current_heads())
    if len(stored) != 1:
        return stored
    try:
        last = script.get_revision(stored[0])
    except CommandError:  # a newer release's revision, or a channel no longer installed
        return stored
    place = _place(last) if last is not None else None
    if place is None:
        return stored
    ran = {rev.revision: rev for rev in script.walk_revisions() if (_place(rev) or place + 1) <= place}
    below = {parent for rev in ran.values() for parent in _parents(rev)}
    return tuple(sorted(set(ran) - below))


def adopt(conn: Connection, script: ScriptDirectory) -> None:
    """Record a single-chain database's revision as the heads it stands for."""
    stored = tuple(MigrationContext.configure(conn).get_current_heads())
    heads = recorded_heads(conn, script)
    if set(heads) == set(stored):
        return
    conn.execute(VERSIONS.delete())
    conn.execute(VERSIONS.insert(), [{"version_num": head} for head in heads])
    log.info("single-chain revision recorded as heads", was=stored, now=heads)
