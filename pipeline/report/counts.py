"""The year's counts, straight from the delivery log, each one SQL aggregation.

The counts of the channels, the roles and the log's outcomes are read from the
counters kept as deliveries change (:mod:`pipeline.counters`, a few hundred rows a
year); the functions here that scan the log count the same thing and serve a report in
another time zone than the counters' and the recount's cross-check in the tests.

The counting rule (docs/report.md): an item counts once per channel, in the year of
its *first* successful publish delivery to that channel (``MIN(delivered_at)`` of
the ``publish`` deliveries in state ``delivered`` or ``unconfirmed``). Retried attempts are events of
one delivery and a redelivered task cannot deliver a row twice, so neither can count
twice; a later revision is a later delivery of an item already counted, so it does
not count again; a retraction is an item fact of its own, counted apart, and leaves
the disclosure counted. The year filter compares stored UTC instants with the UTC
bounds of the local year, so it runs on the ``delivered_at`` index, and "first" is a
``NOT EXISTS`` probe on ``(item_pk, channel)`` for an earlier delivery. The
portal's (政府网站's) items of the year are kept in a scratch table (:mod:`.scratch`) for the
counts that join them further.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import Connection, and_, exists, func, insert, select, true
from sqlalchemy.sql import Subquery
from sqlalchemy.sql.elements import ColumnElement

from pipeline import counters, db, registry, states
from pipeline.report.model import CategoryCount, ChannelCount, LogOutcome, Retraction, Retractions, RoleTotals
from pipeline.report.scope import ROLES, ChannelRoles, Role, Scope, as_int
from pipeline.report.scratch import PORTAL, analyze

D, ITEMS, R, E, C = db.deliveries, db.items, db.revisions, db.delivery_events, db.counters
LIST_LIMIT = 2000  # rows listed in a report (late items, retractions); the counts stay exact
ChannelFilter = Callable[[Any], ColumnElement[bool]]


def delivered(table: Any) -> ColumnElement[bool]:
    """A publish delivery that reached its channel: ``delivered``, or ``unconfirmed`` (it went
    out for good, e.g. a WeChat mass send, and its result is still to be confirmed), also
    while a worker asks for that result (``sending`` with its ``delivered_at`` kept)."""
    return and_(
        table.c.action == "publish",
        table.c.state.in_((*states.REACHED_STATES, "sending")),
        table.c.delivered_at.is_not(None),
    )


def of_agency(scope: Scope, table: Any) -> ColumnElement[bool] | None:
    """One agency's rows of ``table`` (deliveries or items: each carries ``agency_code``,
    a delivery its item's, so the filter walks the ``(agency_code, delivered_at)`` index)."""
    if scope.agency is None:
        return None
    return table.c.agency_code == scope.agency


def first_deliveries(
    scope: Scope, channels: ChannelFilter | None = None, per_channel: bool = True
) -> Subquery:
    """``(item_pk[, channel, kind], first_at)`` of every item first delivered in the year:
    per channel instance, or (``per_channel=False``) to any channel of ``channels``.

    The year's deliveries come from the ``delivered_at`` index; an earlier delivery
    of the same item (to the same channel, or to any of ``channels``) rules it out."""
    d, e = D.alias("d"), D.alias("e")
    same = e.c.channel == d.c.channel if per_channel else channels(e) if channels else true()
    earlier = exists().where(e.c.item_pk == d.c.item_pk, delivered(e), e.c.delivered_at < scope.start, same)
    columns = [d.c.item_pk, d.c.channel, d.c.kind] if per_channel else [d.c.item_pk]
    query = (
        select(*columns, func.min(d.c.delivered_at).label("first_at"))
        .where(delivered(d), d.c.delivered_at >= scope.start, d.c.delivered_at < scope.end, ~earlier)
        .group_by(*columns)
    )
    if channels is not None:
        query = query.where(channels(d))
    agency = of_agency(scope, d)
    if agency is not None:
        query = query.where(agency)
    return query.subquery("firsts")


def role_firsts(scope: Scope, roles: ChannelRoles, role: Role) -> Subquery:
    """Items first delivered in the year to any channel playing ``role`` (an item on
    two portal instances is one item, of the year the first of them had it)."""
    return first_deliveries(scope, lambda t: roles.plays(t.c.kind, role), per_channel=False)


