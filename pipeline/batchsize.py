"""How many deliveries a worker claims at once (N), per channel and process.

A claim of N costs about what a claim of one costs, and N outcomes share one commit,
so a deep queue is drained in batches; but a worker that took 50 of 60 due deliveries
while three others idle would make the last item of its batch wait for the 49 before
it. So N starts at 1 (an idle channel: a lone delivery goes at once, as before
batching), doubles while claims come back full (the queue is deep) and falls back to 1
as soon as a claim finds the channel drained. It never grows past :data:`LARGEST`, nor
past what the channel does in :data:`BUDGET_SECONDS` (a website render of a second
gains nothing from sharing a commit, and would hold its batch's other items back). A
channel with a ``rate_limit`` stays at 1: Celery's limit counts tasks, and one
delivery per task keeps it counting items.
"""

from __future__ import annotations

import threading

LARGEST = 50
BUDGET_SECONDS = 0.1  # what one batch's channel calls may take, about


class BatchSizes:
    """The current N of each channel in this process (threads of the embedded mode share it)."""

    def __init__(self, largest: int = LARGEST, budget: float = BUDGET_SECONDS) -> None:
        self.largest = largest
        self.budget = budget
        self._sizes: dict[str, int] = {}
        self._per_item: dict[str, float] = {}  # seconds per delivery, smoothed
        self._lock = threading.Lock()

    def size(self, channel: str, limited: bool = False) -> int:
        """N for the next claim on ``channel`` (1 when ``limited`` by a rate)."""
        return 1 if limited else self._sizes.get(channel, 1)

    def saw(self, channel: str, more: bool) -> None:
        """The last claim on ``channel`` took all it asked for (``more``), or not."""
        with self._lock:
            grown = min(self._cap(channel), 2 * self._sizes.get(channel, 1))
            self._sizes[channel] = grown if more else 1

    def took(self, channel: str, seconds: float, deliveries: int) -> None:
        """A batch of ``deliveries`` on ``channel`` took ``seconds`` to work through."""
        if deliveries <= 0:
            return
        with self._lock:
            now = seconds / deliveries
            before = self._per_item.get(channel)
            self._per_item[channel] = now if before is None else (before + now) / 2
            self._sizes[channel] = min(self._sizes.get(channel, 1), self._cap(channel))

    def _cap(self, channel: str) -> int:
        per_item = self._per_item.get(channel, 0.0)
        if per_item <= 0:
            return self.largest
        return max(1, min(self.largest, int(self.budget / per_item)))
