"""The sweeper: wakes what is due and what the broker lost.

Retry delays live in the database (``next_attempt_at``), not in Celery
countdowns, so a Redis visibility timeout can never run a retry twice; the
sweeper re-sends retries that are due, rows stuck in pending/queued (Redis was
flushed or the intake died between commit and enqueue) and rows left in sending
by a dead worker. Sending twice is harmless: only one claim can win.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

import structlog

from pipeline.queue import Dispatcher
from pipeline.services import Services

log = structlog.get_logger("govpub.sweeper")

PeriodicJob = Callable[[Services], None]


def sweep_once(services: Services, dispatcher: Dispatcher) -> int:
    now = services.clock()
    rows = services.deliveries.due_rows(now, services.settings.requeue_after_seconds)
    due = [
        (i, channel)
        for i, channel, state in rows
        if not _message_still_queued(services, dispatcher, channel, state)
    ]
    if due:
        services.deliveries.requeued([d for d, _ in due], now)
        dispatcher.send(due)
        log.info("swept", count=len(due))
    return len(due)


def _message_still_queued(services: Services, dispatcher: Dispatcher, channel: str, state: str) -> bool:
    """A row waiting in pending/queued is only re-sent when its channel's queue holds
    fewer messages than it has waiting rows: then some message was lost (Redis flushed
    or restarted empty). Otherwise its message is just behind a backlog, and sending
    another every ``requeue_after_seconds`` would flood the queue with duplicates."""
    if state not in ("pending", "queued"):
        return False
    depth = dispatcher.depth(channel)
    if depth is None:
        return False
    waiting = services.store.counts().get(channel, {})
    return depth >= waiting.get("pending", 0) + waiting.get("queued", 0)


def run_forever(
    services: Services,
    dispatcher: Dispatcher,
    stop: threading.Event,
    jobs: list[PeriodicJob] | None = None,
) -> None:
    """``govpub beat``: sweep every ``sweep_interval_seconds`` until ``stop`` is set."""
    while not stop.is_set():
        try:
            sweep_once(services, dispatcher)
            for job in jobs or []:
                job(services)
        except Exception:  # the beat must outlive a database or broker restart
            log.exception("sweep failed; trying again")
        stop.wait(services.settings.sweep_interval_seconds)
