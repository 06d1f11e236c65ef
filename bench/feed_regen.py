"""Feed channel figures: regeneration cost after one new item among many, and how
``govpub serve`` answers conditional GETs of the feeds under a local load.

    python -m bench.feed_regen [--items 100000] [--new 20] [--seconds 10] [--threads 4]

1. ``--items`` items are bulk-loaded as delivered on the feed channel (SQLite, then
   PostgreSQL), every feed is built once, then ``--new`` items are accepted one by one
   and each feed delivery is run as a worker runs it (claim, regenerate the feeds of
   the item — all and its category, RSS and Atom, 50 entries each —, record). The same
   is measured with 1,000 items: the cost must not grow with the number of items.
2. ``govpub serve`` (embedded, SQLite, the same ``--items``) is asked for the feeds by
   ``--threads`` loopback clients that revalidate with If-None-Match, for ``--seconds``
   while nothing changes, then for ``--seconds`` while a new item is published every
   second. Every request is counted; the run stops by itself.
"""

from __future__ import annotations

import argparse
import statistics
import threading
import time
from pathlib import Path
from typing import Any

import httpx

from bench.bulk import load_published, template
from bench.infra import ensure_services, fresh_postgres, register_demo_agency, scratch
from bench.measure import Row, percentile
from channels.feed.channel import FeedChannel
from pipeline.config import ChannelConfig, Settings
from pipeline.demo_run import demo_items
from pipeline.localcluster import LocalCluster
from pipeline.model import ItemIn
from pipeline.runner import run_delivery
from pipeline.schema import upgrade
from pipeline.services import Services, build_services

ENTRIES = 50
FEEDS = ["all.atom", "all.rss", "category-政策法规.atom", "category-规划计划.rss"]


def new_item(n: int) -> dict[str, Any]:
    """A new item, of a year whose 索引号 serials the bulk-loaded items left free."""
    return {
        **demo_items()[0],
        "source": "bench",
        "id": f"new-{n}",
        "title": f"新公开信息 {n}",
        "generated_on": "2025-03-01",
    }


def bulk_loaded(services: Services, items: int) -> float:
    started = time.perf_counter()
    load_published(services.engine, template(demo_items()[0]), items, "feed")
    return time.perf_counter() - started


def regeneration(database_url: str, root: Path, items: int, new: int) -> dict[str, float]:
    """Milliseconds per feed delivery of a new item, after ``items`` published ones."""
    channels = {"feed": ChannelConfig(kind="feed", options={"entries": ENTRIES})}
    services = build_services(Settings(database_url=database_url, data_dir=root, channels=channels))
    try:
        upgrade(services.engine)
        register_demo_agency(services.engine)
        loading = bulk_loaded(services, items)
        channel = services.channel("feed")
        assert isinstance(channel, FeedChannel)
        channel.rebuild()  # every feed exists, as in a running installation
        timings, cpu = [], []
        for n in range(new):
            accepted = services.store.accept(ItemIn.model_validate(new_item(n)), {"feed": True})
            ((delivery_id, _),) = accepted.work
            started, cpu_started = time.perf_counter(), time.process_time()
            outcome = run_delivery(services, delivery_id, "feed")
            timings.append((time.perf_counter() - started) * 1000)
            cpu.append((time.process_time() - cpu_started) * 1000)
            assert outcome == "delivered", outcome
    finally:
        services.engine.dispose()
    return {
        "median": statistics.median(timings),
        "p95": percentile(timings, 0.95),
        "cpu": statistics.median(cpu),
        "load_s": loading,
    }


class Revalidating(threading.Thread):
    """One feed reader: fetch, then revalidate with If-None-Match until the deadline."""

    def __init__(self, url: str, deadline: float, offset: int) -> None:
        super().__init__(daemon=True)
        self.url, self.deadline, self.offset = url, deadline, offset
        self.statuses: dict[int, int] = {}
        self.latencies: list[float] = []

    def run(self) -> None:
        tags: dict[str, str] = {}
        with httpx.Client(base_url=self.url, timeout=10) as client:
            n = self.offset
            while time.monotonic() < self.deadline:
                feed = FEEDS[n % len(FEEDS)]
                n += 1
                headers = {"if-none-match": tags[feed]} if feed in tags else {}
                started = time.perf_counter()
                answer = client.get(f"/feeds/{feed}", headers=headers)
                self.latencies.append((time.perf_counter() - started) * 1000)
                if headers:  # only conditional requests count towards the 304 rate
                    self.statuses[answer.status_code] = self.statuses.get(answer.status_code, 0) + 1
                if "etag" in answer.headers:
                    tags[feed] = answer.headers["etag"]


