"""The operations overview: per channel, what happened today, this week and this year,
what waits and for how long, how often attempts fail, how deep the queues are.

One reader shared by the console's overview page, ``GET /v1/overview`` (and so
``govpub status``) and ``/metrics``. Periods are counted in ``settings.timezone``
(Asia/Shanghai): a delivery accepted at 2017-12-31T20:00Z belongs to 2018. The
counts come from the database, so they are right whichever process delivered: the
settled states from the counters (:mod:`pipeline.counters`), the few deliveries in
flight from their rows.
Channels may add a few facts of their own (the WeChat quota, the next broadcast
window, the last archive package): :class:`~pipeline.channel.HasOverviewFacts`, or
:class:`~pipeline.channel.HasQuota` for a plain quota line; and their plug-in's console
pages add links to the channel's card.
"""

from __future__ import annotations

import queue as queue_module
from collections import Counter
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import quote
from zoneinfo import ZoneInfo

import structlog
from sqlalchemy import Connection, and_, case, func, or_, select, true

from pipeline import counters, db, registry, states
from pipeline.channel import HasOverviewFacts, HasQuota
from pipeline.dispatch import queue_name
from pipeline.services import Services
from pipeline.tenancy import Reach

log = structlog.get_logger("govpub.overview")
D, E = db.deliveries, db.delivery_events
# Waiting for a window or a result is no attempt's failure and no attempt at all (``waiting``);
# ``sent`` (went out, to be confirmed) and ``in_doubt`` are attempts that did not fail.
FAILED_OUTCOMES = ("retry", "dead")
ATTEMPT_OUTCOMES = ("retry", "dead", "delivered", "lost", "sent", "in_doubt")
EVERY = true()  # the deliveries of every agency (a Reach's filter narrows them)


@dataclass
class ChannelOverview:
    name: str
    kind: str
    enabled: bool
    today: dict[str, int] = field(default_factory=dict)
    week: dict[str, int] = field(default_factory=dict)
    year: dict[str, int] = field(default_factory=dict)
    queue_depth: int | None = None
    oldest_waiting: dict[str, Any] | None = None
    attempts_24h: int = 0
    failures_24h: int = 0
    last_delivered: dict[str, Any] | None = None
    facts: dict[str, str] = field(default_factory=dict)
    # the console pages of the channel's plug-in: heading, text and href of each link
    pages: list[dict[str, str]] = field(default_factory=list)

    @property
    def failure_rate(self) -> float | None:
        return self.failures_24h / self.attempts_24h if self.attempts_24h else None

    @property
    def reached(self) -> dict[str, int]:
        """Per period, deliveries the channel holds: delivered, or sent and still to be
        confirmed (a WeChat mass send is pushed once it went out)."""
        periods = {"today": self.today, "week": self.week, "year": self.year}
        return {p: sum(c.get(s, 0) for s in states.REACHED_STATES) for p, c in periods.items()}


@dataclass
class Overview:
    generated_at: datetime
    timezone: str
    queue_source: str  # "redis", "in-process" or "n/a"
    channels: list[ChannelOverview]

    def to_json(self) -> dict[str, Any]:
        """What ``GET /v1/overview`` answers anyone: counts, ages, depths, no receipts."""
        out: dict[str, Any] = {
            "generated_at": self.generated_at.isoformat(),
            "timezone": self.timezone,
            "queue_source": self.queue_source,
            "channels": [],
        }
        for ch in self.channels:
            entry = asdict(ch)
            del entry["pages"]  # console links are for the console
            entry["failure_rate"] = ch.failure_rate
            entry["reached"] = ch.reached
            if ch.last_delivered:  # the receipt (archive, WeChat ids) is for the console only
                entry["last_delivered"] = {k: v for k, v in ch.last_delivered.items() if k != "external_ref"}
            out["channels"].append(_isoformat(entry))
        return out


def _isoformat(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _isoformat(v) for k, v in value.items()}
    return value.isoformat() if isinstance(value, datetime) else value


def coarse_age(seconds: float) -> tuple[int, str]:
    """An age in its largest whole unit: ``(3, "h")`` for 3 h 20 min (units d, h, m, s)."""
    whole = int(seconds)
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if whole >= size:
            return whole // size, unit
    return whole, "s"


def period_starts(now: datetime, timezone: str) -> dict[str, datetime]:
    """Local midnight today, Monday of this week and 1 January, as aware datetimes."""
    local = now.astimezone(ZoneInfo(timezone))
    midnight = local.replace(hour=0, minute=0, second=0, microsecond=0)
    return {
        "today": midnight,
        "week": midnight - timedelta(days=midnight.weekday()),
        "year": midnight.replace(month=1, day=1),
    }


