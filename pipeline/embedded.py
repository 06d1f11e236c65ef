"""The in-process worker of the embedded default: no broker, same runner.

Deliveries go to a local queue served by a few threads; the sweeper runs in a
thread too, with beat's periodic look at freshness (pipeline.freshness). Nothing is
lost across a restart because the outbox is in SQLite and the sweeper picks up
whatever a previous process left unfinished.
"""

from __future__ import annotations

import queue
import threading

import structlog

from pipeline.freshness.job import FreshnessJob
from pipeline.runner import run_delivery
from pipeline.services import Services
from pipeline.sweeper import run_forever

log = structlog.get_logger("govpub.embedded")


class LocalDispatcher:
    """A thread pool fed by a queue; implements the Dispatcher protocol."""

    def __init__(self, services: Services, workers: int) -> None:
        self.services = services
        services.dispatcher = self  # what a worker thread makes due comes back here
        self.tasks: queue.Queue[tuple[int, str] | None] = queue.Queue()
        self.stop = threading.Event()
        self.threads = [
            threading.Thread(target=self._work, name=f"govpub-worker-{i}", daemon=True)
            for i in range(workers)
        ]
        self.threads.append(
            threading.Thread(
                target=run_forever,
                args=(services, self, self.stop, [FreshnessJob()]),
                name="govpub-sweeper",
                daemon=True,
            )
        )

    def start(self) -> None:
        """Start the threads, first re-queuing what a previous process left waiting:
        its in-memory queue died with it."""
        services = self.services
        self.send(services.deliveries.due(services.clock(), requeue_after=0, limit=100_000))
        for thread in self.threads:
            thread.start()

    def depth(self, channel: str) -> int | None:
        """The in-process queue is shared by every channel; it loses nothing while the
        process lives, so its size stands for each channel's backlog."""
        return self.tasks.qsize()

    def send(self, work: list[tuple[int, str]]) -> None:
        for item in work:
            self.tasks.put(item)

    def close(self, timeout: float = 5.0) -> None:
        self.stop.set()
        for _ in self.threads:
            self.tasks.put(None)
        for thread in self.threads:
            thread.join(timeout)

    def _work(self) -> None:
        while not self.stop.is_set():
            task = self.tasks.get()
            if task is None:
                return
            try:
                run_delivery(self.services, *task)
            except Exception:  # the delivery stays in the database; the sweeper retries it
                log.exception("delivery task crashed", delivery=task[0])
