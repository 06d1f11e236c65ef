"""Delivery periods of an archive receiver: a month (``2017-03``) or an ISO week
(``2017-W09``), counted in the agency's time zone (Asia/Shanghai).

A period is a half-open UTC interval ``[start, end)``: an item accepted at
2017-03-31T20:00Z is disclosed on 2017-04-01 in Beijing, so it belongs to ``2017-04``.
The end is also the package's fixed timestamp, which keeps re-exports byte-identical.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

Schedule = Literal["monthly", "weekly", "per-item"]

MONTH = re.compile(r"^(\d{4})-(\d{2})$")
WEEK = re.compile(r"^(\d{4})-W(\d{2})$")


@dataclass(frozen=True)
class Period:
    label: str
    start: datetime  # aware, UTC, inclusive
    end: datetime  # aware, UTC, exclusive

    def is_over(self, now: datetime) -> bool:
        return now >= self.end

    def last_day(self, tz: ZoneInfo) -> date:
        """The local date the period closes on (the package's Bagging-Date)."""
        moment = max(self.start, self.end - timedelta(microseconds=1))
        return moment.astimezone(tz).date()


def _local_midnight(day: date, tz: ZoneInfo) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=tz).astimezone(UTC)


def _month(year: int, month: int, tz: ZoneInfo) -> Period:
    first = date(year, month, 1)
    following = date(year + month // 12, month % 12 + 1, 1)
    return Period(f"{year:04d}-{month:02d}", _local_midnight(first, tz), _local_midnight(following, tz))


def _week(monday: date, tz: ZoneInfo) -> Period:
    year, week, _ = monday.isocalendar()
    return Period(
        f"{year:04d}-W{week:02d}", _local_midnight(monday, tz), _local_midnight(monday + timedelta(7), tz)
    )


def containing(moment: datetime, schedule: Schedule, tz: ZoneInfo) -> Period:
    """The monthly or weekly period ``moment`` falls in, in local time."""
    local = moment.astimezone(tz).date()
    if schedule == "weekly":
        return _week(local - timedelta(days=local.weekday()), tz)
    if schedule == "monthly":
        return _month(local.year, local.month, tz)
    raise ValueError(f"schedule {schedule!r} has no periods")


def following(period: Period, schedule: Schedule, tz: ZoneInfo) -> Period:
    return containing(period.end, schedule, tz)


def parse(label: str, schedule: Schedule, tz: ZoneInfo) -> Period:
    """``2017-03`` for a monthly receiver, ``2017-W09`` for a weekly one."""
    month, week = MONTH.match(label), WEEK.match(label)
    if schedule == "monthly" and month and 1 <= int(month[2]) <= 12:
        return _month(int(month[1]), int(month[2]), tz)
    if schedule == "weekly" and week:
        try:
            monday = date.fromisocalendar(int(week[1]), int(week[2]), 1)
        except ValueError:
            pass
        else:
            return _week(monday, tz)
    example = {"monthly": "2017-03", "weekly": "2017-W09"}.get(schedule, "")
    hint = f"like {example}" if example else "a per-item receiver has no periods; use the package id"
    raise ValueError(f"period {label!r} is not a {schedule} period ({hint})")


def single(label: str, moment: datetime) -> Period:
    """The 'period' of a per-item package: one instant."""
    return Period(label, moment.astimezone(UTC), moment.astimezone(UTC))