def conditional_load(
    cluster: LocalCluster, url: str, seconds: float, threads: int, publish: bool
) -> dict[str, float]:
    token = cluster.services.store.add_source("bench")
    deadline = time.monotonic() + seconds
    readers = [Revalidating(url, deadline, i) for i in range(threads)]
    for reader in readers:
        reader.start()
    published = 0
    with httpx.Client(base_url=url, headers={"authorization": f"Bearer {token}"}, timeout=30) as client:
        while publish and time.monotonic() < deadline:
            client.post(
                "/v1/items", json={**new_item(10_000 + published), "source": "bench"}
            ).raise_for_status()
            published += 1
            time.sleep(1.0)
    for reader in readers:
        reader.join()
    statuses: dict[int, int] = {}
    for reader in readers:
        for status, count in reader.statuses.items():
            statuses[status] = statuses.get(status, 0) + count
    latencies = [ms for reader in readers for ms in reader.latencies]
    conditional = sum(statuses.values())
    return {
        "requests_per_s": len(latencies) / seconds,
        "conditional": conditional,
        "rate_304": statuses.get(304, 0) / conditional if conditional else 0.0,
        "other": conditional - statuses.get(304, 0) - statuses.get(200, 0),
        "p50_ms": percentile(latencies, 0.5),
        "p99_ms": percentile(latencies, 0.99),
        "published": published,
    }


def serve_load(root: Path, items: int, seconds: float, threads: int) -> dict[str, dict[str, float]]:
    channels = {"feed": {"kind": "feed", "options": {"entries": ENTRIES}}}
    cluster = LocalCluster.create(root, f"sqlite:///{root / 'serve.db'}", None, channels)
    try:
        bulk_loaded(cluster.services, items)
        _, url = cluster.serve()
        return {
            "quiet": conditional_load(cluster, url, seconds, threads, publish=False),
            "publishing": conditional_load(cluster, url, seconds, threads, publish=True),
        }
    finally:
        cluster.stop()


def figures(items: int = 100_000, new: int = 20, seconds: float = 10.0, threads: int = 4) -> list[Row]:
    ensure_services()
    rows: list[Row] = []
    note = f"{ENTRIES} entries; all + category feeds, RSS and Atom"
    for label, count in ((f"{items:,} items", items), ("1,000 items", 1_000)):
        with scratch() as root:
            lite = regeneration(f"sqlite:///{root / 'bench.db'}", root, count, new)
        with scratch() as root, fresh_postgres() as pg:
            post = regeneration(pg, root, count, new)
        for db_name, result in (("SQLite", lite), ("PostgreSQL", post)):
            for stat, said in (("median", "median"), ("p95", "p95"), ("cpu", "worker CPU, median")):
                rows.append(
                    (
                        "5 feeds",
                        f"regenerate after 1 new item, {label}, {db_name}, {said}",
                        result[stat],
                        "ms",
                        note,
                    )
                )
    with scratch() as root:
        load = serve_load(root, items, seconds, threads)
    for phase, result in load.items():
        what = f"govpub serve, {threads} threads revalidating, {phase}"
        extra = (
            f"{result['conditional']:.0f} conditional GETs, {result['published']:.0f} items published, "
            f"{result['other']:.0f} other answers"
        )
        rows.append(("5 feeds", f"{what}: 304 share", 100 * result["rate_304"], "%", extra))
        rows.append(("5 feeds", f"{what}: requests", result["requests_per_s"], "req/s", "loopback"))
        rows.append(
            (
                "5 feeds",
                f"{what}: p50 / p99 latency",
                result["p50_ms"],
                "ms",
                f"p99 {result['p99_ms']:.1f} ms",
            )
        )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--items", type=int, default=100_000)
    parser.add_argument("--new", type=int, default=20, help="new items timed one by one")
    parser.add_argument("--seconds", type=float, default=10.0, help="length of each load phase")
    parser.add_argument("--threads", type=int, default=4)
    args = parser.parse_args()
    for section, name, value, unit, note in figures(args.items, args.new, args.seconds, args.threads):
        print(f"{section:8} {name:78} {value:10,.1f} {unit:6} {note}")


if __name__ == "__main__":
    main()
