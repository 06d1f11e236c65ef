"""The Celery side: one queue and one task per channel, on a Redis broker.

Each channel gets its own queue (``govpub.<channel>``) and its own task name, so
Celery's per-task ``rate_limit`` applies per channel and a slow channel never
holds up another. A message carries only delivery ids: one (an ``int``; 0: none in
particular) or up to :data:`IDS_PER_MESSAGE` of its channel (a ``list``, the intake's
batch). The database is the truth, the broker only a wake-up call: a task claims a
batch of what is due on its channel (see :mod:`pipeline.runner`), so one message may
serve many deliveries.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterator

from celery import Celery
from celery.signals import worker_process_init

from pipeline.config import Settings
from pipeline.dispatch import queue_name, task_name
from pipeline.runner import run_delivery
from pipeline.services import Services

IDS_PER_MESSAGE = 50  # a batch's ids, several to a message; one message stays small


def time_limits(settings: Settings) -> tuple[float, float]:
    """(soft, hard): how long one task may run, below the broker's lease on its message.

    Redis lends a task's message to a worker for ``visibility_timeout_seconds``; a task
    still running then is handed to a second worker as well. The database claim keeps the
    second from publishing, but nothing else bounds a channel call that hangs: its
    heartbeat (:mod:`pipeline.lease`) renews the claim for as long as the process lives.
    So the hard limit (the pool kills the process; the claim lapses one lease later and
    the sweeper re-sends it) ends a task one margin before the broker's lease does, and
    the soft limit (``SoftTimeLimitExceeded`` inside the channel call, recorded by the
    runner as a transient failure, retried with backoff) one margin before that. The
    margin is a claim's lease, at most a quarter of the visibility timeout.
    """
    lent = float(settings.visibility_timeout_seconds)
    margin = min(settings.lease_seconds, lent / 4)
    return lent - 2 * margin, lent - margin


def create_celery(services: Services) -> Celery:
    settings = services.settings
    soft, hard = time_limits(settings)
    app = Celery("govpub", broker=settings.broker_url, set_as_current=False)
    app.conf.update(
        task_acks_late=True,  # ack after the work, so a dead worker's task returns
        task_reject_on_worker_lost=True,  # …and is redelivered when its process is killed
        worker_prefetch_multiplier=1,
        task_ignore_result=True,  # the delivery log is the result
        task_serializer="json",
        accept_content=["json"],
        broker_connection_retry_on_startup=True,
        broker_transport_options={"visibility_timeout": settings.visibility_timeout_seconds},
        task_soft_time_limit=soft,  # below the broker's lease: see time_limits
        task_time_limit=hard,
        worker_hijack_root_logger=False,
        task_routes={task_name(n): {"queue": queue_name(n)} for n in settings.channels},
        task_create_missing_queues=True,
    )
    for name, cfg in settings.channels.items():
        _register(app, services, name, cfg.rate_limit)
    if services.dispatcher is None:  # a worker sends what it makes due (woken interpretations)
        services.dispatcher = CeleryDispatcher(app)

    # One log line per delivery comes from the runner; Celery's own per-task lines
    # ("received", "succeeded") would only double it.
    for chatty in ("celery.app.trace", "celery.worker.strategy"):
        logging.getLogger(chatty).setLevel(logging.WARNING)

    @worker_process_init.connect(weak=False)
    def _fresh_connections(**_: object) -> None:
        """A forked pool process must not share the parent's database connections."""
        services.engine.dispose(close=False)

    return app


def _register(app: Celery, services: Services, channel: str, rate_limit: str | None) -> None:
    def deliver(ids: int | list[int] | None = None) -> str:
        """A wake-up for the channel: one delivery id, a list of them (the intake's batch),
        or none; the first id is claimed first, the rest are whatever is due."""
        hint = ids if isinstance(ids, int) else (ids or [0])[0]
        return run_delivery(services, hint, channel)

    app.task(name=task_name(channel), rate_limit=rate_limit, acks_late=True)(deliver)


class CeleryDispatcher:
    """Sends delivery ids to their channel queues, several to a message."""

    def __init__(self, app: Celery) -> None:
        self.app = app

    def depth(self, channel: str) -> int | None:
        try:
            with self.app.connection_for_read() as conn:
                return int(conn.default_channel.client.llen(queue_name(channel)))
        except Exception:  # the broker is down: no opinion, the sweeper sends anyway
            return None

    def send(self, work: list[tuple[int, str]]) -> None:
        with self.app.producer_or_acquire() as producer:
            for channel, ids in messages(work, self._per_message):
                self.app.send_task(
                    task_name(channel),
                    args=[ids[0] if len(ids) == 1 else ids],
                    queue=queue_name(channel),
                    producer=producer,
                )

    def _per_message(self, channel: str) -> int:
        """Celery's ``rate_limit`` counts messages: a rate-limited channel gets one id per
        message, so its rate stays per delivery."""
        task = self.app.tasks.get(task_name(channel))
        return 1 if task is not None and task.rate_limit else IDS_PER_MESSAGE


def messages(
    work: list[tuple[int, str]], per_message: Callable[[str], int]
) -> Iterator[tuple[str, list[int]]]:
    """``(channel, ids)`` per message: each channel's ids in order, in chunks."""
    by_channel: dict[str, list[int]] = {}
    for delivery_id, channel in work:
        by_channel.setdefault(channel, []).append(delivery_id)
    for channel, ids in by_channel.items():
        size = per_message(channel)
        for start in range(0, len(ids), size):
            yield channel, ids[start : start + size]


def worker_argv(queues: list[str], concurrency: int | None, pool: str | None) -> list[str]:
    """Celery's worker arguments. The node name (``website+wechat.<pid>@<host>``) differs for
    every worker process, so several workers on one machine never share a name (remote
    control and ``govpub health worker`` tell them apart)."""
    channels = "+".join(q.removeprefix("govpub.") for q in queues)
    argv: list[str] = ["worker", "-Q", ",".join(queues), "--loglevel", "INFO"]
    argv += ["--hostname", f"{channels}.{os.getpid()}@%h"]
    if concurrency:
        argv += ["--concurrency", str(concurrency)]
    if pool:
        argv += ["--pool", pool]
    return argv


def all_queues(services: Services) -> list[str]:
    return [queue_name(n) for n in services.settings.enabled_channels()]
