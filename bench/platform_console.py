"""Console page loads on a platform of 200 agencies and 1,000,000 items, for scoped
operators and for the platform administrator, over HTTP against a real ``govpub serve``.

    python -m bench.platform_console [--agencies 200] [--items 1000000] [--repeat 20] [--redis URL]

Loads the platform with :mod:`bench.platform_data` into a fresh PostgreSQL database
(every channel instance a memory channel of the same name; a Redis broker and no worker,
so nothing moves while we measure), adds three console users (``admin``; an operator of
the largest agency; an operator of the median one) with their operator API tokens, and
times each page for each user: median, p95 and max in milliseconds over ``--repeat``
requests (after two unmeasured ones). The issue's goal: console pages under 300 ms.
Prints a table and then the figures as JSON.
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import time
from typing import Any

import httpx
from sqlalchemy import func, select, update

from bench.infra import REDIS, ensure_services, fresh_postgres, fresh_redis, scratch
from bench.platform_data import channels, generate, plan
from pipeline import db
from pipeline.console.auth import Accounts
from pipeline.localcluster import LocalCluster

PASSWORD = "bench-password-1"


def login(http: httpx.Client, name: str) -> None:
    page = http.get("/console/login").text
    token = re.search(r'name="csrf" value="([^"]+)"', page)
    assert token, "no login form"
    answer = http.post("/console/login", data={"username": name, "password": PASSWORD, "csrf": token[1]})
    assert answer.status_code == 200 and "/console/login" not in str(answer.url), f"login of {name} failed"


def measure(http: httpx.Client, url: str, repeat: int) -> dict[str, float]:
    for _ in range(2):
        assert http.get(url).status_code == 200, url
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        answer = http.get(url)
        times.append((time.perf_counter() - started) * 1000)
        assert answer.status_code == 200 and "/console/login" not in str(answer.url), url
    times.sort()
    return {
        "median": round(statistics.median(times), 1),
        "p95": round(times[max(0, int(len(times) * 0.95) - 1)], 1),
        "max": round(times[-1], 1),
    }


def probe(engine: Any, code: str | None) -> dict[str, Any]:
    """An item of the agency (or of any) in the middle of its pks, and its 索引号. Its
    documents get the approval block an accepted item has (bench.platform_data writes
    none; the item page shows its form number)."""
    reach = db.items.c.agency_code == code if code else db.items.c.pk > 0
    with engine.connect() as conn:
        low, high = conn.execute(select(func.min(db.items.c.pk), func.max(db.items.c.pk)).where(reach)).one()
        row = conn.execute(
            select(db.items.c.pk, db.items.c.index_no, db.items.c.agency_code)
            .where(reach, db.items.c.pk >= (low + high) // 2)
            .order_by(db.items.c.pk)
            .limit(1)
        ).one()
    with engine.begin() as conn:
        for revision in conn.execute(
            select(db.revisions.c.pk, db.revisions.c.document).where(db.revisions.c.item_pk == row.pk)
        ).all():
            document = {**revision.document, "approval": {"form_no": f"SP-{row.pk}"}}
            conn.execute(
                update(db.revisions).where(db.revisions.c.pk == revision.pk).values(document=document)
            )
    return {"pk": row.pk, "index_no": row.index_no, "agency": row.agency_code}


def pages(item: dict[str, Any], several: str | None) -> list[tuple[str, str]]:
    found = [
        ("overview", "/console/"),
        ("overview live fragment", "/console/?fragment=1"),
        ("deliveries, newest 50", "/console/deliveries"),
        ("deliveries, failing", "/console/deliveries?state=failing"),
        ("deliveries, dead on wechat", "/console/deliveries?channel=wechat&state=dead"),
        ("items, newest 50", "/console/items"),
        ("item search, common title word", "/console/items?q=通知"),
        ("item search, by 索引号", f"/console/items?q={item['index_no']}"),
        ("item timeline", f"/console/items/{item['pk']}"),
        ("ops API: items", "/v1/ops/items"),
        ("ops API: failing deliveries", "/v1/ops/deliveries?state=failing"),
    ]
    if several:
        found.append(("deliveries of one agency (?agency=)", f"/console/deliveries?agency={several}"))
    return found


def run(agencies: int, items: int, repeat: int, redis: str | None = None, seed: int = 18) -> dict[str, Any]:
    if redis is None:
        ensure_services()
    planned = plan(agencies, items, seed)
    instances = {
        name: {"kind": "memory", **({"agencies": cfg.agencies} if cfg.agencies else {})}
        for name, cfg in channels(planned).items()
    }
    by_size = sorted(planned, key=lambda a: a.items, reverse=True)
    largest, median = by_size[0], by_size[len(by_size) // 2]
    with fresh_postgres() as url, fresh_redis(redis or REDIS) as broker, scratch() as root:
        cluster = LocalCluster.create(root, url, broker, instances)
        try:
            loaded = generate(url, agencies, items, seed)
            engine = cluster.services.engine
            accounts = Accounts(engine, cluster.services.clock)
            users = {
                "admin": (None, accounts.add("admin", "admin", PASSWORD)),
                f"operator of the largest agency ({largest.items:,} items)": (
                    largest.code,
                    accounts.add("op-largest", "operator", PASSWORD, agencies=[largest.code]),
                ),
                f"operator of the median agency ({median.items:,} items)": (
                    median.code,
                    accounts.add("op-median", "operator", PASSWORD, agencies=[median.code]),
                ),
            }
            names = dict(zip(users, ("admin", "op-largest", "op-median"), strict=True))
            tokens = {label: accounts.issue_token(names[label]) for label in users}
            _, served = cluster.serve()
            results: dict[str, Any] = {}
            print(f"{items:,} items, {agencies} agencies loaded in {loaded['total_seconds']} s; {served}")
            for label, (code, _) in users.items():
                item = probe(engine, code or largest.code)
                print(f"\n{label}\n{'page':40} {'median ms':>10} {'p95 ms':>8} {'max ms':>8}")
                headers = {"authorization": f"Bearer {tokens[label]}"}
                figures = {}
                with httpx.Client(
                    base_url=served, follow_redirects=True, timeout=120, trust_env=False
                ) as http:
                    login(http, names[label])
                    for page, path in pages(item, median.code if code is None else None):
                        client_headers = headers if path.startswith("/v1/ops") else {}
                        http.headers.update(client_headers)
                        figures[page] = measure(http, path, repeat)
                        http.headers.pop("authorization", None)
                        row = figures[page]
                        print(f"{page:40} {row['median']:10.1f} {row['p95']:8.1f} {row['max']:8.1f}")
                results[label] = figures
        finally:
            cluster.stop()
    return {"load": loaded, "repeat": repeat, "pages": results}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--agencies", type=int, default=200)
    parser.add_argument("--items", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument(
        "--redis", default=None, help=f"a Redis database to use as the broker (default {REDIS})"
    )
    args = parser.parse_args()
    print(json.dumps(run(args.agencies, args.items, args.repeat, args.redis), ensure_ascii=False, indent=1))


if __name__ == "__main__":
    main()
