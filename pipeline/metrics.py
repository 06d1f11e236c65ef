"""Prometheus metrics: attempt timings and outcomes counted by the runner in this
process, and delivery figures read from the database at scrape time."""

from __future__ import annotations

import threading
from collections import Counter as Tally
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from prometheus_client import REGISTRY, CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy import Connection, case, func, select

from pipeline import db

if TYPE_CHECKING:
    from pipeline.services import Services

DELIVERY_OUTCOMES = Counter(
    "govpub_delivery_outcomes_total", "Delivery attempt outcomes", ["channel", "outcome"]
)
ATTEMPT_SECONDS = Histogram(
    "govpub_delivery_attempt_seconds",
    "Time spent in one channel call",
    ["channel"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60),
)

CONSOLE_LOGINS = Counter(
    "govpub_console_logins_total",
    "Console login attempts in this process: ok, failed (wrong password), throttled "
    "(refused unchecked: the account or address must wait) and busy (no hashing slot free)",
    ["outcome"],
)


def count_login(outcome: str) -> None:
    CONSOLE_LOGINS.labels(outcome=outcome).inc()


def count_outcome(channel: str, outcome: str) -> None:
    DELIVERY_OUTCOMES.labels(channel=channel, outcome=outcome).inc()


def observe_attempt(channel: str, seconds: float) -> None:
    ATTEMPT_SECONDS.labels(channel=channel).observe(seconds)


# -- scrape-time figures from the database -------------------------------------------
# Workers may run anywhere (Celery on other machines), so the counters above only see
# this process's attempts. What /metrics reports about deliveries is read from the
# database at scrape time instead: it moves with every delivery, whoever made it.

LATENCY_BUCKETS = (0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600, 4 * 3600, 24 * 3600)
SETTLE_SECONDS = 120.0


@dataclass
class Latency:
    buckets: list[int] = field(default_factory=lambda: [0] * len(LATENCY_BUCKETS))
    count: int = 0
    total: float = 0.0

    def observe(self, seconds: float) -> None:
        self.count += 1
        self.total += seconds
        for i, bound in enumerate(LATENCY_BUCKETS):
            if seconds <= bound:
                self.buckets[i] += 1


class EventTally:
    """Running totals over the append-only delivery log, read incrementally.

    A scrape reads only log entries above a low-water mark: the last
    ``SETTLE_SECONDS`` of entries plus the new ones. Ids counted above the mark are
    remembered, so nothing is counted twice, and the mark only passes entries older
    than ``SETTLE_SECONDS``, so an entry whose transaction committed after a newer one
    (ids are taken at insert, rows appear at commit) is still counted. The first
    scrape after a start reads the whole log once; Prometheus treats the restart as a
    counter reset, as for any process.
    """

    def __init__(self) -> None:
        self.low_water = 0
        self.seen: set[int] = set()
        self.outcomes: Tally[tuple[str, str]] = Tally()
        self.latency: dict[str, Latency] = {}
        self.lock = threading.Lock()

    def update(self, conn: Connection, now: datetime) -> None:
        d, e = db.deliveries, db.delivery_events
        horizon = now - timedelta(seconds=SETTLE_SECONDS)
        with self.lock:
            if self.low_water == 0:
                self._bulk(conn, horizon)
            rows = conn.execute(
                select(e.c.id, e.c.at, e.c.outcome, d.c.channel, d.c.action, d.c.created_at)
                .join(d, d.c.id == e.c.delivery_id)
                .where(e.c.id > self.low_water)
                .order_by(e.c.id)
            )
            settled = self.low_water
            for row in rows:
                if row.at < horizon:
                    settled = row.id
                if row.id in self.seen:
                    continue
                self.seen.add(row.id)
                self.outcomes[(row.channel, row.outcome)] += 1
                if row.outcome == "delivered" and row.action == "publish":
                    seconds = max(0.0, (row.at - row.created_at).total_seconds())
                    self.latency.setdefault(row.channel, Latency()).observe(seconds)
            self.low_water = settled
            self.seen = {i for i in self.seen if i > settled}

    def _bulk(self, conn: Connection, horizon: datetime) -> None:
        """The settled part of the log, summed by the database in two queries (reading it
        row by row would take seconds on a log of 100,000 entries)."""
        d, e = db.deliveries, db.delivery_events
        last = conn.execute(select(func.max(e.c.id)).where(e.c.at < horizon)).scalar()
        if not last:
            return
        joined = e.join(d, d.c.id == e.c.delivery_id)
        for channel, outcome, count in conn.execute(
            select(d.c.channel, e.c.outcome, func.count())
            .select_from(joined)
            .where(e.c.id <= last)
            .group_by(d.c.channel, e.c.outcome)
        ):
            self.outcomes[(channel, outcome)] += count
        if conn.dialect.name == "sqlite":
            seconds: Any = (func.julianday(e.c.at) - func.julianday(d.c.created_at)) * 86400.0
        else:
            seconds = func.extract("epoch", e.c.at - d.c.created_at)
        buckets = [func.sum(case((seconds <= b, 1), else_=0)) for b in LATENCY_BUCKETS]
        for channel, count, total, *cumulative in conn.execute(
            select(d.c.channel, func.count(), func.sum(seconds), *buckets)
            .select_from(joined)
            .where(e.c.id <= last, e.c.outcome == "delivered", d.c.action == "publish")
            .group_by(d.c.channel)
        ):
            hist = self.latency.setdefault(channel, Latency())
            hist.count += count
            hist.total += float(total or 0)
            hist.buckets = [a + int(b or 0) for a, b in zip(hist.buckets, cumulative, strict=True)]
        self.low_water = last

    def families(self) -> list[Metric]:
        outcomes = CounterMetricFamily(
            "govpub_delivery_events",
            "Delivery log entries (attempt outcomes and operator actions) by channel and outcome",
            labels=["channel", "outcome"],
        )
        latency = HistogramMetricFamily(
            "govpub_delivery_latency_seconds",
            "Time from acceptance of an item revision to its delivery on the channel",
            labels=["channel"],
        )
        with self.lock:
            for (channel, outcome), count in sorted(self.outcomes.items()):
                outcomes.add_metric([channel, outcome], count)
            for channel, hist in sorted(self.latency.items()):
                bounds = zip(LATENCY_BUCKETS, hist.buckets, strict=True)
                points = [(str(float(b)), float(n)) for b, n in bounds]
                latency.add_metric([channel], [*points, ("+Inf", float(hist.count))], sum_value=hist.total)
        return [outcomes, latency]


