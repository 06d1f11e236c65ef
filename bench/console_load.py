"""Console page load times with 100,000 deliveries in the store, over HTTP against a
real ``govpub serve`` (a separate process, as in production).

    python -m bench.console_load [--deliveries 100000] [--db sqlite|postgresql] [--repeat 20]

Rows are generated straight into the tables (bulk inserts, a few seconds): 4 channels,
one item revision per 4 deliveries, accepted over the last 400 days, ~97 % delivered,
1 % dead, 1 % retrying, some skipped and waiting, one or two log entries each.
With ``--db postgresql`` the store is a fresh PostgreSQL database and the queue a Redis
broker (no workers, so nothing moves while we measure); with ``sqlite`` it is the
embedded mode. Prints median / p95 / max per page in milliseconds.
"""

from __future__ import annotations

import argparse
import contextlib
import random
import re
import statistics
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import Engine, insert

from bench.infra import ensure_services, fresh_postgres, fresh_redis, scratch
from pipeline import db
from pipeline.console.auth import Accounts
from pipeline.demo_run import demo_items
from pipeline.localcluster import LocalCluster

CHANNELS = ("website", "wechat", "feed", "archive")
SOURCES = ("zdjy-oa", "hr-sys", "fin-sys")
TOPICS = ("招生工作实施方案", "部门预算公开", "人事任免通知", "教育督导报告", "校车安全管理办法")
RARE = "专项审计结果公告"
PASSWORD = "bench-password-1"
AGENCY = "113703030000000000"
BATCH = 5000
OUTCOMES = {"delivered": ["delivered"], "dead": ["retry", "dead"], "retrying": ["retry"]}


def _ref(channel: str, n: int) -> dict[str, Any]:
    page = f"https://www.example.gov.cn/site/items/{AGENCY}-2026-{n:05d}.html"
    return {
        "website": {"url": page},
        "wechat": {"publish_id": str(2247480000 + n), "article_url": f"https://mp.weixin.qq.com/s/{n:08x}"},
        "feed": {
            "entry_id": f"urn:govpub:{AGENCY}/{n}",
            "feed_url": "https://www.example.gov.cn/feeds/all.atom",
        },
        "archive": {"package_id": f"pkg-2026-{n // 500:03d}", "checksum": f"sha256:{n:064x}"[:71]},
    }[channel]


def generate(engine: Engine, deliveries: int, now: datetime) -> dict[str, Any]:
    """Bulk-insert items, revisions, deliveries and their log; returns probes for the pages."""
    rng = random.Random(8)
    base = demo_items()[0]
    items = deliveries // len(CHANNELS)
    span = timedelta(days=400)
    rows: dict[str, list[dict[str, Any]]] = {"items": [], "revisions": [], "deliveries": [], "events": []}
    delivery_id = event_id = 0
    with engine.begin() as conn:
        for source in SOURCES:
            conn.execute(insert(db.sources).values(name=source, token_hash=source * 4, created_at=now))
    for pk in range(1, items + 1):
        accepted = now - span * (1 - pk / items)
        title = f"{RARE}（{pk}）" if pk % 2500 == 0 else f"{TOPICS[pk % len(TOPICS)]}（第 {pk} 号）"
        index_no = f"{AGENCY}/{accepted.year}-{pk:05d}"  # pk is unique, so the 索引号 is too
        source = SOURCES[pk % len(SOURCES)]
        rows["items"].append(
            {
                "pk": pk,
                "source": source,
                "item_id": f"b-{pk}",
                "index_no": index_no,
                "agency_code": AGENCY,
                "latest_revision": 1,
                "created_at": accepted,
            }
        )
        doc = {**base, "source": source, "id": f"b-{pk}", "title": title, "index_no": index_no}
        doc["accepted_at"] = accepted.isoformat()
        rows["revisions"].append(
            {
                "pk": pk,
                "item_pk": pk,
                "agency_code": AGENCY,
                "revision": 1,
                "body_hash": f"{pk:064x}",
                "title": title,
                "category": base["category"],
                "generated_on": accepted.date(),
                "accepted_at": accepted,
                "document": doc,
            }
        )
        for channel in CHANNELS:
            delivery_id += 1
            roll = rng.random()
            state = (
                "dead" if roll < 0.01 else
                "retrying" if roll < 0.02 else
                "queued" if roll < 0.025 else
                "skipped" if roll < 0.035 else
                "delivered"
            )  # fmt: skip
            done = accepted + timedelta(seconds=rng.uniform(0.2, 120))
            failed = state in ("dead", "retrying")
            rows["deliveries"].append(
                {
                    "id": delivery_id,
                    "item_pk": pk,
                    "revision_pk": pk,
                    "revision": 1,
                    "channel": channel,
                    "kind": "memory",  # run() configures every channel as a memory channel
                    "agency_code": AGENCY,
                    "action": "publish",
                    "state": state,
                    "attempts": 8 if state == "dead" else 2 if failed else 1,
                    "claim_no": 1,
                    "next_attempt_at": now + timedelta(days=1),  # nothing becomes due while we measure
                    "external_ref": _ref(channel, pk) if state == "delivered" else None,
                    "reason": "not requested for this item" if state == "skipped" else None,
                    "last_error_class": ("PermanentError" if state == "dead" else "TransientError")
                    if failed
                    else None,
                    "last_error": "errcode 40164: invalid ip 10.0.0.8, not in whitelist" if failed else None,
                    "created_at": accepted,
                    "updated_at": done,
                    "delivered_at": done if state == "delivered" else None,
                }
            )
            for attempt, outcome in enumerate(OUTCOMES.get(state, []), 1):
                event_id += 1
                rows["events"].append(
                    {
                        "id": event_id,
                        "delivery_id": delivery_id,
                        "at": done,
                        "attempt": attempt,
                        "worker": "bench-host:4242",
                        "outcome": outcome,
                        "error_class": None if outcome == "delivered" else "TransientError",
                        "message": None if outcome == "delivered" else "connection reset by peer",
                        "external_ref": _ref(channel, pk) if outcome == "delivered" else None,
                    }
                )
        if pk % BATCH == 0 or pk == items:
            _flush(engine, rows)
    return {
        "items": items,
        "deliveries": delivery_id,
        "events": event_id,
        "mid_id": delivery_id // 2,
        "item_pk": items // 2,
        "index_no": f"{AGENCY}/{(now - span / 2).year}-{items // 2:05d}",
        "week_from": (now - timedelta(days=200)).date().isoformat(),
        "week_to": (now - timedelta(days=194)).date().isoformat(),
    }


