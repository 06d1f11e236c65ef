"""Which agencies each source submits for (``source_agencies``): the rows behind
``govpub sources add/bind/unbind/list/show``.

A source reaches (submits, reads, retracts) only the items of its bound agencies
(:func:`pipeline.tenancy.source_reach`). Binding checks the registry first, so an
unknown or retired code is refused before anything is written; unbinding keeps the
source's items (a source that loses an agency no longer sees them, the agency does).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, delete, func, select

from pipeline import db
from pipeline.agencies import Registry, UnknownAgency
from pipeline.db import insert_ignore
from pipeline.errors import ValidationFailed


class AgencyRetired(ValidationFailed):
    code = "agency_retired"


class UnknownSource(ValidationFailed):
    code = "unknown_source"


@dataclass(frozen=True)
class SourceRow:
    """A source as ``govpub sources list/show`` prints it."""

    name: str
    agencies: tuple[str, ...]
    created_at: datetime
    revoked_at: datetime | None
    items: int = 0

    def to_json(self, registry: Registry) -> dict[str, Any]:
        def named(code: str) -> dict[str, Any]:
            agency = registry.get(code)
            return {
                "code": code,
                "name": agency.name if agency else None,
                "retired": bool(agency and not agency.active),
            }

        return {
            "name": self.name,
            "agencies": [named(code) for code in self.agencies],
            "created_at": self.created_at.isoformat(),
            "revoked_at": self.revoked_at.isoformat() if self.revoked_at else None,
            "items": self.items,
        }


def checked_codes(registry: Registry, codes: Iterable[str]) -> list[str]:
    """The codes, each a registered agency still active; else nothing is written and the
    refusal names every bad code."""
    wanted = list(dict.fromkeys(codes))
    unknown = [c for c in wanted if registry.get(c) is None]
    if unknown:
        details = [f"agency: no agency {c} is registered (govpub agencies list)" for c in unknown]
        raise UnknownAgency("unknown agency", details)
    retired = [c for c in wanted if not registry.require(c).active]
    if retired:
        raise AgencyRetired("agency retired", [f"agency: {c} is retired" for c in retired])
    return wanted


def bind(conn: Connection, source: str, codes: Iterable[str]) -> None:
    """Add bindings (the caller checked the codes); binding twice changes nothing."""
    for code in codes:
        insert_ignore(conn, db.source_agencies, {"source": source, "agency_code": code})


def unbind(conn: Connection, source: str, codes: Iterable[str]) -> int:
    """Remove bindings; answers how many there were."""
    table = db.source_agencies
    gone = conn.execute(delete(table).where(table.c.source == source, table.c.agency_code.in_(list(codes))))
    return int(gone.rowcount)


def bound(conn: Connection, source: str) -> list[str]:
    table = db.source_agencies
    return list(conn.execute(select(table.c.agency_code).where(table.c.source == source)).scalars())


def exists(conn: Connection, source: str) -> bool:
    return conn.execute(select(db.sources.c.name).where(db.sources.c.name == source)).first() is not None


def rows(engine: Engine, name: str | None = None) -> list[SourceRow]:
    """Every source (or one) with its agencies and how many items it submitted."""
    with engine.connect() as conn:
        query = select(db.sources).order_by(db.sources.c.name)
        if name is not None:
            query = query.where(db.sources.c.name == name)
        found = conn.execute(query).all()
        links = conn.execute(select(db.source_agencies)).all()
        counts: dict[str, int] = {}
        if name is not None:
            counts = dict(
                conn.execute(
                    select(db.items.c.source, func.count())
                    .where(db.items.c.source == name)
                    .group_by(db.items.c.source)
                ).all()
            )
    agencies: dict[str, list[str]] = {}
    for link in links:
        agencies.setdefault(link.source, []).append(link.agency_code)
    return [
        SourceRow(
            row.name, tuple(sorted(agencies.get(row.name, ()))), row.created_at, row.revoked_at,
            counts.get(row.name, 0),
        )
        for row in found
    ]  # fmt: skip


def change(
    engine: Engine, registry: Registry, source: str, add: Iterable[str] = (), drop: Iterable[str] = ()
) -> list[str]:
    """Bind ``add`` and unbind ``drop`` in one transaction; answers the agencies bound after.
    An unknown source or a bad code to add writes nothing."""
    codes = checked_codes(registry, add)
    with engine.begin() as conn:
        if not exists(conn, source):
            raise UnknownSource("unknown source", [f"source: no source {source} (govpub sources list)"])
        bind(conn, source, codes)
        unbind(conn, source, list(drop))
        return bound(conn, source)
