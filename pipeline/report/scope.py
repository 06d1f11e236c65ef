"""What a report counts: one year in the agency's time zone, one agency or all, and
which configured channel plays which part (website, other channels, archives).

Times are stored in UTC and counted in the report's zone, so a year is the UTC
interval between two local midnights: a delivery at 2017-12-31T20:00Z is 2018-01-01
04:00 in Shanghai and belongs to 2018. Comparing stored instants with those bounds
keeps the year filter on the plain ``delivered_at`` index, with no conversion in SQL.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any, Literal
from zoneinfo import ZoneInfo

from sqlalchemy import Date, case, cast, func, literal
from sqlalchemy.sql.elements import ColumnElement

FIRST_YEAR, LAST_YEAR = 1990, 2999  # the years a report may be asked for
Role = Literal["website", "other", "archive"]
ROLES: tuple[Role, ...] = ("website", "other", "archive")


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


WEBSITE_KINDS = ("website",)
ARCHIVE_KINDS = ("archive",)


@dataclass(frozen=True)
class ChannelRoles:
    """Channel name → kind, and kind → role in the report.

    The kind of a channel is its configured ``kind``; a channel that is no longer (or
    never was) configured keeps its name as its kind, so the log of a channel named
    ``website`` still counts as the website after its configuration is gone.
    """

    kinds: Mapping[str, str]
    website_kinds: tuple[str, ...] = WEBSITE_KINDS
    archive_kinds: tuple[str, ...] = ARCHIVE_KINDS

    @classmethod
    def from_settings(cls, settings: Any, overrides: Mapping[str, str] | None = None) -> ChannelRoles:
        kinds = {name: cfg.kind for name, cfg in settings.channels.items()}
        kinds.update(overrides or {})
        return cls(kinds)

    def kind(self, channel: str) -> str:
        return self.kinds.get(channel, channel)

    def role(self, channel: str) -> Role:
        kind = self.kind(channel)
        if kind in self.website_kinds:
            return "website"
        if kind in self.archive_kinds:
            return "archive"
        return "other"

    def names(self, role: Literal["website", "archive"]) -> list[str]:
        """The channel names that play ``role`` (configured ones, and the kind names
        themselves when no configured channel is called so)."""
        kinds = self.website_kinds if role == "website" else self.archive_kinds
        named = [name for name in self.kinds if self.role(name) == role]
        return sorted(set(named) | {k for k in kinds if k not in self.kinds})

    def role_of(self, column: Any) -> ColumnElement[Any]:
        """SQL for the role of a ``channel`` column."""
        return case(
            (column.in_(self.names("website")), literal("website")),
            (column.in_(self.names("archive")), literal("archive")),
            else_=literal("other"),
        )

    def plays(self, column: Any, role: Role) -> ColumnElement[bool]:
        """SQL: the channel in ``column`` plays ``role``."""
        if role == "other":
            return column.not_in(self.names("website") + self.names("archive"))
        return column.in_(self.names(role))


def as_int(value: Any) -> int:
    """SUM over no rows is NULL; a count is 0."""
    return int(value or 0)