def collect_portal(conn: Connection, scope: Scope, roles: ChannelRoles) -> None:
    """Fill :data:`PORTAL` with the items first on a portal (政府网站) in the year: the
    categories and the timeliness both start from them."""
    portal = role_firsts(scope, roles, Role.PORTAL)
    conn.execute(insert(PORTAL).from_select(["item_pk", "first_at"], select(portal)))
    analyze(conn, PORTAL)


def kept(scope: Scope) -> bool:
    """The counters answer for this scope (they are kept by day in their time zone)."""
    return scope.tz.key == counters.ZONE_NAME


def in_counters(scope: Scope, measure: str) -> list[ColumnElement[bool]]:
    """The counter rows of ``measure`` in the scope's year and agency."""
    where = [C.c.measure == measure, C.c.day >= date(scope.year, 1, 1), C.c.day <= scope.last_day]
    return where if scope.agency is None else [*where, C.c.agency_code == scope.agency]


def channel_counts(conn: Connection, scope: Scope, roles: ChannelRoles) -> list[ChannelCount]:
    """Per channel instance: items first delivered in the year, by local month."""
    monthly = monthly_counted(conn, scope) if kept(scope) else monthly_from_log(conn, scope)
    order = {role: i for i, role in enumerate(ROLES)}
    counts = [
        ChannelCount(
            channel=name,
            kind=kind,
            label=registry.label(kind),
            role=roles.role(kind),
            items=sum(by_month),
            monthly=by_month,
        )
        for (name, kind), by_month in monthly.items()
        if any(by_month)
    ]
    return sorted(counts, key=lambda c: (order[c.role], c.channel))


def monthly_counted(conn: Connection, scope: Scope) -> dict[tuple[str, str], list[int]]:
    """{(channel, kind): items first delivered per local month}, from the counters."""
    rows = conn.execute(
        select(C.c.name, C.c.detail, C.c.day, func.sum(C.c.n))
        .where(*in_counters(scope, "reached"))
        .group_by(C.c.name, C.c.detail, C.c.day)
    ).all()
    monthly: dict[tuple[str, str], list[int]] = {}
    for channel, kind, day, count in rows:
        month = day.month if isinstance(day, date) else date.fromisoformat(str(day)).month
        monthly.setdefault((channel, kind), [0] * 12)[month - 1] += int(count)
    return monthly


def monthly_from_log(conn: Connection, scope: Scope) -> dict[tuple[str, str], list[int]]:
    """:func:`monthly_counted`, scanning the log."""
    firsts = first_deliveries(scope)
    months = select(
        firsts.c.channel, firsts.c.kind, scope.month_of(firsts.c.first_at).label("month")
    ).subquery()
    rows = conn.execute(
        select(months.c.channel, months.c.kind, months.c.month, func.count())
        .group_by(months.c.channel, months.c.kind, months.c.month)
        .order_by(months.c.channel, months.c.kind)
    ).all()
    monthly: dict[tuple[str, str], list[int]] = {}
    for channel, kind, month, count in rows:
        monthly.setdefault((channel, kind), [0] * 12)[int(month) - 1] = int(count)
    return monthly


def role_totals(conn: Connection, scope: Scope, roles: ChannelRoles) -> RoleTotals:
    """Distinct items per role: from the counters, else the log (the portal's from
    :data:`PORTAL`, which must have been collected)."""
    if kept(scope):
        rows = conn.execute(
            select(C.c.name, C.c.detail, func.sum(C.c.n))
            .where(*in_counters(scope, "role"))
            .group_by(C.c.name, C.c.detail)
        ).all()
        if all(seal == counters.roles_seal() for _, seal, n in rows if n):  # counted by today's roles
            found = {name: as_int(n) for name, _, n in rows}
            return RoleTotals(**{role.value: found.get(role.value, 0) for role in ROLES})
    totals = {Role.PORTAL.value: as_int(conn.execute(select(func.count()).select_from(PORTAL)).scalar_one())}
    for role in (Role.OTHER, Role.DEPOSIT):
        firsts = role_firsts(scope, roles, role)
        totals[role.value] = as_int(conn.execute(select(func.count()).select_from(firsts)).scalar_one())
    return RoleTotals(**totals)


def revisions_at(items: Any, moment: Any) -> Any:
    """``(item_pk, revision)``: each item's latest revision accepted before ``moment``
    (the catalogue as it stood then), for the items of the ``items`` subquery."""
    r = R.alias("r_at")
    return (
        select(r.c.item_pk, func.max(r.c.revision).label("revision"))
        .where(r.c.item_pk.in_(items), r.c.accepted_at < moment)
        .group_by(r.c.item_pk)
        .subquery("in_force")
    )


