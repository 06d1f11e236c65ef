"""Working days (工作日) by the State Council holiday calendar.

Art. 26 of the Regulations gives 20 working days from the information being formed
to its proactive disclosure. A working day is what the State Council's yearly notice
says: weekends and statutory holidays off, make-up working days (调休) on. The
``chinesecalendar`` package carries those notices; for a year it does not know yet
(or no longer) Monday to Friday is assumed and the year is remembered, so the
report can say so instead of pretending to know.
"""

from __future__ import annotations

from datetime import date, timedelta

import chinese_calendar

DISCLOSURE_LIMIT = 20  # working days, Art. 26


class WorkdayCalendar:
    """Working days, with the years where the official calendar was missing."""

    def __init__(self) -> None:
        self.assumed_years: set[int] = set()

    def is_workday(self, day: date) -> bool:
        try:
            return bool(chinese_calendar.is_workday(day))
        except NotImplementedError:
            self.assumed_years.add(day.year)
            return day.weekday() < 5

    def between(self, formed: date, published: date) -> int:
        """Working days after ``formed`` up to and including ``published`` (0 when the
        item went out the day it was formed, or earlier)."""
        days = 0
        day = formed + timedelta(days=1)
        while day <= published:
            days += self.is_workday(day)
            day += timedelta(days=1)
        return days

    def ordinals(self, first: date, last: date) -> dict[date, int]:
        """Each day of ``first``…``last`` with the number of working days after ``first``
        up to it: ``ordinals[b] - ordinals[a]`` is :meth:`between` ``(a, b)``. Lets the
        database count working days with two joins instead of a loop per item."""
        out: dict[date, int] = {}
        count = 0
        day = first
        while day <= last:
            if day != first:
                count += self.is_workday(day)
            out[day] = count
            day += timedelta(days=1)
        return out

    def deadline(self, formed: date, limit: int = DISCLOSURE_LIMIT) -> date:
        """The last day on which an item formed on ``formed`` is still on time."""
        day, left = formed, limit
        while left:
            day += timedelta(days=1)
            left -= self.is_workday(day)
        return day
