"""Timeliness: working days from 生成日期 to the first website publication.

The working-day calendar is computed once in Python (a few hundred days) and handed
to the database as a table of (day, working-day ordinal); the working days of an
item are then ``ordinal(published) - ordinal(formed)``, so the average, the maximum,
the count over the limit and the list of late items are each one query however many
items the year has.

The date formed is that of the revision the website received first; the publication
date is the local date of that delivery. Items formed more than ten years before the
year are measured from the calendar's first day, and marked as "at least".
"""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import Connection, and_, case, func, insert, select

from pipeline.report.counts import ITEMS, LIST_LIMIT, D, R, delivered, latest_title
from pipeline.report.model import LateItem, Timeliness
from pipeline.report.scope import ChannelRoles, Role, Scope, as_int
from pipeline.report.scratch import PORTAL, PUBLISHED, WORKDAYS, analyze, scratch
from pipeline.report.workdays import DISCLOSURE_LIMIT, WorkdayCalendar

LOOKBACK_YEARS = 10


def published_items(scope: Scope, roles: ChannelRoles, dialect: str) -> Any:
    """``(item_pk, formed, published_on)`` for each item first on the website in the year."""
    firsts = PORTAL
    x = D.alias("x")
    first_revision = (
        select(firsts.c.item_pk, firsts.c.first_at, func.min(R.c.generated_on).label("formed"))
        .select_from(
            firsts.join(
                x,
                and_(
                    x.c.item_pk == firsts.c.item_pk,
                    x.c.delivered_at == firsts.c.first_at,
                    delivered(x),
                    roles.plays(x.c.kind, Role.PORTAL),
                ),
            ).join(R, R.c.pk == x.c.revision_pk)
        )
        .group_by(firsts.c.item_pk, firsts.c.first_at)
        .subquery("first_revision")
    )
    return select(
        first_revision.c.item_pk,
        first_revision.c.formed,
        scope.local_date(first_revision.c.first_at, dialect).label("published_on"),
    ).subquery("published")


def timeliness(
    conn: Connection,
    scope: Scope,
    roles: ChannelRoles,
    calendar: WorkdayCalendar,
    limit: int = DISCLOSURE_LIMIT,
) -> Timeliness:
    """Working days of every item first on the website in the year (reads
    :data:`~pipeline.report.scratch.PORTAL`; fills and drops its own scratch tables)."""
    with scratch(conn, PUBLISHED, WORKDAYS):
        return _measure(conn, scope, roles, calendar, limit)


def measured_items(
    conn: Connection, scope: Scope, roles: ChannelRoles, calendar: WorkdayCalendar
) -> tuple[Any, int]:
    """``(item_pk, formed, published_on, workdays, at_least)`` of every item first on the
    website in the year, and how many there are ((None, 0) when none). Fills the scratch
    tables ``PUBLISHED`` and ``WORKDAYS``, which must exist (:func:`timeliness` makes them;
    the platform summary groups the same rows by agency)."""
    pub = published_items(scope, roles, conn.dialect.name)
    conn.execute(insert(PUBLISHED).from_select(["item_pk", "formed", "published_on"], select(pub)))
    analyze(conn, PUBLISHED)
    earliest, published = conn.execute(select(func.min(PUBLISHED.c.formed), func.count())).one()
    if not published:
        return None, 0
    # From the earliest 生成日期 (at most LOOKBACK_YEARS back) and never after 1 January:
    # an item stored with a 生成日期 after its publication (a future date) is measured
    # as 0 working days, and the calendar always holds every publication day of the year.
    lookback = date(scope.year - LOOKBACK_YEARS, 1, 1)
    first_day = min(max(_as_date(earliest), lookback), date(scope.year, 1, 1))
    last_day = scope.last_day
    ordinals = calendar.ordinals(first_day, last_day)
    conn.execute(insert(WORKDAYS), [{"day": day, "ord": n} for day, n in ordinals.items()])
    analyze(conn, WORKDAYS)
    formed_at, published_at = WORKDAYS.alias("formed_at"), WORKDAYS.alias("published_at")
    formed = case(
        (PUBLISHED.c.formed < first_day, first_day),
        (PUBLISHED.c.formed > last_day, last_day),
        else_=PUBLISHED.c.formed,
    )
    span = published_at.c.ord - formed_at.c.ord
    measured = (
        select(
            PUBLISHED.c.item_pk,
            PUBLISHED.c.formed,
            PUBLISHED.c.published_on,
            case((span < 0, 0), else_=span).label("workdays"),
            (PUBLISHED.c.formed < first_day).label("at_least"),
        )
        .select_from(
            PUBLISHED.join(formed_at, formed_at.c.day == formed).join(
                published_at, published_at.c.day == PUBLISHED.c.published_on
            )
        )
        .subquery("measured")
    )
    return measured, int(published)


def _measure(
    conn: Connection, scope: Scope, roles: ChannelRoles, calendar: WorkdayCalendar, limit: int
) -> Timeliness:
    measured, published = measured_items(conn, scope, roles, calendar)
    if measured is None:
        return Timeliness(
            limit_workdays=limit,
            published=0,
            late=0,
            average_workdays=None,
            max_workdays=None,
            late_items=[],
            assumed_years=[],
        )
    late = measured.c.workdays > limit
    n_late, average, longest = conn.execute(
        select(
            func.sum(case((late, 1), else_=0)),
            func.avg(measured.c.workdays),
            func.max(measured.c.workdays),
        )
    ).one()
    rows = conn.execute(
        select(
            ITEMS.c.index_no,
            latest_title(ITEMS.c.pk).label("title"),
            measured.c.formed,
            measured.c.published_on,
            measured.c.workdays,
            measured.c.at_least,
        )
        .join_from(measured, ITEMS, ITEMS.c.pk == measured.c.item_pk)
        .where(late)
        .order_by(measured.c.workdays.desc(), ITEMS.c.index_no)
        .limit(LIST_LIMIT)
    ).all()
    return Timeliness(
        limit_workdays=limit,
        published=as_int(published),
        late=as_int(n_late),
        average_workdays=None if average is None else round(float(average), 1),
        max_workdays=None if longest is None else int(longest),
        late_items=[
            LateItem(
                index_no=r.index_no,
                title=r.title,
                generated_on=_as_date(r.formed),
                published_on=_as_date(r.published_on),
                workdays=int(r.workdays),
                at_least=bool(r.at_least),
            )
            for r in rows
        ],
        assumed_years=sorted(calendar.assumed_years),
    )


def _as_date(value: Any) -> date:
    """SQLite hands back computed dates as ISO text."""
    return value if isinstance(value, date) else date.fromisoformat(str(value))
