"""The platform's summary of a year: per agency, items per channel kind, items published
over 20 working days, whether its annual report is published.

Counted by the same rules as each agency's report (:mod:`.counts`, :mod:`.timeliness`),
once for the whole platform and grouped by ``agency_code``, so the rows add up to the
platform's own report and a row equals that agency's report: an item counts for a kind
in the year of its first delivery to any channel of that kind; "over 20 working days"
is the report's timeliness of the item's first website publication. The report's
publication is the one recorded for the same year (:mod:`.publication`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, Engine, case, exists, func, select

from pipeline import db, registry
from pipeline.agencies import KINDS
from pipeline.report.counts import ITEMS, C, D, collect_portal, delivered, in_counters, kept
from pipeline.report.publication import Publication, publications
from pipeline.report.scope import ROLES, ChannelRoles, Scope
from pipeline.report.scratch import PORTAL, PUBLISHED, WORKDAYS, scratch
from pipeline.report.timeliness import measured_items
from pipeline.report.workdays import DISCLOSURE_LIMIT, WorkdayCalendar

FIXED_COLUMNS = ("code", "name", "late", "published")


@dataclass
class AgencyRow:
    code: str
    name: str
    items: dict[str, int] = field(default_factory=dict)  # channel kind → items
    late: int = 0
    published: Publication | None = None

    def value(self, column: str) -> Any:
        """What ``--sort COLUMN`` sorts by."""
        if column == "code":
            return self.code
        if column == "name":
            return self.name
        if column == "late":
            return self.late
        if column == "published":
            return self.published is not None
        return self.items.get(column, 0)


@dataclass
class Summary:
    year: int
    kinds: list[str]  # the item columns, in the report's order of roles
    rows: list[AgencyRow]
    total: AgencyRow
    limit_workdays: int = DISCLOSURE_LIMIT

    @property
    def columns(self) -> list[str]:
        return ["code", "name", *self.kinds, "late", "published"]

    def label(self, column: str) -> str:
        fixed = {
            "code": "机构代码",
            "name": "机构",
            "late": f"超过{self.limit_workdays}个工作日",
            "published": "年度报告",
        }
        return fixed.get(column) or registry.label(column)

    def sorted_by(self, spec: str | None) -> Summary:
        """Rows ordered by ``spec`` (a column, ``-column`` descending); the total stays last."""
        if not spec:
            return self
        descending = spec.startswith("-")
        column = spec.lstrip("-")
        if column not in self.columns:
            raise ValueError(f"no column {column!r} to sort by; one of {', '.join(self.columns)}")
        rows = sorted(self.rows, key=lambda r: (r.value(column), r.code), reverse=descending)
        return Summary(self.year, self.kinds, rows, self.total, self.limit_workdays)

    def as_json(self) -> dict[str, Any]:
        def row(r: AgencyRow) -> dict[str, Any]:
            published = r.published
            return {
                "code": r.code,
                "name": r.name,
                "items": {k: r.items.get(k, 0) for k in self.kinds},
                "late": r.late,
                "published": None
                if published is None
                else {
                    "index_no": published.index_no,
                    "url": published.url,
                    "published_at": published.published_at.isoformat() if published.published_at else None,
                },
            }

        return {
            "year": self.year,
            "kinds": self.kinds,
            "limit_workdays": self.limit_workdays,
            "agencies": [row(r) for r in self.rows],
            "total": {**row(self.total), "published": sum(1 for r in self.rows if r.published)},
        }


def build_summary(engine: Engine, settings: object, year: int) -> Summary:
    """Every registered agency's row (and any agency with items but no row), in the
    registry's order (the portal's groups, then position and name); one snapshot like
    the report's."""
    scope = Scope(year, ZoneInfo(str(getattr(settings, "timezone", "Asia/Shanghai"))))
    roles = ChannelRoles.installed()
    with engine.connect() as conn:
        if conn.dialect.name == "postgresql":
            conn = conn.execution_options(isolation_level="REPEATABLE READ")
            conn.exec_driver_sql("SET LOCAL work_mem = '64MB'")
            conn.exec_driver_sql("SET LOCAL jit = off")
        per_kind = kind_counts(conn, scope)
        late = late_counts(conn, scope, roles)
        published = publications(conn, year)
        agencies = sorted(
            conn.execute(select(db.agencies)).all(),
            key=lambda a: (KINDS.index(a.kind) if a.kind in KINDS else len(KINDS), a.position, a.name),
        )
    names = {a.code: a.name for a in agencies}
    codes = [a.code for a in agencies if a.retired_at is None or a.code in per_kind or a.code in late]
    codes += sorted((set(per_kind) | set(late)) - set(codes))
    order = {role: i for i, role in enumerate(ROLES)}
    kinds = sorted(
        {k for counts in per_kind.values() for k in counts}, key=lambda k: (order[roles.role(k)], k)
    )
    rows = [
        AgencyRow(code, names.get(code, code), per_kind.get(code, {}), late.get(code, 0), published.get(code))
        for code in codes
    ]
    total = AgencyRow(
        "",
        "合计",
        {k: sum(r.items.get(k, 0) for r in rows) for k in kinds},
        sum(r.late for r in rows),
    )
    return Summary(year, kinds, rows, total)


def kind_counts(conn: Connection, scope: Scope) -> dict[str, dict[str, int]]:
    """agency → kind → items first delivered in the year to a channel of that kind (the
    counters; the log when they do not answer for the scope)."""
    if kept(scope):
        counted = conn.execute(
            select(C.c.agency_code, C.c.name, func.sum(C.c.n))
            .where(*in_counters(scope, "kind"))
            .group_by(C.c.agency_code, C.c.name)
        ).all()
        kinds: dict[str, dict[str, int]] = {}
        for agency, kind, n in counted:
            if n:
                kinds.setdefault(agency, {})[kind] = int(n)
        return kinds
    d, e = D.alias("d"), D.alias("e")
    earlier = exists().where(
        e.c.item_pk == d.c.item_pk, e.c.kind == d.c.kind, delivered(e), e.c.delivered_at < scope.start
    )
    firsts = (
        select(d.c.agency_code, d.c.kind, d.c.item_pk)
        .where(delivered(d), d.c.delivered_at >= scope.start, d.c.delivered_at < scope.end, ~earlier)
        .distinct()
        .subquery("firsts")
    )
    rows = conn.execute(
        select(firsts.c.agency_code, firsts.c.kind, func.count()).group_by(
            firsts.c.agency_code, firsts.c.kind
        )
    ).all()
    found: dict[str, dict[str, int]] = {}
    for agency, kind, count in rows:
        found.setdefault(agency, {})[kind] = int(count)
    return found


def late_counts(conn: Connection, scope: Scope, roles: ChannelRoles) -> dict[str, int]:
    """agency → items first on the website in the year more than 20 working days after
    their 生成日期 (the report's timeliness, grouped)."""
    with scratch(conn, PORTAL):
        collect_portal(conn, scope, roles)
        with scratch(conn, PUBLISHED, WORKDAYS):
            measured, _ = measured_items(conn, scope, roles, WorkdayCalendar())
            if measured is None:
                return {}
            rows = conn.execute(
                select(
                    ITEMS.c.agency_code, func.sum(case((measured.c.workdays > DISCLOSURE_LIMIT, 1), else_=0))
                )
                .join_from(measured, ITEMS, ITEMS.c.pk == measured.c.item_pk)
                .group_by(ITEMS.c.agency_code)
            ).all()
    return {agency: int(n or 0) for agency, n in rows}
