"""Working days by the State Council calendar, and timeliness counted in SQL.

Spring Festival 2017: 27 January – 2 February off; Sunday 22 January and Saturday
4 February were make-up working days (调休).
"""

from __future__ import annotations

from datetime import date
from typing import Any

from pipeline.config import Settings
from pipeline.db import make_engine
from pipeline.report import build_report
from pipeline.report.workdays import WorkdayCalendar
from pipeline.schema import upgrade
from tests.helpers import TEST_AGENCY, TEST_AGENCY_NAME, register_agencies
from tests.pipeline.report_support import CHANNELS, LogWriter, local


def test_holidays_and_make_up_working_days() -> None:
    calendar = WorkdayCalendar()
    assert calendar.is_workday(date(2017, 1, 22))  # a Sunday, worked
    assert calendar.is_workday(date(2017, 2, 4))  # a Saturday, worked
    assert not calendar.is_workday(date(2017, 1, 30))  # a Monday, Spring Festival
    assert calendar.between(date(2017, 1, 21), date(2017, 1, 22)) == 1
    assert calendar.between(date(2017, 1, 26), date(2017, 2, 3)) == 1  # the whole week off
    assert calendar.between(date(2017, 1, 20), date(2017, 2, 22)) == 20
    # Monday to Friday alone would put the 20th working day on 17 February.
    assert calendar.deadline(date(2017, 1, 20)) == date(2017, 2, 22)
    ordinals = calendar.ordinals(date(2017, 1, 20), date(2017, 2, 23))
    assert ordinals[date(2017, 2, 22)] - ordinals[date(2017, 1, 20)] == 20
    assert ordinals[date(2017, 2, 23)] - ordinals[date(2017, 1, 26)] == 16
    assert calendar.assumed_years == set()


def test_years_without_an_official_calendar_assume_weekdays_and_say_so() -> None:
    calendar = WorkdayCalendar()
    assert calendar.is_workday(date(2099, 1, 1))  # a Thursday
    assert not calendar.is_workday(date(2099, 1, 3))  # a Saturday
    assert calendar.assumed_years == {2099}


def test_timeliness_across_the_spring_festival(settings_for: Any, db_url: str) -> None:
    engine = make_engine(db_url)
    upgrade(engine)
    register_agencies(engine, {TEST_AGENCY: TEST_AGENCY_NAME})
    writer = LogWriter(engine)
    on_time = writer.item(formed=date(2017, 1, 20), title="节前形成、第20个工作日公开")
    late = writer.item(formed=date(2017, 1, 20), title="节前形成、第21个工作日公开")
    same_day = writer.item(formed=date(2017, 3, 1))
    revised = writer.item(formed=date(2017, 1, 3))
    writer.deliver(on_time, "site", local(2017, 2, 22, 17))
    writer.deliver(late, "site", local(2017, 2, 23, 0, 30))
    writer.deliver(late, "wx", local(2017, 1, 21))  # WeChat first does not make it timely
    writer.deliver(same_day, "site", local(2017, 3, 1, 18))
    # Superseded before the website had it: revision 2 (formed 3 March) went out first.
    writer.revise(revised, local(2017, 3, 3), generated_on=date(2017, 3, 3))
    writer.deliver(revised, "site", local(2017, 3, 6), revision=2)
    writer.write()

    settings: Settings = settings_for(database_url=db_url, channels=CHANNELS)
    timely = build_report(engine, settings, 2017).counts.timeliness
    assert (timely.published, timely.late, timely.max_workdays) == (4, 1, 21)
    (listed,) = timely.late_items
    assert listed.title == "节前形成、第21个工作日公开"
    assert (listed.generated_on, listed.published_on, listed.workdays) == (
        date(2017, 1, 20),
        date(2017, 2, 23),
        21,
    )
    assert timely.average_workdays == round((20 + 21 + 0 + 1) / 4, 1)
    engine.dispose()
