"""The benchmark's sections. Each returns rows of (section, measure, value, unit, note)."""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import redis

from bench import profile
from bench.infra import fresh_postgres, fresh_redis, scratch, wait_for
from bench.spine import demo_like_items
from pipeline.client import GovpubClient
from pipeline.localcluster import LocalCluster, stop_process

Row = tuple[str, str, float, str, str]


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def peak_rss_mb(pid: int) -> float:
    """VmHWM of a process and its children (a prefork worker's pool), in MiB."""
    total = 0.0
    pids = [pid]
    children = Path(f"/proc/{pid}/task/{pid}/children")
    if children.exists():
        pids += [int(p) for p in children.read_text().split()]
    for one in pids:
        status = Path(f"/proc/{one}/status")
        if status.exists():
            for line in status.read_text().splitlines():
                if line.startswith("VmHWM:"):
                    total = max(total, int(line.split()[1]) / 1024)
    return total


def delivered(cluster: LocalCluster, channel: str) -> int:
    return cluster.services.store.counts().get(channel, {}).get("delivered", 0)


def govpub_end_to_end(
    items: int,
    workers: int,
    concurrency: int,
    channel_options: dict[str, Any] | None = None,
    rss: dict[str, float] | None = None,
    profile_to: Path | None = None,
) -> float:
    """Items per second from the first batch submitted to the last delivery."""
    with fresh_postgres() as pg, fresh_redis() as broker, scratch() as root:
        channels = {"memory": {"kind": "memory", "options": channel_options or {}}}
        cluster = LocalCluster.create(root, pg, broker, channels, requeue_after_seconds=60.0)
        try:
            pool = [cluster.worker("govpub.memory", concurrency=concurrency) for _ in range(workers)]
            cluster.beat()
            serve, url = cluster.serve()
            token = cluster.services.store.add_source("bench")
            started = time.perf_counter()
            with profile.sampled([w.pid for w in pool], profile_to, "queue"):
                with GovpubClient(url, token, timeout=300) as client:
                    client.submit_many(demo_like_items(items))
                wait_for(lambda: delivered(cluster, "memory") == items, 1800, "govpub delivery", every=0.1)
                elapsed = time.perf_counter() - started
            if rss is not None:
                rss["serve"] = max(rss.get("serve", 0), peak_rss_mb(serve.pid))
                rss["worker"] = max([rss.get("worker", 0)] + [peak_rss_mb(w.pid) for w in pool])
        finally:
            cluster.stop()
    return items / elapsed


def govpub_drain(items: int, workers: int, concurrency: int, one_message: bool = True) -> float:
    """Deliveries per second of the workers alone (the intake is section 2's): ``items``
    deliveries committed and waiting, then the wake-ups (one message for the channel, or
    one per delivery as an unbatched intake sends them), from the first message sent to
    the last delivery recorded."""
    from pipeline.model import ItemIn
    from pipeline.queue import CeleryDispatcher, create_celery

    with fresh_postgres() as pg, fresh_redis() as broker, scratch() as root:
        cluster = LocalCluster.create(
            root, pg, broker, {"memory": {"kind": "memory"}}, requeue_after_seconds=600.0
        )
        try:
            store = cluster.services.store
            store.add_source("bench")
            batch = [(ItemIn.model_validate(i), {"memory": True}) for i in demo_like_items(items)]
            work: list[tuple[int, str]] = []
            for start in range(0, items, 500):
                for answer in store.accept_many(batch[start : start + 500]):
                    assert not isinstance(answer, Exception), answer
                    work += answer.work
            pool = [cluster.worker("govpub.memory", concurrency=concurrency) for _ in range(workers)]
            app = create_celery(cluster.services)
            wait_for(lambda: len(app.control.ping(timeout=0.5)) >= len(pool), 300, "workers up")
            started = time.perf_counter()
            CeleryDispatcher(app).send([(0, "memory")] if one_message else work)
            wait_for(lambda: delivered(cluster, "memory") == items, 1800, "govpub drain", every=0.05)
            return items / (time.perf_counter() - started)
        finally:
            cluster.stop()


def bare_celery(tasks: int, workers: int, concurrency: int) -> float:
    """Tasks per second for no-op Celery tasks, sent and run on the same machine."""
    with fresh_redis() as broker:
        env = {**os.environ, "BENCH_BROKER": broker}
        procs = [
            subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "celery",
                    "-A",
                    "bench.bare_celery",
                    "worker",
                    "-Q",
                    "bench.bare",
                    "--concurrency",
                    str(concurrency),
                    "--loglevel",
                    "WARNING",
                ],
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                start_new_session=True,
            )
            for _ in range(workers)
        ]
        try:
            from bench import bare_celery as bare

            bare.app.conf.broker_url = broker
            counter = redis.Redis.from_url(broker)
            counter.delete(bare.COUNTER)
            bare.noop.apply_async(args=[0], queue="bench.bare")  # wait until workers consume
            wait_for(lambda: int(counter.get(bare.COUNTER) or 0) >= 1, 120, "bare workers up")
            counter.delete(bare.COUNTER)
            started = time.perf_counter()
            with bare.app.producer_or_acquire() as producer:
                for n in range(tasks):
                    bare.noop.apply_async(args=[n], queue="bench.bare", producer=producer)
            wait_for(lambda: int(counter.get(bare.COUNTER) or 0) >= tasks, 600, "bare tasks", every=0.02)
            return tasks / (time.perf_counter() - started)
        finally:
            for proc in procs:
                stop_process(proc)


