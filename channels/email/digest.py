"""When the daily digest goes: ``digest_time`` each local day. An item joins the first
digest after it went live; its delivery waits (``NotDue``) until then, the way WeChat's
daily broadcast and the archive's periods wait."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo


def window_after(moment: datetime, at: str, tz: str) -> datetime:
    """The first digest time at or after ``moment`` (aware)."""
    zone = ZoneInfo(tz)
    here = moment.astimezone(zone)
    hour, minute = (int(p) for p in at.split(":"))
    today = datetime.combine(here.date(), time(hour, minute), tzinfo=zone)
    return (
        today
        if today >= here
        else datetime.combine(here.date() + timedelta(days=1), time(hour, minute), tzinfo=zone)
    )


def day_of(window: datetime, tz: str) -> str:
    """The digest's name: its local date."""
    return window.astimezone(ZoneInfo(tz)).date().isoformat()
