"""Prometheus metrics, updated by the runner for every channel alike."""

from __future__ import annotations

from prometheus_client import Counter, Histogram

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