def _flush(engine: Engine, rows: dict[str, list[dict[str, Any]]]) -> None:
    tables = {
        "items": db.items,
        "revisions": db.revisions,
        "deliveries": db.deliveries,
        "events": db.delivery_events,
    }
    with engine.begin() as conn:
        for key, table in tables.items():
            if rows[key]:
                conn.execute(insert(table), rows[key])
            rows[key].clear()


def login(http: httpx.Client) -> None:
    page = http.get("/console/login").text
    token = re.search(r'name="csrf" value="([^"]+)"', page)
    assert token, "no login form"
    answer = http.post("/console/login", data={"username": "bench", "password": PASSWORD, "csrf": token[1]})
    assert answer.status_code == 200 and "/console/login" not in str(answer.url), "login failed"


def pages(probe: dict[str, Any]) -> list[tuple[str, str]]:
    week = f"date_from={probe['week_from']}&date_to={probe['week_to']}"
    return [
        ("overview page", "/console/"),
        ("overview live fragment (polled)", "/console/?fragment=1"),
        ("deliveries, newest 50", "/console/deliveries"),
        ("deliveries, failing", "/console/deliveries?state=failing"),
        ("deliveries, dead on wechat", "/console/deliveries?channel=wechat&state=dead"),
        ("deliveries, one source", "/console/deliveries?source=hr-sys"),
        ("deliveries, one week 200 days ago", f"/console/deliveries?{week}"),
        ("deliveries, page at the middle", f"/console/deliveries?before={probe['mid_id']}"),
        ("item search, common title word", "/console/items?q=招生"),
        ("item search, rare title word", f"/console/items?q={RARE}"),
        ("item search, by 索引号", f"/console/items?q={probe['index_no']}"),
        ("item timeline", f"/console/items/{probe['item_pk']}"),
        ("/v1/overview (govpub status)", "/v1/overview"),
        ("/metrics", "/metrics"),
    ]  # fmt: skip


def measure(http: httpx.Client, url: str, repeat: int) -> tuple[float, float, float]:
    for _ in range(2):
        assert http.get(url).status_code == 200, url
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        answer = http.get(url)
        times.append((time.perf_counter() - started) * 1000)
        assert answer.status_code == 200 and "/console/login" not in str(answer.url), url
    times.sort()
    return statistics.median(times), times[max(0, int(len(times) * 0.95) - 1)], times[-1]


@contextlib.contextmanager
def store(kind: str) -> Iterator[tuple[str, str | None]]:
    if kind == "postgresql":
        ensure_services()
        with fresh_postgres() as pg, fresh_redis() as broker:
            yield pg, broker
    else:
        yield "", None


def run(deliveries: int, kind: str, repeat: int) -> None:
    with scratch() as root, store(kind) as (database_url, broker):
        database_url = database_url or f"sqlite:///{root / 'govpub.db'}"
        channels = {name: {"kind": "memory"} for name in CHANNELS}
        cluster = LocalCluster.create(root, database_url, broker, channels)
        try:
            now = datetime.now(UTC)
            started = time.perf_counter()
            probe = generate(cluster.services.engine, deliveries, now)
            if kind == "postgresql":
                with cluster.services.engine.connect() as conn:
                    conn.exec_driver_sql("ANALYZE")
                    conn.commit()
            generated = time.perf_counter() - started
            Accounts(cluster.services.engine, lambda: now).add("bench", "admin", PASSWORD)
            _, url = cluster.serve()
            print(
                f"{probe['deliveries']:,} deliveries ({probe['items']:,} items, "
                f"{probe['events']:,} log entries) "
                f"generated in {generated:.1f} s; {kind}{' + Redis' if broker else ' (embedded)'}; "
                f"govpub serve at {url}; {repeat} requests per page\n"
            )
            print(f"{'page':38} {'median ms':>10} {'p95 ms':>8} {'max ms':>8}")
            with httpx.Client(base_url=url, follow_redirects=True, timeout=60) as http:
                login(http)
                for label, path in pages(probe):
                    median, p95, worst = measure(http, path, repeat)
                    print(f"{label:38} {median:10.1f} {p95:8.1f} {worst:8.1f}")
        finally:
            cluster.stop()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--deliveries", type=int, default=100_000)
    parser.add_argument("--db", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--repeat", type=int, default=20)
    args = parser.parse_args()
    run(args.deliveries, args.db, args.repeat)


if __name__ == "__main__":
    main()
