"""The agencies publishing through this installation: the registry of tenants.

One row per agency in ``agencies`` (never deleted: a retired agency keeps its items,
pages and reports). Written by ``govpub agencies …`` and by :func:`sync_toml` from the
``[agencies.CODE]`` tables of govpub.toml, where the file wins: an agency the file
declares is ``managed_by = "toml"`` and the CLI refuses to change it, naming the key.
Every write bumps ``installation.agencies_version``, so each process's :class:`Registry`
reads the rows again (at most every ``agencies_refresh_seconds``).
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field, fields
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, Engine, insert, select, update

from pipeline import db
from pipeline.errors import ConfigError, ValidationFailed

if TYPE_CHECKING:
    from pipeline.config import Settings

KINDS = ("government", "department", "town", "subdistrict")
PATH = re.compile(r"[a-z0-9][a-z0-9-]{0,39}")
CODE = re.compile(r"[0-9A-Za-z]{6,32}")  # as an item's agency.code
VERSION_KEY = "agencies_version"


class UnknownAgency(ValidationFailed):
    code = "unknown_agency"


@dataclass(frozen=True)
class Agency:
    code: str
    name: str
    parent: str | None = None
    kind: str = "department"
    path: str = ""
    former_paths: tuple[str, ...] = ()
    column_name: str | None = None
    taxonomy: dict[str, list[str]] | None = None
    position: int = 0
    managed_by: str = "cli"
    retired_at: datetime | None = None

    @property
    def active(self) -> bool:
        return self.retired_at is None

    @property
    def column_title(self) -> str:
        return self.column_name or f"{self.name}信息公开"

    def taxonomy_or(self, default: dict[str, list[str]]) -> dict[str, list[str]]:
        """Its own 主题分类, else the platform's."""
        return self.taxonomy if self.taxonomy is not None else default

    @classmethod
    def from_row(cls, row: Any) -> Agency:
        return cls(
            code=row.code,
            name=row.name,
            parent=row.parent_code,
            kind=row.kind,
            path=row.path,
            former_paths=tuple(row.former_paths or ()),
            column_name=row.column_name,
            taxonomy=row.taxonomy,
            position=row.position,
            managed_by=row.managed_by,
            retired_at=row.retired_at,
        )


@dataclass
class Registry:
    """Every agency, cached per process and read again once another process changed them."""

    engine: Engine
    refresh_seconds: float = 5.0
    clock: Any = time.monotonic
    _rows: dict[str, Agency] = field(default_factory=dict)
    _version: int = -1
    _checked: float = float("-inf")

    def _fresh(self) -> dict[str, Agency]:
        now = self.clock()
        if now - self._checked < self.refresh_seconds and self._version >= 0:
            return self._rows
        with self.engine.connect() as conn:
            version = current_version(conn)
            if version != self._version:
                rows = conn.execute(select(db.agencies)).all()
                self._rows = {row.code: Agency.from_row(row) for row in rows}
                self._version = version
        self._checked = now
        return self._rows

    def forget(self) -> None:
        """Read the rows again on next use (after this process wrote them)."""
        self._version, self._checked = -1, float("-inf")

    def version(self) -> int:
        self._fresh()
        return self._version

    def get(self, code: str) -> Agency | None:
        return self._fresh().get(code)

    def require(self, code: str) -> Agency:
        found = self.get(code)
        if found is None:
            raise UnknownAgency("unknown agency", [f"agency.code: no agency {code} is registered"])
        return found

    def by_path(self, path: str) -> tuple[Agency, bool] | None:
        """The agency whose column is (or was) at ``path``; True when it is a former path."""
        rows = self._fresh().values()
        for agency in rows:
            if agency.path == path:
                return agency, False
        for agency in rows:
            if path in agency.former_paths:
                return agency, True
        return None

    def all(self, include_retired: bool = True) -> list[Agency]:
        rows = sorted(self._fresh().values(), key=lambda a: (KINDS.index(a.kind), a.position, a.name))
        return [a for a in rows if include_retired or a.active]

    def children(self, code: str) -> list[Agency]:
        return [a for a in self.all() if a.parent == code]

    def descendants(self, code: str) -> list[Agency]:
        found, todo = [], [code]
        while todo:
            kids = self.children(todo.pop())
            found += kids
            todo += [k.code for k in kids]
        return found

    def ancestors(self, code: str) -> list[Agency]:
        """Parent first, up to the head of the tree."""
        chain: list[Agency] = []
        agency = self.get(code)
        while agency is not None and agency.parent is not None:
            agency = self.get(agency.parent)
            if agency is None or agency in chain:
                break
            chain.append(agency)
        return chain

    def groups(self) -> dict[str, list[Agency]]:
        """The portal's groups: active agencies by kind, in order of position and name."""
        grouped: dict[str, list[Agency]] = {kind: [] for kind in KINDS}
        for agency in self.all(include_retired=False):
            grouped[agency.kind].append(agency)
        return {kind: members for kind, members in grouped.items() if members}


