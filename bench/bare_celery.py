"""The yardstick: bare Celery no-op tasks on the same Redis, configured like govpub's
queues (acks late, prefetch 1, results ignored). Each task only counts itself."""

from __future__ import annotations

import os

import redis
from celery import Celery

from bench.infra import REDIS

BROKER = os.environ.get("BENCH_BROKER", REDIS)
COUNTER = "bench:bare:done"

app = Celery("bare", broker=BROKER)
app.conf.update(
    task_acks_late=True,
    task_reject_on_worker_lost=True,
    worker_prefetch_multiplier=1,
    task_ignore_result=True,
    worker_hijack_root_logger=False,
)
_counter = redis.Redis.from_url(BROKER)


@app.task(name="bench.noop")
def noop(n: int) -> None:
    _counter.incr(COUNTER)
