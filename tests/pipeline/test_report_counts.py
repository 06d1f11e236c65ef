"""The counting rules of the annual report, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine

from pipeline.config import ChannelConfig, Settings
from pipeline.db import make_engine
from pipeline.model import ItemIn
from pipeline.report import build_report
from pipeline.report.figures import parse_figures
from pipeline.runner import run_delivery
from pipeline.schema import upgrade
from pipeline.services import build_services
from tests.helpers import TEST_AGENCY, TEST_AGENCY_NAME, make_item, register_agencies
from tests.pipeline.report_support import (
    AGENCY,
    ARCHIVED_ITEMS,
    CHANNELS,
    KNOWN_CATEGORIES,
    LIBRARY_ITEMS,
    WEBSITE_ITEMS,
    WECHAT_ITEMS,
    KnownYear,
    LogWriter,
    local,
    utc,
)


@pytest.fixture
def engine(db_url: str) -> Any:
    built = make_engine(db_url)
    upgrade(built)
    register_agencies(built, {TEST_AGENCY: TEST_AGENCY_NAME})
    yield built
    built.dispose()


@pytest.fixture
def settings(settings_for: Any, db_url: str) -> Settings:
    built: Settings = settings_for(database_url=db_url, channels=CHANNELS)
    return built


@pytest.fixture
def known(engine: Engine) -> KnownYear:
    return KnownYear(LogWriter(engine))


def test_a_known_year_reports_exactly_its_figures(
    engine: Engine, settings: Settings, known: KnownYear
) -> None:
    report = build_report(engine, settings, 2017, agency=AGENCY)
    counts = report.counts
    assert (counts.totals.portal, counts.totals.other, counts.totals.deposit) == (
        WEBSITE_ITEMS,
        WECHAT_ITEMS,
        ARCHIVED_ITEMS,
    )
    assert {(c.category, c.subcategory): c.items for c in counts.categories} == KNOWN_CATEGORIES
    assert report.category_totals() == [
        ("政策法规", 100),
        ("规划计划", 58),
        ("业务工作", 120),
        ("其他信息", 30),
    ]
    per_channel = {c.channel: (c.kind, c.role, c.items) for c in counts.channels}
    assert per_channel == {
        "site": ("website", "portal", WEBSITE_ITEMS),
        "wx": ("wechat", "other", WECHAT_ITEMS),
        "dag": ("archive", "deposit", ARCHIVED_ITEMS),
        "lib": ("archive", "deposit", LIBRARY_ITEMS),
    }
    assert all(sum(c.monthly) == c.items for c in counts.channels)
    assert "4类308条" in report.narrative
    assert "通过其他渠道公开153条" in report.narrative and "向档案馆、图书馆报送137条" in report.narrative
    assert report.agency_name == "张店区教育局"


def test_every_agency_together_and_the_agency_filter(
    engine: Engine, settings: Settings, known: KnownYear
) -> None:
    everyone = build_report(engine, settings, 2017).counts.totals
    assert (everyone.portal, everyone.other, everyone.deposit) == (WEBSITE_ITEMS + 7, WECHAT_ITEMS + 7, 137)
    nobody = build_report(engine, settings, 2017, agency="000000000").counts.totals
    assert (nobody.portal, nobody.other, nobody.deposit) == (0, 0, 0)


def test_deliveries_around_midnight_of_31_december_land_in_the_local_year(
    engine: Engine, settings: Settings, known: KnownYear
) -> None:
    site_2017 = next(c for c in build_report(engine, settings, 2017).counts.channels if c.channel == "site")
    assert site_2017.monthly[0] >= 1 and site_2017.monthly[11] >= 1
    report_2018 = build_report(engine, settings, 2018)
    assert report_2018.counts.totals.portal == 1  # 2017-12-31T20:00Z is 2018-01-01 in Shanghai
    site = next(c for c in report_2018.counts.channels if c.channel == "site")
    assert site.monthly[0] == 1
    report_2016 = build_report(engine, settings, 2016)
    assert report_2016.counts.totals.portal == 5  # 2016-12-31T16:30Z is already 2017 there


def test_the_first_month_and_last_minute_items_are_in_2017(engine: Engine, settings: Settings) -> None:
    writer = LogWriter(engine)
    first, last, after = writer.item(), writer.item(), writer.item()
    writer.deliver(first, "site", utc(2016, 12, 31, 16, 0))  # 00:00 on 1 January in Shanghai
    writer.deliver(last, "site", utc(2017, 12, 31, 15, 59, 59))  # 23:59:59 on 31 December
    writer.deliver(after, "site", utc(2017, 12, 31, 16, 0))  # 00:00 on 1 January 2018
    writer.write()
    months = {c.channel: c.monthly for c in build_report(engine, settings, 2017).counts.channels}
    assert months["site"][0] == 1 and months["site"][11] == 1 and sum(months["site"]) == 2
    assert build_report(engine, settings, 2018).counts.totals.portal == 1


def test_revisions_retries_and_redeliveries_never_count_twice(
    engine: Engine, settings: Settings, known: KnownYear
) -> None:
    report = build_report(engine, settings, 2017, agency=AGENCY)
    # item counted[10] has two delivered revisions on site and wx in 2017; the five
    # 2016 items were redelivered in 2017 as revision 2; 1 in 10 needed retries or a
    # second task after a lost worker: none of it changes a figure.
    assert report.counts.totals.portal == WEBSITE_ITEMS
    assert report.counts.totals.other == WECHAT_ITEMS
    log = {(o.channel, o.outcome): o.events for o in report.counts.log}
    assert log[("site", "retry")] > 0 and log[("site", "lost")] > 0  # the attempts are in the log
    assert log[("site", "dead")] == 1


def test_a_retracted_item_still_counts_and_is_listed(
    engine: Engine, settings: Settings, known: KnownYear
) -> None:
    report = build_report(engine, settings, 2017, agency=AGENCY)
    assert report.counts.totals.portal == WEBSITE_ITEMS
    retracted = report.counts.retractions
    assert retracted.count == 2
    listed = {r.index_no: r for r in retracted.items}
    mine = listed[f"{AGENCY}/2017-{known.retracted:05d}"]
    assert mine.reason == "内容有误" and mine.first_delivered_at is not None
    assert mine.retracted_at.utcoffset() == timedelta(hours=8)
    earlier = listed[f"{AGENCY}/2016-{known.retracted_earlier:05d}"]
    assert earlier.first_delivered_at is not None and earlier.first_delivered_at.year == 2016
    assert "撤回已公开信息2条" in report.narrative


def test_the_real_runner_retrying_and_a_redelivered_task_count_once(settings_for: Any, db_url: str) -> None:
    services = build_services(
        settings_for(
            database_url=db_url,
            channels={"memory": ChannelConfig(kind="memory", options={"fail_first_attempts": 2})},
        )
    )
    upgrade(services.engine)
    register_agencies(services.engine, {TEST_AGENCY: TEST_AGENCY_NAME})
    moment = local(2017, 6, 1, 9)
    services.clock = lambda: moment
    item = ItemIn.model_validate({**make_item(1), "source": "test"})
    ((delivery, channel),) = services.store.accept(item, {"memory": True}, now=moment).work
    states = []
    for hour in range(1, 5):
        later = moment + timedelta(hours=hour)
        services.clock = lambda later=later: later  # type: ignore[misc]
        states.append(run_delivery(services, delivery, channel))
    assert states == ["retrying", "retrying", "delivered", "not-claimed"]  # the last: a task run twice
    report = build_report(services.engine, services.settings, 2017)
    assert report.counts.totals.other == 1  # the memory kind is another channel
    assert [(o.outcome, o.events) for o in report.counts.log] == [("delivered", 1), ("retry", 2)]
    services.engine.dispose()


def test_table_two_documents_follow_last_year(engine: Engine, settings: Settings) -> None:
    writer = LogWriter(engine)
    normative = {"genre": "规范性文件", "validity": "有效"}
    repealed_this_year = writer.item(formed=date(2016, 3, 1), **normative)
    still_valid = writer.item(formed=date(2016, 4, 1), **normative)
    for pk in (repealed_this_year, still_valid):
        writer.deliver(pk, "site", local(2016, 4, 10))
    issued = writer.item(formed=date(2017, 2, 1), **normative)
    issued_and_repealed = writer.item(formed=date(2017, 3, 1), **normative)
    for pk in (issued, issued_and_repealed):
        writer.deliver(pk, "site", local(2017, 3, 10))
    writer.revise(issued_and_repealed, local(2017, 9, 1), validity="废止")
    writer.revise(repealed_this_year, local(2017, 10, 1), validity="失效")
    never_published = writer.item(formed=date(2017, 5, 1), **normative)
    writer.deliver(never_published, "site", local(2017, 5, 2), outcomes=("dead",))
    writer.item(formed=date(2017, 5, 1), genre="规章", validity="有效")  # not on the website
    writer.write()

    rows = {row.key: row for row in build_report(engine, settings, 2017).counts.documents}
    row = rows["normative"]
    assert (row.issued, row.repealed, row.in_force) == (2, 2, 2)
    assert (row.last_year_in_force, row.last_year_source) == (2, "log")
    assert (rows["rules"].issued, rows["rules"].in_force) == (0, 0)
    report = build_report(engine, settings, 2017)
    # "no figures file", and the two 规范性文件 first published this year without a 政策解读
    assert len(report.counts.uninterpreted) == 2
    assert [w for w in report.warnings[1:] if "政策解读" not in w] == []

    figures = parse_figures({"year": 2017, "table2": {"last_year_in_force": {"normative": 5}}}, 2017)
    report = build_report(engine, settings, 2017, figures=figures, figures_source="f.toml")
    assert report.counts.documents[1].last_year_source == "figures"
    (warning,) = [w for w in report.warnings if "政策解读" not in w]
    assert "行政规范性文件" in warning and "5" in warning and "= 5" in warning


def test_a_repeal_counts_in_the_local_year_of_its_revision(engine: Engine, settings: Settings) -> None:
    """有效性 changes by revision: the year is the local year in which the revision with
    废止/失效 was accepted, never the year of the document or of its first delivery."""
    writer = LogWriter(engine)
    normative = {"genre": "规范性文件", "validity": "有效"}
    at_new_year = writer.item(formed=date(2016, 3, 1), **normative)
    in_2017 = writer.item(formed=date(2016, 4, 1), **normative)
    for pk in (at_new_year, in_2017):
        writer.deliver(pk, "site", local(2016, 4, 10))
    writer.revise(in_2017, local(2017, 6, 1), validity="失效")
    writer.revise(at_new_year, local(2018, 1, 1, 0, 30), validity="废止")  # 2017-12-31T16:30Z
    writer.revise(in_2017, local(2018, 3, 1), title="失效文件的更正")  # still 失效: no second repeal
    writer.write()

    def normative_row(year: int) -> tuple[int, int, int]:
        (row,) = [r for r in build_report(engine, settings, year).counts.documents if r.key == "normative"]
        return row.issued, row.repealed, row.in_force

    assert normative_row(2016) == (2, 0, 2)
    assert normative_row(2017) == (0, 1, 1)  # 失效 in June; the new-year repeal not yet
    assert normative_row(2018) == (0, 1, 0)  # repealed half an hour into 2018, Shanghai time