def current_version(conn: Connection) -> int:
    value = conn.execute(select(db.installation.c.value).where(db.installation.c.key == VERSION_KEY)).scalar()
    return int(value) if value is not None else 0


def _bump(conn: Connection, now: datetime) -> None:
    moved = conn.execute(
        update(db.installation)
        .where(db.installation.c.key == VERSION_KEY)
        .values(value=str(current_version(conn) + 1))
    )
    if moved.rowcount == 0:
        db.insert_ignore(conn, db.installation, {"key": VERSION_KEY, "value": "1", "created_at": now})


EDITABLE = ("name", "parent", "kind", "path", "column_name", "taxonomy", "position")


def _checked(conn: Connection, agency: Agency) -> None:
    """The rules every write keeps: kind, path form and uniqueness, a known parent, no cycle."""
    key = f"agencies.{agency.code}"
    if not CODE.fullmatch(agency.code):
        raise ConfigError(
            key, agency.code, "6 to 32 letters and digits (统一社会信用代码 or the platform's code)"
        )
    if agency.kind not in KINDS:
        raise ConfigError(f"{key}.kind", agency.kind, f"one of {list(KINDS)}")
    if not PATH.fullmatch(agency.path):
        raise ConfigError(f"{key}.path", agency.path, "lower-case letters, digits and '-', at most 40")
    clash = conn.execute(
        select(db.agencies.c.code).where(db.agencies.c.path == agency.path, db.agencies.c.code != agency.code)
    ).scalar()
    if clash is not None:
        raise ConfigError(f"{key}.path", agency.path, f"a path no other agency has (agency {clash} has it)")
    parent, seen = agency.parent, {agency.code}
    while parent is not None:
        if parent in seen:
            raise ConfigError(f"{key}.parent", agency.parent, "a parent that is not its own descendant")
        seen.add(parent)
        row = conn.execute(select(db.agencies.c.parent_code).where(db.agencies.c.code == parent)).first()
        if row is None:
            raise ConfigError(f"{key}.parent", parent, "the code of a registered agency")
        parent = row.parent_code


def _values(agency: Agency) -> dict[str, Any]:
    return {
        "name": agency.name,
        "parent_code": agency.parent,
        "kind": agency.kind,
        "path": agency.path,
        "former_paths": list(agency.former_paths),
        "column_name": agency.column_name,
        "taxonomy": agency.taxonomy,
        "position": agency.position,
        "managed_by": agency.managed_by,
        "retired_at": agency.retired_at,
    }


def _row(conn: Connection, code: str) -> Agency | None:
    row = conn.execute(select(db.agencies).where(db.agencies.c.code == code).with_for_update()).first()
    return Agency.from_row(row) if row is not None else None


def _refuse_declared(agency: Agency, what: str = "name") -> None:
    if agency.managed_by == "toml":
        raise ConfigError(
            f"agencies.{agency.code}.{what}", agency.name, "declared in govpub.toml, edit the file"
        )


def add(engine: Engine, agency: Agency, now: datetime) -> Agency:
    """Register a new agency (``govpub agencies add``); its path defaults to its code."""
    agency = _with_path(agency)
    with engine.begin() as conn:
        existing = _row(conn, agency.code)
        if existing is not None:
            _refuse_declared(existing)
            raise ConfigError(f"agencies.{agency.code}", agency.code, "a code not registered yet (use edit)")
        _checked(conn, agency)
        conn.execute(insert(db.agencies).values(code=agency.code, created_at=now, **_values(agency)))
        _bump(conn, now)
    return agency