def category_counts(conn: Connection, scope: Scope) -> list[CategoryCount]:
    """Portal items of the year by 主题分类 and sub-class, as catalogued at year end."""
    in_force = revisions_at(select(PORTAL.c.item_pk), scope.end)
    rows = conn.execute(
        select(R.c.category, R.c.subcategory, func.count())
        .select_from(
            in_force.join(R, and_(R.c.item_pk == in_force.c.item_pk, R.c.revision == in_force.c.revision))
        )
        .group_by(R.c.category, R.c.subcategory)
        .order_by(R.c.category, R.c.subcategory)
    ).all()
    return [CategoryCount(category=c, subcategory=s, items=int(n)) for c, s, n in rows]


def latest_title(item_pk: Any) -> Any:
    return (
        select(R.c.title)
        .where(R.c.item_pk == item_pk, R.c.revision == ITEMS.c.latest_revision)
        .scalar_subquery()
    )


def retractions(conn: Connection, scope: Scope) -> Retractions:
    """Items retracted in the year: counted apart; their disclosure still counts."""
    where = [ITEMS.c.retracted_at >= scope.start, ITEMS.c.retracted_at < scope.end]
    if scope.agency is not None:
        where.append(ITEMS.c.agency_code == scope.agency)
    count = conn.execute(select(func.count()).select_from(ITEMS).where(*where)).scalar_one()
    first = (
        select(func.min(D.c.delivered_at)).where(D.c.item_pk == ITEMS.c.pk, delivered(D)).scalar_subquery()
    )
    rows = conn.execute(
        select(
            ITEMS.c.index_no,
            latest_title(ITEMS.c.pk).label("title"),
            ITEMS.c.retracted_at,
            ITEMS.c.retract_reason,
            first.label("first_delivered_at"),
        )
        .where(*where)
        .order_by(ITEMS.c.retracted_at, ITEMS.c.index_no)
        .limit(LIST_LIMIT)
    ).all()
    return Retractions(
        count=as_int(count),
        items=[
            Retraction(
                index_no=r.index_no,
                title=r.title,
                retracted_at=r.retracted_at.astimezone(scope.tz),
                reason=r.retract_reason or "",
                first_delivered_at=_aware(r.first_delivered_at, scope),
            )
            for r in rows
        ],
    )


def _aware(value: Any, scope: Scope) -> Any:
    """A MIN() over a UTC column comes back untyped on SQLite: make it aware, local."""
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value).replace(tzinfo=UTC)
    return value.astimezone(scope.tz)


def log_outcomes(conn: Connection, scope: Scope) -> list[LogOutcome]:
    """Attempts logged in the year, per channel and outcome (delivered, retry, dead …)."""
    if kept(scope):
        rows = conn.execute(
            select(C.c.name, C.c.detail, func.sum(C.c.n))
            .where(*in_counters(scope, "event"))
            .group_by(C.c.name, C.c.detail)
            .order_by(C.c.name, C.c.detail)
        ).all()
        return [LogOutcome(channel=c, outcome=o, events=int(n)) for c, o, n in rows if n]
    query = (
        select(D.c.channel, E.c.outcome, func.count())
        .select_from(E.join(D, D.c.id == E.c.delivery_id))
        .where(E.c.at >= scope.start, E.c.at < scope.end)
        .group_by(D.c.channel, E.c.outcome)
        .order_by(D.c.channel, E.c.outcome)
    )
    agency = of_agency(scope, D)
    if agency is not None:
        query = query.where(agency)
    return [LogOutcome(channel=c, outcome=o, events=int(n)) for c, o, n in conn.execute(query).all()]


def agency_name(conn: Connection, scope: Scope) -> tuple[str | None, str | None]:
    """(code, name) of the reporting agency: the one asked for, or the only one in the
    store; ``(None, None)`` when several agencies share the installation."""
    code = scope.agency
    if code is None:
        codes = conn.execute(select(ITEMS.c.agency_code).distinct().limit(2)).scalars().all()
        if len(codes) != 1:
            return None, None
        code = codes[0]
    registered = conn.execute(select(db.agencies.c.name).where(db.agencies.c.code == code)).scalar()
    if registered:
        return code, str(registered)
    document = conn.execute(
        select(R.c.document)
        .join(ITEMS, ITEMS.c.pk == R.c.item_pk)
        .where(ITEMS.c.agency_code == code)
        .order_by(R.c.pk.desc())
        .limit(1)
    ).scalar_one_or_none()
    name = (document or {}).get("agency", {}).get("name")
    return code, name
