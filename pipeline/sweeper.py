"""The sweeper: wakes what is due and what the broker lost.

Retry delays live in the database (``next_attempt_at``), not in Celery
countdowns, so a Redis visibility timeout can never run a retry twice; the
sweeper re-sends retries that are due, rows stuck in pending/queued (Redis was
flushed or the intake died between commit and enqueue) and rows left in sending
by a dead worker, each at most once per ``requeue_after_seconds``. Sending twice
is harmless (only one claim can win) but not free: a flood of duplicates would
bury the real work, hence the backlog check below.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

import structlog

from pipeline.dispatch import Dispatcher
from pipeline.services import Services
from pipeline.states import UNSENT_STATES

log = structlog.get_logger("govpub.sweeper")

PeriodicJob = Callable[[Services], None]


def sweep_once(services: Services, dispatcher: Dispatcher, limit: int = 1000) -> int:
    now = services.clock()
    requeue_after = services.settings.requeue_after_seconds
    rows = services.deliveries.due_rows(now, requeue_after, limit)
    waiting = {channel for _, channel, state in rows if state in UNSENT_STATES}
    backlogged = frozenset(_backlogged_channels(services, dispatcher, waiting))
    if backlogged:  # every row sent must be one we act on, or the window stops moving
        rows = services.deliveries.due_rows(now, requeue_after, limit, backlogged)
    due = [(i, channel) for i, channel, _ in rows]
    if due:
        services.deliveries.requeued([d for d, _ in due], now)
        dispatcher.send(due)
        log.info("swept", count=len(due))
    return len(due)


def _backlogged_channels(services: Services, dispatcher: Dispatcher, channels: set[str]) -> set[str]:
    """Channels whose queue still holds a message: their waiting rows are just behind a
    backlog, and re-sending them every ``requeue_after_seconds`` would flood the queue
    with duplicates. One message is enough: a task is a wake-up that claims a batch of
    whatever is due on its channel and, while its claims come back full, wakes another
    (:mod:`pipeline.runner`). An empty queue with rows waiting has lost its messages
    (Redis flushed or restarted empty): re-send those. Asked once per channel and sweep."""
    backlogged = set()
    for channel in channels:
        depth = dispatcher.depth(channel)
        if depth is not None and depth > 0:
            backlogged.add(channel)
    return backlogged


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
