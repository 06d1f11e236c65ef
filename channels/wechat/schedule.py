"""Broadcast windows and quota periods, counted in the agency's time zone.

A subscription account (订阅号) may mass-send once a local day, a service account
(服务号) four times a local month. The window opens each day at ``broadcast_time``;
within an open window a send happens only while the period still has quota.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo


def local(now: datetime, tz: str) -> datetime:
    return now.astimezone(ZoneInfo(tz))


def _at(day: date, when: time, tz: str) -> datetime:
    return datetime.combine(day, when, tzinfo=ZoneInfo(tz))


def period(now: datetime, account_type: str, tz: str) -> str:
    """The quota period ``now`` falls in: ``2026-05-04`` (day) or ``2026-05`` (month)."""
    day = local(now, tz).date()
    return day.isoformat() if account_type == "subscription" else day.strftime("%Y-%m")


def window_open(now: datetime, when: time, tz: str) -> bool:
    here = local(now, tz)
    return here >= _at(here.date(), when, tz)


def todays_window(now: datetime, when: time, tz: str) -> datetime:
    return _at(local(now, tz).date(), when, tz)


def next_window(now: datetime, when: time, account_type: str, tz: str) -> datetime:
    """The first window of the next quota period (tomorrow, or the 1st of next month)."""
    day = local(now, tz).date()
    if account_type == "subscription":
        return _at(day + timedelta(days=1), when, tz)
    first = (day.replace(day=1) + timedelta(days=32)).replace(day=1)
    return _at(first, when, tz)


def next_day_window(now: datetime, when: time, tz: str) -> datetime:
    return _at(local(now, tz).date() + timedelta(days=1), when, tz)