def build_overview(services: Services, dispatcher: Any = None, reach: Reach = Reach.PLATFORM) -> Overview:
    """Every agency's figures, or those within ``reach`` (a scoped console user: only
    the channel instances serving its agencies, without their own facts, which describe
    the platform's instance)."""
    settings, now = services.settings, services.clock()
    mine = reach.deliveries_where()
    source, depths = queue_depths(services, dispatcher)
    shown = settings.channels if reach.agencies is None else _serving(services, reach.agencies)
    channels = {
        name: ChannelOverview(name, cfg.kind, cfg.enabled, queue_depth=depths.get(name))
        for name, cfg in settings.channels.items()
        if name in shown
    }
    with services.engine.connect() as conn:
        for name, periods in period_counts(conn, now, settings.timezone, reach).items():
            ch = channels.setdefault(name, ChannelOverview(name, "?", False))
            ch.today, ch.week, ch.year = periods["today"], periods["week"], periods["year"]
        for name, oldest in oldest_waiting(conn, now, list(channels), mine).items():
            channels[name].oldest_waiting = oldest
        for (name, outcome), count in attempts_since(conn, now - timedelta(hours=24), mine).items():
            if name in channels:
                channels[name].attempts_24h += count
                channels[name].failures_24h += count if outcome in FAILED_OUTCOMES else 0
        for name, ch in channels.items():
            ch.last_delivered = last_delivered(conn, name, mine)
    for name, ch in channels.items():
        if name in settings.channels:
            ch.facts = channel_facts(services, name) if reach.platform else {}
            ch.pages = console_links(services, name) if reach.platform else []
    return Overview(now, settings.timezone, source, list(channels.values()))


def _serving(services: Services, agencies: frozenset[str]) -> set[str]:
    """The channel instances serving any of these agencies."""
    return {name for code in agencies for name in services.channels_for(code, None)}


def period_counts(
    conn: Connection, now: datetime, timezone: str, reach: Reach = Reach.PLATFORM
) -> dict[str, dict[str, dict[str, int]]]:
    """``{channel: {period: {state: n}}}`` for deliveries accepted in each period: the
    settled states from the counters (a few rows per channel and day), the deliveries in
    flight from their rows; all from the rows when the counters keep another zone's days."""
    if timezone != counters.ZONE_NAME:
        return period_counts_from_log(conn, now, timezone, reach.deliveries_where())
    starts = period_starts(now, timezone)
    days = {p: start.date() for p, start in starts.items()}
    C = db.counters
    sums = [func.sum(case((C.c.day >= day, C.c.n), else_=0)).label(p) for p, day in days.items()]
    rows = list(
        conn.execute(
            select(C.c.name.label("channel"), C.c.detail.label("state"), *sums)
            .where(C.c.measure == "state", C.c.day >= min(days.values()), reach.where(C.c.agency_code))
            .group_by(C.c.name, C.c.detail)
        ).all()
    )
    in_flight = or_(
        D.c.state.in_(
            [s for s in states.STATES if s not in counters.SETTLED and s != states.DeliveryState.SENDING]
        ),
        and_(D.c.state == states.DeliveryState.SENDING, D.c.delivered_at.is_(None)),
    )
    flying = [func.sum(case((D.c.created_at >= start, 1), else_=0)).label(p) for p, start in starts.items()]
    rows += conn.execute(
        select(D.c.channel, D.c.state, *flying)
        .where(in_flight, D.c.created_at >= min(starts.values()), reach.deliveries_where())
        .group_by(D.c.channel, D.c.state)
    ).all()
    return _by_channel(rows, list(starts))


def period_counts_from_log(
    conn: Connection, now: datetime, timezone: str, mine: Any = EVERY
) -> dict[str, dict[str, dict[str, int]]]:
    """:func:`period_counts` from the rows alone: one range scan over the (created_at,
    channel, state) index."""
    starts = period_starts(now, timezone)
    earliest = min(starts.values())
    sums = [func.sum(case((D.c.created_at >= start, 1), else_=0)).label(p) for p, start in starts.items()]
    # a reached delivery whose result a worker is asking for right now is still "unconfirmed"
    state = case(
        (and_(D.c.state == "sending", D.c.delivered_at.is_not(None)), "unconfirmed"), else_=D.c.state
    ).label("state")
    rows = conn.execute(
        select(D.c.channel, state, *sums).where(D.c.created_at >= earliest, mine).group_by(D.c.channel, state)
    ).all()
    return _by_channel(list(rows), list(starts))


def _by_channel(rows: list[Any], periods: list[str]) -> dict[str, dict[str, dict[str, int]]]:
    out: dict[str, dict[str, dict[str, int]]] = {}
    for row in rows:
        if not any(getattr(row, p) for p in periods):  # counters moved back to zero
            continue
        counted = out.setdefault(row.channel, {p: {} for p in periods})
        for p in periods:
            if getattr(row, p):
                counted[p][row.state] = counted[p].get(row.state, 0) + int(getattr(row, p))
    return out


