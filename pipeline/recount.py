"""The counters (:mod:`pipeline.counters`) counted again from the log, set-based.

One query per measure says what the counters must hold, straight from ``deliveries``
and ``delivery_events`` (the report's counting rules, grouped by local day): the
migration fills the counters with it, ``govpub report recount`` compares them with it
and, with ``--fix``, rewrites them from it, and the benchmarks' loaders fill their
counters with it. A year's window keeps only that year's days (a first delivery is
still first over all time).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    Connection,
    Date,
    and_,
    case,
    cast,
    delete,
    func,
    insert,
    literal,
    select,
    type_coerce,
    union_all,
)
from sqlalchemy.sql.elements import ColumnElement

from pipeline import counters, db, registry
from pipeline.counters import SETTLED, ZONE, ZONE_NAME, reached
from pipeline.plugin import ReportRole

C, D, E = db.counters, db.deliveries, db.delivery_events
ZONE_MINUTES = 480  # Asia/Shanghai, UTC+8 without daylight saving time since 1991


@dataclass(frozen=True)
class Window:
    """Which counters: the local days of ``year`` (None: all) of ``agency`` (None: all)."""

    year: int | None = None
    agency: str | None = None

    @property
    def first_day(self) -> date | None:
        return None if self.year is None else date(self.year, 1, 1)

    @property
    def last_day(self) -> date | None:
        return None if self.year is None else date(self.year, 12, 31)

    def instants(self, column: Any) -> list[ColumnElement[bool]]:
        """SQL: ``column`` (an instant) within the window's local year."""
        if self.year is None:
            return []
        start, end = datetime(self.year, 1, 1, tzinfo=ZONE), datetime(self.year + 1, 1, 1, tzinfo=ZONE)
        return [column >= start, column < end]

    def of_agency(self, column: Any) -> list[ColumnElement[bool]]:
        return [] if self.agency is None else [column == self.agency]


def local_day(column: Any, dialect: str) -> Any:
    """SQL: the local date of a stored instant (SQLite has no zone database: it adds the
    fixed offset, which is exact for Asia/Shanghai)."""
    if dialect == "postgresql":
        return cast(func.timezone(ZONE_NAME, column), Date)
    return type_coerce(func.date(column, literal(f"+{ZONE_MINUTES} minutes")), Date)


def role_of(kind: Any) -> Any:
    """SQL for :func:`counters.role_of` of a kind column."""
    roles: dict[str, list[str]] = {}
    for name, plugin in registry.plugins().items():
        roles.setdefault(plugin.report_role.value, []).append(name)
    whens = [(kind.in_(sorted(kinds)), literal(role)) for role, kinds in sorted(roles.items())]
    other = literal(ReportRole.OTHER.value)
    return case(*whens, else_=other) if whens else other


def expected(dialect: str, window: Window = Window()) -> Any:
    """``(measure, day, agency_code, name, detail, n)``: what the counters must hold."""
    parts = [_firsts(dialect, window, measure) for measure in ("reached", "kind", "role")]
    parts += [_states(dialect, window), _events(dialect, window)]
    return union_all(*parts).subquery("expected")


def _firsts(dialect: str, window: Window, measure: str) -> Any:
    name, detail = {
        "reached": (D.c.channel, D.c.kind),
        "kind": (D.c.kind, literal("")),
        "role": (role_of(D.c.kind), literal(counters.roles_seal())),
    }[measure]
    first = (
        select(
            D.c.agency_code,
            name.label("name"),
            detail.label("detail"),
            func.min(D.c.delivered_at).label("first_at"),
        )
        .where(reached(D), *window.of_agency(D.c.agency_code))
        .group_by(D.c.item_pk, D.c.agency_code, name, detail)
    )
    if window.year is not None:
        first = first.having(and_(*window.instants(func.min(D.c.delivered_at))))
    f = first.subquery(f"first_{measure}")
    day = local_day(f.c.first_at, dialect)
    return select(
        literal(measure).label("measure"),
        day.label("day"),
        f.c.agency_code,
        f.c.name,
        f.c.detail,
        func.count().label("n"),
    ).group_by(day, f.c.agency_code, f.c.name, f.c.detail)


