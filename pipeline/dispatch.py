"""How delivery ids reach the workers, apart from Celery: the :class:`Dispatcher` the
intake and the sweeper hand work to (Celery's in :mod:`pipeline.queue`, the in-process
one in :mod:`pipeline.embedded`) and the names of a channel's queue and task.

Kept apart from :mod:`pipeline.queue` so that what only reads a queue's name (the
overview's depth per channel) does not import the worker side (the runner).
"""

from __future__ import annotations

from typing import Protocol


def queue_name(channel: str) -> str:
    return f"govpub.{channel}"


def task_name(channel: str) -> str:
    return f"govpub.deliver.{channel}"


class Dispatcher(Protocol):
    def send(self, work: list[tuple[int, str]]) -> None: ...

    def depth(self, channel: str) -> int | None:
        """Messages waiting in the channel's queue, None when unknown."""
        ...
