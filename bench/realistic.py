"""Section 3: end to end with channels that answer like real ones.

The WeChat channel talks to ``govpub sandbox wechat`` answering every call in 150 ms,
the website channel pushes to ``govpub sandbox cms`` answering in 30 ms, and the feed
stand-in answers in 5 ms. Throughput is set beside the
limit the workers' concurrency allows (concurrency ÷ latency per item), and the
approval-to-live latency (accepted → delivered) is read from the delivery log.
"""

from __future__ import annotations

import statistics
import time
from typing import Any

import httpx
from sqlalchemy import select

from bench.infra import fresh_postgres, fresh_redis, scratch, wait_for
from bench.measure import Row, peak_rss_mb, percentile
from bench.spine import demo_like_items
from pipeline import db
from pipeline.client import GovpubClient
from pipeline.localcluster import LocalCluster, free_port, wait_http
from pipeline.states import ACTIVE_STATES

CONCURRENCY = 4
LATENCY = {"website": 0.030, "wechat": 0.150, "feed": 0.005}
# material/add_material (each title gets its own rendered cover), draft/add,
# freepublish/submit, freepublish/get
WECHAT_CALLS_PER_ITEM = 4


def channels(wechat_port: int, cms_port: int, redis_url: str) -> dict[str, dict[str, Any]]:
    return {
        "website": {
            "kind": "website",
            "options": {
                "adapter": "http",
                "base_url": f"http://127.0.0.1:{cms_port}/documents",
                "token_env": "GOVPUB_CMS_TOKEN",
                "secret_env": "GOVPUB_CMS_SECRET",
            },
        },
        "feed": {"kind": "memory", "options": {"delay_seconds": LATENCY["feed"]}},
        "wechat": {
            "kind": "wechat",
            "depends_on": ["website"],
            "options": {
                "appid": "wxsandbox0000001",
                "api_base_url": f"http://127.0.0.1:{wechat_port}/cgi-bin/",
                "redis_url": redis_url,
                "poll_seconds": 1.0,
            },
        },
    }


def latencies(cluster: LocalCluster) -> dict[str, list[float]]:
    query = (
        select(db.deliveries.c.channel, db.deliveries.c.delivered_at, db.revisions.c.accepted_at)
        .join(db.revisions, db.revisions.c.pk == db.deliveries.c.revision_pk)
        .where(db.deliveries.c.state == "delivered")
    )
    out: dict[str, list[float]] = {}
    with cluster.services.engine.connect() as conn:
        for channel, delivered_at, accepted_at in conn.execute(query):
            out.setdefault(channel, []).append((delivered_at - accepted_at).total_seconds())
    return out


def end_to_end(items: int, rss: dict[str, float]) -> list[Row]:
    with fresh_postgres() as pg, fresh_redis() as broker, scratch() as root:
        port, cms_port = free_port(), free_port()
        cluster = LocalCluster.create(
            root,
            pg,
            broker,
            channels(port, cms_port, broker.rsplit("/", 1)[0] + "/13"),
            requeue_after_seconds=120.0,
        )
        cluster.env["GOVPUB_WECHAT_SECRET"] = "sandbox-secret"
        cluster.env.update(GOVPUB_CMS_TOKEN="sandbox-token", GOVPUB_CMS_SECRET="sandbox-secret")
        try:
            cluster.start("sandbox", "wechat", "--port", str(port), "--publish-delay", "0.5")
            cluster.start("sandbox", "cms", "--port", str(cms_port))
            wait_http(f"http://127.0.0.1:{port}/sandbox/record")
            wait_http(f"http://127.0.0.1:{cms_port}/health")
            httpx.post(
                f"http://127.0.0.1:{cms_port}/control", json={"latency_seconds": LATENCY["website"]}
            ).raise_for_status()
            httpx.post(
                f"http://127.0.0.1:{port}/sandbox/faults",
                json={"path": "*", "delay": LATENCY["wechat"], "times": 10**9},
            ).raise_for_status()
            workers = {name: cluster.worker(f"govpub.{name}", concurrency=CONCURRENCY) for name in LATENCY}
            cluster.beat()
            serve, url = cluster.serve()
            token = cluster.services.store.add_source("bench")
            started = time.perf_counter()
            with GovpubClient(url, token, timeout=300) as client:
                client.submit_many(demo_like_items(items))

            def settled() -> bool:
                counts = cluster.services.store.counts()
                return not any(n for st in counts.values() for s, n in st.items() if s in ACTIVE_STATES)

            wait_for(settled, 3600, "realistic delivery", every=0.5)
            elapsed = time.perf_counter() - started
            rss["serve"] = max(rss.get("serve", 0.0), peak_rss_mb(serve.pid))
            rss["worker"] = max([rss.get("worker", 0.0)] + [peak_rss_mb(w.pid) for w in workers.values()])
            seconds = latencies(cluster)
            counts = cluster.services.store.counts()
        finally:
            cluster.stop()
    rows: list[Row] = [("3 realistic", "all channels settled", items / elapsed, "items/s", f"{items} items")]
    for name, latency in LATENCY.items():
        calls = WECHAT_CALLS_PER_ITEM if name == "wechat" else 1
        limit = CONCURRENCY / (latency * calls)
        done = counts.get(name, {}).get("delivered", 0)
        lat = seconds.get(name, [0.0])
        rows += [
            (
                "3 realistic",
                f"{name}: delivered",
                float(done),
                "items",
                f"answers in {latency * 1000:.0f} ms",
            ),
            (
                "3 realistic",
                f"{name}: limit by concurrency",
                limit,
                "items/s",
                f"{CONCURRENCY} / ({calls} x {latency}s)",
            ),
            ("3 realistic", f"{name}: approval-to-live p50", statistics.median(lat), "s", ""),
            ("3 realistic", f"{name}: approval-to-live p99", percentile(lat, 0.99), "s", ""),
        ]
    return rows