def edit(engine: Engine, code: str, now: datetime, **changes: Any) -> Agency:
    """Change an agency's fields; a new path keeps the old one for redirects."""
    unknown = set(changes) - set(EDITABLE)
    if unknown:
        raise ValueError(f"not editable: {sorted(unknown)}")
    with engine.begin() as conn:
        current = _row(conn, code)
        if current is None:
            raise UnknownAgency("unknown agency", [f"no agency {code} is registered"])
        _refuse_declared(current, next(iter(changes), "name"))
        changed = _changed(current, changes)
        _checked(conn, changed)
        conn.execute(update(db.agencies).where(db.agencies.c.code == code).values(**_values(changed)))
        _bump(conn, now)
    return changed


def _changed(current: Agency, changes: dict[str, Any]) -> Agency:
    new_path = changes.get("path", current.path)
    if new_path != current.path:
        former = (*current.former_paths, current.path)
        changes = {**changes, "former_paths": tuple(p for p in former if p != new_path)}
    return _replaced(current, **changes)


def retire(engine: Engine, code: str, now: datetime) -> Agency:
    """No new items from now on; everything it published stays."""
    with engine.begin() as conn:
        current = _row(conn, code)
        if current is None:
            raise UnknownAgency("unknown agency", [f"no agency {code} is registered"])
        _refuse_declared(current, "retired")
        if current.retired_at is None:
            conn.execute(update(db.agencies).where(db.agencies.c.code == code).values(retired_at=now))
            _bump(conn, now)
    return _replaced(current, retired_at=current.retired_at or now)


def _with_path(agency: Agency) -> Agency:
    return agency if agency.path else _replaced(agency, path=agency.code.lower())


def _replaced(agency: Agency, **changes: Any) -> Agency:
    return Agency(**{**{f.name: getattr(agency, f.name) for f in fields(Agency)}, **changes})


def sync_toml(engine: Engine, settings: Settings, now: datetime) -> list[str]:
    """Make the rows say what govpub.toml declares (the file wins); answers the codes
    written. An agency that left the file keeps its row and becomes the CLI's. Parents
    first, so a parent the file declares exists before its children."""
    declared = {code: cfg for code, cfg in settings.agencies.items() if cfg.name is not None}
    written: list[str] = []
    with engine.begin() as conn:
        for code in _parents_first(declared):
            cfg = declared[code]
            current = _row(conn, code)
            path = cfg.path or (current.path if current else code.lower())
            former = current.former_paths if current else ()
            if current is not None and current.path != path:
                former = tuple(p for p in (*former, current.path) if p != path)
            retired_at = ((current.retired_at if current else None) or now) if cfg.retired else None
            wanted = Agency(
                code=code,
                name=cfg.name or code,
                parent=cfg.parent,
                kind=cfg.kind,
                path=path,
                former_paths=former,
                column_name=cfg.column_name,
                taxonomy=cfg.taxonomy,
                position=cfg.position,
                managed_by="toml",
                retired_at=retired_at,
            )
            if current == wanted:
                continue
            _checked(conn, wanted)
            if current is None:
                conn.execute(insert(db.agencies).values(code=code, created_at=now, **_values(wanted)))
            else:
                conn.execute(update(db.agencies).where(db.agencies.c.code == code).values(**_values(wanted)))
            written.append(code)
        left = conn.execute(
            update(db.agencies)
            .where(db.agencies.c.managed_by == "toml", db.agencies.c.code.not_in(list(declared)))
            .values(managed_by="cli")
        )
        if written or left.rowcount:
            _bump(conn, now)
    return written


def _parents_first(declared: dict[str, Any]) -> list[str]:
    ordered: list[str] = []

    def visit(code: str, trail: tuple[str, ...]) -> None:
        if code in ordered or code in trail:
            return
        parent = declared[code].parent
        if parent in declared:
            visit(parent, (*trail, code))
        ordered.append(code)

    for code in sorted(declared):
        visit(code, ())
    return ordered
