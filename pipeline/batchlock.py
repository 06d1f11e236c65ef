"""One batch of a channel at a time.

A batched channel's task takes every due delivery of the channel at once (a day's WeChat
mass send, a month's archive package). Two such tasks running together would each claim
a part of the due deliveries and make two sends of half the articles each. So a batch
runs under a lock per channel: a PostgreSQL session advisory lock (held by the worker's
connection, so a worker that dies releases it with its connection), or a lock of this
process with SQLite (the embedded mode runs every worker in one process). A task that
finds the lock taken waits for it a little, then leaves: the batch that holds it takes
what is due, and the sweeper hands out whatever became due meanwhile.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Engine, text

WAIT_SECONDS = 10.0
_local: dict[tuple[str, str], threading.Lock] = {}
_local_guard = threading.Lock()


def _key(channel: str) -> int:
    return int.from_bytes(hashlib.sha256(f"govpub-batch:{channel}".encode()).digest()[:8], "big", signed=True)


@contextmanager
def batch_lock(engine: Engine, channel: str, wait: float = WAIT_SECONDS) -> Iterator[bool]:
    """Yields whether this process holds the channel's batch lock (released on exit)."""
    if engine.dialect.name != "postgresql":
        with _local_guard:
            lock = _local.setdefault((str(engine.url), channel), threading.Lock())
        held = lock.acquire(timeout=wait)
        try:
            yield held
        finally:
            if held:
                lock.release()
        return
    with engine.connect() as conn:
        deadline = time.monotonic() + wait
        held = False
        while True:
            held = bool(conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": _key(channel)}).scalar())
            conn.commit()
            if held or time.monotonic() > deadline:
                break
            time.sleep(0.1)
        try:
            yield held
        finally:
            if held:
                conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": _key(channel)})
                conn.commit()
