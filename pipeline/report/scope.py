"""What a report counts: one year in the agency's time zone, one agency or all, and
which channel kind plays which part (政府网站, 其他渠道, 档案馆、图书馆: :class:`ReportRole`).

Times are stored in UTC and counted in the report's zone, so a year is the UTC
interval between two local midnights: a delivery at 2017-12-31T20:00Z is 2018-01-01
04:00 in Shanghai and belongs to 2018. Comparing stored instants with those bounds
keeps the year filter on the plain ``delivered_at`` index, with no conversion in SQL.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Date, case, cast, func, literal
from sqlalchemy.sql.elements import ColumnElement

from pipeline import registry
from pipeline.plugin import ReportRole as Role

FIRST_YEAR, LAST_YEAR = 1990, 2999  # the years a report may be asked for
ROLES: tuple[Role, ...] = tuple(Role)  # the report's order


@dataclass(frozen=True)
class Scope:
    """One reporting year of one agency (``agency`` None: every agency)."""

    year: int
    tz: ZoneInfo = field(default_factory=lambda: ZoneInfo("Asia/Shanghai"))
    agency: str | None = None

    def local(self, year: int, month: int = 1) -> datetime:
        return datetime(year, month, 1, tzinfo=self.tz)

    @property
    def start(self) -> datetime:
        return self.local(self.year)

    @property
    def end(self) -> datetime:
        return self.local(self.year + 1)

    @property
    def last_day(self) -> date:
        return date(self.year, 12, 31)

    def previous(self) -> Scope:
        return Scope(self.year - 1, self.tz, self.agency)

    def month_of(self, column: Any) -> ColumnElement[Any]:
        """The local month (1–12) of an instant inside the year, by comparing with the
        UTC instants of local month starts: exact in any zone, on any database."""
        bounds = [self.local(self.year, m) for m in range(2, 13)]
        return case(*[(column < bound, month) for month, bound in enumerate(bounds, 1)], else_=12)

    def local_date(self, column: Any, dialect: str) -> ColumnElement[Any]:
        """The local calendar date of a stored instant.

        PostgreSQL converts with the zone database; SQLite, which has none, adds the
        zone's offset in the middle of the year (Asia/Shanghai has had no daylight
        saving time since 1991, so this is exact there)."""
        if dialect == "postgresql":
            return cast(func.timezone(self.tz.key, column), Date)
        offset = self.tz.utcoffset(datetime(self.year, 7, 1)) or timedelta(0)
        minutes = int(offset.total_seconds() // 60)
        return func.date(column, literal(f"{minutes:+d} minutes"))


@dataclass(frozen=True)
class ChannelRoles:
    """Kind → role in the report, as the installed plug-ins declare it.

    A delivery's kind is the one stored in its row at intake, so the report never
    depends on the configuration it runs with. A kind no plug-in declares (a channel
    kind no longer installed) counts as another channel (:attr:`ReportRole.OTHER`).
    """

    roles: Mapping[str, Role]

    @classmethod
    def installed(cls) -> ChannelRoles:
        return cls({kind: p.report_role for kind, p in registry.plugins().items()})

    def role(self, kind: str) -> Role:
        return self.roles.get(kind, Role.OTHER)

    def kinds(self, role: Role) -> list[str]:
        """The kinds that play ``role`` (for OTHER: the installed ones; others are OTHER too)."""
        return sorted(kind for kind, played in self.roles.items() if played == role)

    def role_of(self, column: Any) -> ColumnElement[Any]:
        """SQL for the role of a ``kind`` column."""
        return case(
            *[(column.in_(self.kinds(role)), literal(role.value)) for role in ROLES if role != Role.OTHER],
            else_=literal(Role.OTHER.value),
        )

    def plays(self, column: Any, role: Role) -> ColumnElement[bool]:
        """SQL: the kind in ``column`` plays ``role``."""
        if role == Role.OTHER:
            played = [kind for other in ROLES if other != Role.OTHER for kind in self.kinds(other)]
            return column.not_in(played)
        return column.in_(self.kinds(role))


def as_int(value: Any) -> int:
    """SUM over no rows is NULL; a count is 0."""
    return int(value or 0)