def oldest_waiting(
    conn: Connection, now: datetime, channels: list[str], mine: Any = EVERY
) -> dict[str, dict[str, Any]]:
    """Per channel, the delivery accepted longest ago that is still pending, queued,
    sending or retrying (few rows: the (channel, state) index finds them)."""
    out: dict[str, dict[str, Any]] = {}
    for channel in channels:
        row = conn.execute(
            select(D.c.id, D.c.state, D.c.created_at, D.c.attempts, D.c.last_error_class)
            .where(D.c.channel == channel, D.c.state.in_(states.ACTIVE_STATES), mine)
            .order_by(D.c.created_at, D.c.id)
            .limit(1)
        ).first()
        if row is not None:
            out[channel] = {
                "id": row.id,
                "state": row.state,
                "created_at": row.created_at,
                "age_seconds": max(0.0, (now - row.created_at).total_seconds()),
                "attempts": row.attempts,
                "last_error_class": row.last_error_class,
            }
    return out


def attempts_since(conn: Connection, since: datetime, mine: Any = EVERY) -> Counter[tuple[str, str]]:
    rows = conn.execute(
        select(D.c.channel, E.c.outcome, func.count())
        .select_from(E.join(D, D.c.id == E.c.delivery_id))
        .where(and_(E.c.at >= since, E.c.outcome.in_(ATTEMPT_OUTCOMES)), mine)
        .group_by(D.c.channel, E.c.outcome)
    ).all()
    return Counter({(channel, outcome): int(n) for channel, outcome, n in rows})


def last_delivered(conn: Connection, channel: str, mine: Any = EVERY) -> dict[str, Any] | None:
    """The channel's most recent delivery (one step down ``ix_deliveries_channel_delivered``)."""
    row = conn.execute(
        select(D.c.id, D.c.item_pk, D.c.delivered_at, D.c.external_ref)
        .where(D.c.channel == channel, D.c.delivered_at.is_not(None), mine)
        .order_by(D.c.delivered_at.desc())
        .limit(1)
    ).first()
    return dict(row._mapping) if row else None


def channel_facts(services: Services, name: str) -> dict[str, str]:
    """What the channel says about itself (:class:`~pipeline.channel.HasOverviewFacts`),
    else its quota in one line (:class:`~pipeline.channel.HasQuota`)."""
    try:
        channel = services.channel(name)
        if isinstance(channel, HasOverviewFacts):
            return {str(k): str(v) for k, v in channel.overview_facts().items()}
        return quota_facts(channel.quota()) if isinstance(channel, HasQuota) else {}
    except Exception as exc:  # the overview must render even when a channel cannot answer
        log.warning("overview facts failed", channel=name, error=str(exc))
        return {"渠道状态": f"无法读取（{type(exc).__name__}: {exc}）"}


def quota_facts(quota: dict[str, Any]) -> dict[str, str]:
    """A quota (``limit``, ``used``, ``remaining``, ``period``) in one line."""
    if "limit" not in quota:
        return {}
    return {
        "额度": f"{quota.get('period', '本期')}：已用 {quota.get('used', 0)} / {quota['limit']}，"
        f"剩余 {quota.get('remaining', 0)}"
    }


def console_links(services: Services, name: str) -> list[dict[str, str]]:
    """Links to the console pages the channel's plug-in adds that this instance has."""
    declared = registry.plugins().get(services.settings.channels[name].kind)
    if declared is None:
        return []
    links = []
    for page in declared.console_pages:
        try:
            shown = bool(page.link_text) and (
                page.shown_for is None or page.shown_for(services.channel(name))
            )
        except Exception as exc:  # as for the facts: the overview renders regardless
            log.warning("console page check failed", channel=name, error=str(exc))
            shown = False
        if shown:
            href = page.path.format(name=quote(name, safe=""))
            links.append({"heading": page.heading or declared.label, "text": page.link_text, "href": href})
    return links


def queue_depths(services: Services, dispatcher: Any) -> tuple[str, dict[str, int | None]]:
    """Messages waiting in each channel's queue: LLEN of ``govpub.<channel>`` on the Redis
    broker, or what the in-process queue holds in the embedded mode."""
    names = list(services.settings.channels)
    if services.settings.broker_url:
        return "redis", redis_depths(services.settings.broker_url, names)
    tasks = getattr(dispatcher, "tasks", None)
    if isinstance(tasks, queue_module.Queue):
        with tasks.mutex:
            waiting = Counter(task[1] for task in tasks.queue if task is not None)
        return "in-process", {name: waiting.get(name, 0) for name in names}
    return "n/a", {}


def redis_depths(url: str, names: list[str]) -> dict[str, int | None]:
    import redis

    try:
        client = redis.Redis.from_url(url, socket_timeout=1, socket_connect_timeout=1)
        try:
            pipe = client.pipeline(transaction=False)
            for name in names:
                pipe.llen(queue_name(name))
            return {name: int(n) for name, n in zip(names, pipe.execute(), strict=True)}
        finally:
            client.close()
    except redis.RedisError as exc:
        log.warning("queue depth unavailable", error=str(exc))
        return dict.fromkeys(names)
