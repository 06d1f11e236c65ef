"""Broadcast windows and quota periods, counted in the agency's time zone.

A subscription account (订阅号) may mass-send once a local day, a service account
(服务号) four times a local month; govpub sends at most once a day. Each day has one
window (:class:`Window`): the send is gathered at the cut-off, previewed, and sent at
``broadcast_time``. WeChat's own daily API quotas (45009) reset at midnight China time.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
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


# -- the day's mass send ------------------------------------------------------------
CHINA = ZoneInfo("Asia/Shanghai")  # WeChat's clock: its daily quotas reset at midnight here


def quota_reset(now: datetime) -> datetime:
    """When WeChat's daily quotas (45009) start again: the next midnight, China time."""
    day = now.astimezone(CHINA).date() + timedelta(days=1)
    return datetime.combine(day, time(0, 0), tzinfo=CHINA)


@dataclass(frozen=True)
class Window:
    """One day's mass send: gathered at ``cutoff``, previewed at ``preview_at``, sent at
    ``send_at`` (aware datetimes); ``name`` is its local date. An operator's send-now
    order (``early``) brings the cut-off and the send to that moment, without preview."""

    name: str
    cutoff: datetime
    preview_at: datetime | None
    send_at: datetime
    early: datetime | None = None

    def sent_early(self, at: datetime) -> Window:
        """The operator's order: what is ready when it is given goes at once (previewed
        first, if previews are configured)."""
        preview = at if self.preview_at is not None else None
        return Window(self.name, at, preview, at, at)


def window_on(day: date, options: Any, tz: str) -> Window:
    preview = options.preview_time
    return Window(
        name=day.isoformat(),
        cutoff=_at(day, options.cutoff_time, tz),
        preview_at=_at(day, preview, tz) if preview is not None else None,
        send_at=_at(day, options.broadcast_time, tz),
    )


def todays_send(now: datetime, options: Any, tz: str) -> Window:
    return window_on(local(now, tz).date(), options, tz)


def next_gathering(now: datetime, options: Any, tz: str, period_used: bool) -> Window:
    """The next window that may send: tomorrow's, or the first of the next quota period
    when this one's quota is used (a service account's four a month)."""
    day = local(now, tz).date()
    if period_used and options.account_type != "subscription":
        return window_on((day.replace(day=1) + timedelta(days=32)).replace(day=1), options, tz)
    return window_on(day + timedelta(days=1), options, tz)


def hhmm(at: datetime, tz: str) -> str:
    return local(at, tz).strftime("%Y-%m-%d %H:%M")