def _states(dialect: str, window: Window) -> Any:
    state = case(
        (and_(D.c.state == "sending", D.c.delivered_at.is_not(None)), "unconfirmed"), else_=D.c.state
    )
    day = local_day(D.c.created_at, dialect)
    return (
        select(literal("state"), day, D.c.agency_code, D.c.channel, state, func.count().label("n"))
        .where(state.in_(SETTLED), *window.instants(D.c.created_at), *window.of_agency(D.c.agency_code))
        .group_by(day, D.c.agency_code, D.c.channel, state)
    )


def _events(dialect: str, window: Window) -> Any:
    day = local_day(E.c.at, dialect)
    return (
        select(literal("event"), day, D.c.agency_code, D.c.channel, E.c.outcome, func.count().label("n"))
        .select_from(E.join(D, D.c.id == E.c.delivery_id))
        .where(*window.instants(E.c.at), *window.of_agency(D.c.agency_code))
        .group_by(day, D.c.agency_code, D.c.channel, E.c.outcome)
    )


def _kept(window: Window) -> list[ColumnElement[bool]]:
    where = window.of_agency(C.c.agency_code)
    if window.year is not None:
        where += [C.c.day >= window.first_day, C.c.day <= window.last_day]
    return where


@dataclass(frozen=True)
class Difference:
    measure: str
    day: date
    agency_code: str
    name: str
    detail: str
    counted: int
    expected: int

    def __str__(self) -> str:
        what = f"{self.measure} {self.name}" + (f" {self.detail}" if self.detail else "")
        return f"{self.day} {self.agency_code} {what}: counters {self.counted}, log {self.expected}"


def differences(conn: Connection, window: Window = Window()) -> list[Difference]:
    """Where the counters and the log disagree (empty: they agree)."""
    want: dict[counters.Key, int] = {
        (r.measure, _as_date(r.day), r.agency_code, r.name, r.detail): int(r.n)
        for r in conn.execute(select(*expected(conn.dialect.name, window).c)).all()
        if r.n
    }
    have: dict[counters.Key, int] = {}
    kept = conn.execute(
        select(C.c.measure, C.c.day, C.c.agency_code, C.c.name, C.c.detail, func.sum(C.c.n))
        .where(*_kept(window))
        .group_by(C.c.measure, C.c.day, C.c.agency_code, C.c.name, C.c.detail)
    ).all()
    for measure, day, agency, name, detail, n in kept:
        if n:
            have[(measure, _as_date(day), agency, name, detail)] = int(n)
    return [
        Difference(*key, have.get(key, 0), want.get(key, 0))
        for key in sorted(want.keys() | have.keys())
        if have.get(key, 0) != want.get(key, 0)
    ]


def rewrite(conn: Connection, window: Window = Window()) -> int:
    """Replace the window's counters with the log's count; returns the rows written.
    On PostgreSQL the counters are locked against writers meanwhile: a change committed
    before is in the count, one committed after adds to it."""
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql("LOCK TABLE counters IN EXCLUSIVE MODE")
    conn.execute(delete(C).where(*_kept(window)))
    return fill(conn, window)


def fill(conn: Connection, window: Window = Window()) -> int:
    """Insert the log's count of the window (the counters there must be empty)."""
    want = expected(conn.dialect.name, window)
    columns = [want.c.measure, want.c.day, want.c.agency_code, want.c.name, want.c.detail]
    query = select(*columns, literal(0).label("slot"), want.c.n).where(want.c.n != 0)
    names = ["measure", "day", "agency_code", "name", "detail", "slot", "n"]
    return int(conn.execute(insert(C).from_select(names, query)).rowcount or 0)


def _as_date(value: Any) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value))