def queue_overhead(
    items: int, workers: int = 2, concurrency: int = 2, profile_to: Path | None = None
) -> list[Row]:
    bare = bare_celery(items, workers, concurrency)
    ours = govpub_end_to_end(items, workers, concurrency)
    note = f"{items} items, {workers} workers x {concurrency}"
    drained = govpub_drain(items, workers, concurrency)
    each = govpub_drain(items, workers, concurrency, one_message=False)
    rows: list[Row] = [
        ("1 queue overhead", "bare Celery no-op tasks", bare, "tasks/s", note),
        ("1 queue overhead", "govpub end to end, instant channel", ours, "items/s", note),
        ("1 queue overhead", "govpub / bare Celery", 100 * ours / bare, "%", "goal >= 100 %"),
        ("1 queue overhead", "govpub workers draining, one wake-up", drained, "deliveries/s", note),
        ("1 queue overhead", "govpub workers draining, a message each", each, "deliveries/s", note),
        (
            "1 queue overhead",
            "drain (one wake-up) / bare Celery",
            100 * drained / bare,
            "%",
            "batched claims",
        ),
    ]
    if profile_to is not None:  # a run of its own: sampling slows what it samples
        sampled = govpub_end_to_end(items, workers, concurrency, profile_to=profile_to)
        rows.append(("1 profile", "govpub end to end while sampled", sampled, "items/s", "py-spy on"))
        stacks = profile.busy_stacks(profile_to, "queue")
        for kind, share in profile.breakdown(stacks):
            rows.append(("1 profile", kind, share, "% of a delivery", "py-spy, wall time"))
        for frame, share in profile.top_pipeline_frames(stacks):
            rows.append(("1 profile", frame, share, "% inclusive", ""))
    return rows


def intake(items: int, threads: int = 8) -> list[Row]:
    """Answer times of POST /v1/items and of the batch endpoint (no workers running).

    The batch endpoint is measured twice in the same run: ordinary items, which it
    stores as sets (pipeline.store_set), and the same items each with its own 索引号,
    which it stores one at a time as before sets existed (the baseline beside them)."""
    with fresh_postgres() as pg, fresh_redis() as broker, scratch() as root:
        cluster = LocalCluster.create(root, pg, broker, {"memory": {"kind": "memory"}})
        try:
            _, url = cluster.serve()
            token = cluster.services.store.add_source("bench")
            singles = demo_like_items(items)
            headers = {"authorization": f"Bearer {token}"}
            times: list[float] = []
            lock = threading.Lock()

            def post(item: dict[str, Any]) -> None:
                with httpx.Client(base_url=url, headers=headers, timeout=60) as client:
                    t = time.perf_counter()
                    assert client.post("/v1/items", json=item).status_code == 202
                    with lock:
                        times.append(time.perf_counter() - t)

            started = time.perf_counter()
            with ThreadPoolExecutor(threads) as pool:
                list(pool.map(post, singles))
            single_rate = items / (time.perf_counter() - started)
            as_sets = batches(url, headers, [{**i, "id": f"batch-{n}"} for n, i in enumerate(singles)])
            code = singles[0]["agency"]["code"]
            own = [
                {**i, "id": f"own-{n}", "index_no": f"{code}/2099-{n + 1:05d}"} for n, i in enumerate(singles)
            ]
            one_at_a_time = batches(url, headers, own)
        finally:
            cluster.stop()
    ms = 1000.0
    sets_rate, set_times = as_sets
    alone_rate, alone_times = one_at_a_time
    return [
        ("2 intake", "POST /v1/items", single_rate, "items/s", f"{threads} client threads"),
        ("2 intake", "POST /v1/items p50", ms * statistics.median(times), "ms", "goal < 10 ms"),
        ("2 intake", "POST /v1/items p99", ms * percentile(times, 0.99), "ms", ""),
        ("2 intake", "POST /v1/items:batch", sets_rate, "items/s", "batches of 500, as sets; goal >= 2,000"),
        ("2 intake", "batch of 500 p50", ms * statistics.median(set_times), "ms", "as sets"),
        ("2 intake", "batch of 500 p99", ms * percentile(set_times, 0.99), "ms", "as sets"),
        (
            "2 intake",
            "POST /v1/items:batch, one at a time",
            alone_rate,
            "items/s",
            "baseline: own 索引号 each",
        ),
        (
            "2 intake",
            "batch of 500 p50, one at a time",
            ms * statistics.median(alone_times),
            "ms",
            "baseline",
        ),
        ("2 intake", "sets / one at a time", sets_rate / alone_rate, "x", "same run"),
    ]


def batches(url: str, headers: dict[str, str], items: list[dict[str, Any]]) -> tuple[float, list[float]]:
    """Items per second through POST /v1/items:batch in batches of 500, and each batch's
    answer time; every item must be accepted."""
    times: list[float] = []
    started = time.perf_counter()
    with httpx.Client(base_url=url, headers=headers, timeout=600) as client:
        for start in range(0, len(items), 500):
            t = time.perf_counter()
            answer = client.post("/v1/items:batch", json={"items": items[start : start + 500]})
            assert answer.status_code == 200 and {a["status"] for a in answer.json()} == {202}, answer.text[
                :500
            ]
            times.append(time.perf_counter() - t)
    return len(items) / (time.perf_counter() - started), times


def scaling(items: int, latency: float = 0.02) -> list[Row]:
    rows: list[Row] = []
    for workers in (1, 2, 4):
        rate = govpub_end_to_end(items, workers, 1, {"delay_seconds": latency})
        rows.append(
            (
                "4 scaling",
                f"{workers} worker process(es)",
                rate,
                "items/s",
                f"channel answers in {latency * 1000:.0f} ms; limit {workers / latency:.0f}/s",
            )
        )
    return rows