class PipelineCollector(Collector):
    """Delivery counts, outcomes, latency, queue depth and oldest pending age, computed
    from the database (and the broker) whenever Prometheus scrapes."""

    def __init__(self, services: Services, dispatcher: Callable[[], Any]) -> None:
        self.services, self.dispatcher = services, dispatcher
        self.tally = EventTally()

    def describe(self) -> Iterable[Metric]:
        return []

    def collect(self) -> Iterable[Metric]:
        from pipeline.overview import oldest_waiting, queue_depths

        now = self.services.clock()
        channels = list(self.services.settings.channels)
        states = GaugeMetricFamily(
            "govpub_deliveries", "Deliveries by channel and state", labels=["channel", "state"]
        )
        for channel, by_state in sorted(self.services.store.counts().items()):
            for state, count in sorted(by_state.items()):
                states.add_metric([channel, state], count)
        yield states
        with self.services.engine.connect() as conn:
            self.tally.update(conn, now)
            oldest = oldest_waiting(conn, now, channels)
        yield from self.tally.families()
        age = GaugeMetricFamily(
            "govpub_oldest_pending_age_seconds",
            "Age of the oldest delivery still on its way (0 when none waits)",
            labels=["channel"],
        )
        for channel in channels:
            age.add_metric([channel], oldest[channel]["age_seconds"] if channel in oldest else 0.0)
        yield age
        source, depths = queue_depths(self.services, self.dispatcher())
        depth = GaugeMetricFamily(
            "govpub_queue_depth", f"Messages waiting in the channel's queue ({source})", labels=["channel"]
        )
        for channel, n in sorted(depths.items()):
            if n is not None:
                depth.add_metric([channel], n)
        yield depth
        yield from freshness_families(self.services, now)


def freshness_families(services: Services, now: datetime) -> list[Metric]:
    """Per agency, column and 政务新媒体 account: seconds since its last publication and
    its limit (as beat last recorded them, pipeline.freshness), and per agency the
    warnings (warn, overdue) and the empty columns."""
    from pipeline.freshness.record import read

    labels = ["agency", "kind", "subject"]
    since = GaugeMetricFamily(
        "govpub_freshness_seconds",
        "Seconds since the last publication (never published: absent)",
        labels=labels,
    )
    limit = GaugeMetricFamily(
        "govpub_freshness_limit_seconds", "How long it may go without one", labels=labels
    )
    states = GaugeMetricFamily(
        "govpub_freshness_warnings",
        "Columns and accounts near their limit (warn) or past it (overdue)",
        labels=["agency", "state"],
    )
    empty = GaugeMetricFamily(
        "govpub_freshness_empty_columns", "Configured columns without any publication", labels=["agency"]
    )
    tally: Tally[tuple[str, str]] = Tally()
    agencies = set()
    for row in read(services.engine):
        agencies.add(row.agency)
        age, state = row.age_seconds(now), row.state(now)
        if age is not None:
            since.add_metric([row.agency, row.kind, row.subject], age)
        limit.add_metric([row.agency, row.kind, row.subject], row.limit_days * 86400.0)
        if state in ("warn", "overdue") or (state == "empty" and row.kind == "column"):
            tally[(row.agency, state)] += 1
    for agency in sorted(agencies):
        for state in ("warn", "overdue"):
            states.add_metric([agency, state], tally[(agency, state)])
        empty.add_metric([agency], tally[(agency, "empty")])
    return [since, limit, states, empty]


def exposition(registry: CollectorRegistry) -> bytes:
    """This process's own metrics followed by the database-derived ones."""
    return generate_latest(REGISTRY) + generate_latest(registry)
