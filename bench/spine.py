"""1,000 items through the batch endpoint until all are delivered on the memory channel,
with PostgreSQL, Redis, ``govpub serve``, two Celery workers and the beat as processes.

    python -m bench.spine [--items 1000] [--workers 2] [--concurrency 2]
"""

from __future__ import annotations

import argparse
import time
from typing import Any

from bench.infra import ensure_services, fresh_postgres, fresh_redis, scratch, wait_for
from pipeline.client import GovpubClient
from pipeline.localcluster import LocalCluster


def demo_like_items(count: int) -> list[dict[str, Any]]:
    from pipeline.demo_run import demo_items

    base = demo_items()[0]
    return [{**base, "source": "bench", "id": f"b-{n}", "title": f"基准测试 {n}"} for n in range(count)]


def run(items: int = 1000, workers: int = 2, concurrency: int = 2) -> dict[str, float]:
    ensure_services()
    with fresh_postgres() as pg, fresh_redis() as broker, scratch() as root:
        cluster = LocalCluster.create(
            root, pg, broker, {"memory": {"kind": "memory"}}, requeue_after_seconds=30.0
        )
        try:
            for _ in range(workers):
                cluster.worker("govpub.memory", concurrency=concurrency)
            cluster.beat()
            _, url = cluster.serve()
            token = cluster.services.store.add_source("bench")
            payload = demo_like_items(items)
            store = cluster.services.store
            started = time.perf_counter()
            with GovpubClient(url, token, timeout=120) as client:
                answers = client.submit_many(payload)
            accepted = time.perf_counter() - started
            assert all(a["status"] == 202 for a in answers), answers[:3]
            wait_for(lambda: store.counts().get("memory", {}).get("delivered") == items, 600, "delivery")
            total = time.perf_counter() - started
        finally:
            cluster.stop()
    return {"items": items, "accepted_s": accepted, "delivered_s": total, "items_per_s": items / total}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--items", type=int, default=1000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--concurrency", type=int, default=2)
    args = parser.parse_args()
    result = run(args.items, args.workers, args.concurrency)
    print(
        f"{result['items']} items via POST /v1/items:batch: all accepted in {result['accepted_s']:.2f} s, "
        f"all delivered in {result['delivered_s']:.2f} s ({result['items_per_s']:.0f} items/s) "
        f"[PostgreSQL + Redis, {args.workers} workers x {args.concurrency}]"
    )


if __name__ == "__main__":
    main()
