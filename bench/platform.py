"""Platform mode (issue 18) at scale: 200 agencies, side by side with one agency.

    python -m bench.platform --all [--agencies 200] [--items 1000000] [--quick] [--redis URL]
    python -m bench.platform [--agencies 200] [--items 100000] [--requests 300] [--redis URL]

``--all`` (or ``--sections intake,site,console,report``) is the issue's scale section as
one table (bench/platform_sections.py): each section below run by its own module, on its
own freshly loaded platform, its figures beside the goals (render < 200 ms, console pages
< 300 ms, per-agency report < 1 s) and the single-agency baselines; ``--quick`` repeats
less and skips the 1M-item report baseline. Without it, the intake section alone.

Sections (each package of issue 18 adds its own; each module runs alone too):

- render: bench/platform_site.py; console: bench/platform_console.py; report and
  summary: bench/platform_report.py.

- intake: time to accept one new item (``POST /v1/items`` over HTTP to a real
  ``govpub serve``, until its answer: reach, registry, taxonomy, store, outbox) for a
  source bound to one agency of the platform (bench/platform_data.py: 200 agencies,
  ``--items`` items spread Zipf-like, a source per agency), against a single-agency
  installation (one agency, one source) with the same four channels. No workers run,
  so nothing competes with the intake while it is measured. p50 / p95 / max in ms.

Runs on fresh PostgreSQL databases and a Redis database emptied before and after.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

from bench import platform_data
from bench.infra import REDIS, fresh_postgres, fresh_redis, scratch
from pipeline.db import make_engine
from pipeline.demo_run import demo_items
from pipeline.localcluster import LocalCluster
from pipeline.schema import upgrade

# the same four channel instances for both installations (memory kind: nothing is sent)
CHANNELS = {name: {"kind": "memory"} for name in ("website", "wechat", "feed", "district-archives")}
WARMUP = 20


def percentiles(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    return {
        "p50": round(statistics.median(ordered), 1),
        "p95": round(ordered[max(0, int(len(ordered) * 0.95) - 1)], 1),
        "max": round(ordered[-1], 1),
    }


def time_intake(url: str, token: str, code: str, name: str, requests: int) -> dict[str, float]:
    """``requests`` new items, one request at a time, after a warm-up: ms per answer."""
    samples: list[float] = []
    template = {k: v for k, v in demo_items()[0].items() if k != "source"}
    with httpx.Client(base_url=url, headers={"authorization": f"Bearer {token}"}, timeout=60) as http:
        for n in range(WARMUP + requests):
            item = {
                **template,
                "id": f"bench-{n}",
                "title": f"基准测试 {n}",
                "agency": {"code": code, "name": name},
            }
            started = time.perf_counter()
            answer = http.post("/v1/items", json=item)
            took = (time.perf_counter() - started) * 1000
            assert answer.status_code == 202, answer.text
            if n >= WARMUP:
                samples.append(took)
    return percentiles(samples)


@contextmanager
def serving(root: Path, url: str, broker: str, agencies: dict[str, Any] | None) -> Iterator[LocalCluster]:
    settings: dict[str, Any] = {"agencies": agencies} if agencies is not None else {}
    cluster = LocalCluster.create(root, url, broker, CHANNELS, **settings)
    try:
        yield cluster
    finally:
        cluster.stop()


def single_agency(root: Path, broker: str, requests: int) -> dict[str, float]:
    code, name = "113703030000000000", "张店区教育局"
    with fresh_postgres() as url, serving(root / "single", url, broker, {code: {"name": name}}) as cluster:
        token = cluster.services.store.add_source("zdjy-oa", [code])
        _, served = cluster.serve()
        return time_intake(served, token, code, name, requests)


def platform(
    root: Path, broker: str, agencies: int, items: int, requests: int
) -> tuple[dict[str, float], str]:
    with fresh_postgres() as url:
        engine = make_engine(url)
        upgrade(engine)
        engine.dispose()
        loaded = platform_data.generate(url, agencies, items)
        planned = platform_data.plan(agencies, items)
        agency = planned[len(planned) // 2]  # a median agency
        with serving(root / "platform", url, broker, {}) as cluster:
            token = cluster.services.store.add_source(f"src-{agency.path}")  # its new token, bound as loaded
            _, served = cluster.serve()
            figures = time_intake(served, token, agency.code, agency.name, requests)
        about = f"{agencies} agencies, {loaded['rows']['items']:,} items"
        return figures, about


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--agencies", type=int, default=200)
    parser.add_argument("--items", type=int, help="default 100000 (intake alone), 1000000 (--all)")
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--redis", default=REDIS, help=f"a Redis database to empty and use (default {REDIS})")
    parser.add_argument("--all", action="store_true", help="every section, one table")
    parser.add_argument("--sections", help="some sections, one table: intake,site,console,report")
    parser.add_argument("--quick", action="store_true", help="with --all: fewer repeats, no report baseline")
    args = parser.parse_args()
    if args.all or args.sections:
        from bench import platform_sections

        chosen = list(platform_sections.SECTIONS) if args.all else args.sections.split(",")
        unknown = set(chosen) - set(platform_sections.SECTIONS)
        if unknown:
            parser.error(f"unknown sections {sorted(unknown)}; known: {','.join(platform_sections.SECTIONS)}")
        items = args.items or 1_000_000
        rows = platform_sections.run(chosen, args.agencies, items, args.quick, args.redis)
        platform_sections.table(rows, f"{args.agencies} agencies, {items:,} items")
        return
    with scratch() as root, fresh_redis(args.redis) as broker:
        one = single_agency(root, broker, args.requests)
        many, about = platform(root, broker, args.agencies, args.items or 100_000, args.requests)
    report([("intake: accept one item (bound source)", one, many)], about, args.requests)


def report(rows: list[tuple[str, dict[str, float], dict[str, float]]], about: str, requests: int) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"govpub platform mode — {about}; {requests} requests each, ms")
    table.add_column("what")
    for side in ("one agency", "platform"):
        for p in ("p50", "p95", "max"):
            table.add_column(f"{side} {p}", justify="right")
    for what, one, many in rows:
        table.add_row(
            what,
            *(str(one[p]) for p in ("p50", "p95", "max")),
            *(str(many[p]) for p in ("p50", "p95", "max")),
        )
    Console(width=140).print(table)


if __name__ == "__main__":
    main()
