"""Prometheus metrics: attempt timings and outcomes counted by the runner in this
process, and delivery figures read from the database at scrape time."""

from __future__ import annotations

from collections.abc import Callable, Iterable
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


def count_outcome(channel: str, outcome: str) -> None:
    DELIVERY_OUTCOMES.labels(channel=channel, outcome=outcome).inc()


def observe_attempt(channel: str, seconds: float) -> None:
    ATTEMPT_SECONDS.labels(channel=channel).observe(seconds)


# -- scrape-time figures from the database -------------------------------------------
# Workers may run anywhere (Celery on other machines), so the counters above only see
# this process's attempts. What /metrics reports about deliveries is read from the
# database at scrape time instead: it moves with every delivery, whoever made it.

LATENCY_BUCKETS = (0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600, 4 * 3600, 24 * 3600)


class PipelineCollector(Collector):
    """Delivery counts, outcomes, latency, queue depth and oldest pending age, computed
    from the database (and the broker) whenever Prometheus scrapes."""

    def __init__(self, services: Services, dispatcher: Callable[[], Any]) -> None:
        self.services, self.dispatcher = services, dispatcher

    def describe(self) -> Iterable[Metric]:
        return []

    def collect(self) -> Iterable[Metric]:
        from pipeline.overview import oldest_waiting, queue_depths

        now = self.services.clock()
        states = GaugeMetricFamily(
            "govpub_deliveries", "Deliveries by channel and state", labels=["channel", "state"]
        )
        for channel, by_state in sorted(self.services.store.counts().items()):
            for state, count in sorted(by_state.items()):
                states.add_metric([channel, state], count)
        yield states
        with self.services.engine.connect() as conn:
            yield self._outcomes(conn)
            yield self._latency(conn)
            oldest = oldest_waiting(conn, now, list(self.services.settings.channels))
        age = GaugeMetricFamily(
            "govpub_oldest_pending_age_seconds",
            "Age of the oldest delivery still on its way (0 when none waits)",
            labels=["channel"],
        )
        for channel in self.services.settings.channels:
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

    @staticmethod
    def _outcomes(conn: Connection) -> Metric:
        family = CounterMetricFamily(
            "govpub_delivery_events",
            "Delivery log entries (attempt outcomes and operator actions) by channel and outcome",
            labels=["channel", "outcome"],
        )
        d, e = db.deliveries, db.delivery_events
        rows = conn.execute(
            select(d.c.channel, e.c.outcome, func.count())
            .select_from(e.join(d, d.c.id == e.c.delivery_id))
            .group_by(d.c.channel, e.c.outcome)
        ).all()
        for channel, outcome, count in sorted(rows):
            family.add_metric([channel, outcome], count)
        return family

    @staticmethod
    def _latency(conn: Connection) -> Metric:
        d = db.deliveries
        if conn.dialect.name == "sqlite":
            seconds: Any = (func.julianday(d.c.delivered_at) - func.julianday(d.c.created_at)) * 86400.0
        else:
            seconds = func.extract("epoch", d.c.delivered_at - d.c.created_at)
        buckets = [func.sum(case((seconds <= b, 1), else_=0)) for b in LATENCY_BUCKETS]
        rows = conn.execute(
            select(d.c.channel, func.count(), func.sum(seconds), *buckets)
            .where(d.c.delivered_at.is_not(None), d.c.action == "publish")
            .group_by(d.c.channel)
        ).all()
        family = HistogramMetricFamily(
            "govpub_delivery_latency_seconds",
            "Time from acceptance of an item revision to its delivery on the channel",
            labels=["channel"],
        )
        for channel, count, total, *cumulative in sorted(rows, key=lambda r: r[0]):
            points = [(_bound(b), float(n or 0)) for b, n in zip(LATENCY_BUCKETS, cumulative, strict=True)]
            family.add_metric([channel], [*points, ("+Inf", float(count))], sum_value=float(total or 0))
        return family


def _bound(value: float) -> str:
    return str(float(value))


def exposition(registry: CollectorRegistry) -> bytes:
    """This process's own metrics followed by the database-derived ones."""
    return generate_latest(REGISTRY) + generate_latest(registry)
