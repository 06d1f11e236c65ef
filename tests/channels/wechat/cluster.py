"""Real processes for the WeChat tests: ``govpub worker`` / ``beat`` / ``serve`` on
PostgreSQL and Redis db 10 against the sandbox. Channel names (and so queue names) are
unique per test, because other checkouts may run these tests on the same Redis."""

from __future__ import annotations

import os
import subprocess
import sys
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select

from channels.wechat.sandbox import SandboxServer
from pipeline import db
from pipeline.app import create_app
from pipeline.localcluster import LocalCluster
from tests.helpers import make_item

FAST = {
    "retry_base_seconds": 0.1,
    "retry_max_seconds": 0.5,
    "sweep_interval_seconds": 0.2,
    "requeue_after_seconds": 3.0,
    "lease_seconds": 4.0,
}


def submit(cluster: LocalCluster, count: int, first: int = 1, **changes: Any) -> None:
    """Items ``first`` … ``first + count - 1`` through the intake, as an upstream system would."""
    agency = changes.get("agency", {}).get("code")  # bound to it (else: the only agency)
    token = cluster.services.store.add_source(f"test{first}", [agency] if agency else None)
    with TestClient(create_app(cluster.settings, cluster.services)) as client:
        answer = client.post(
            "/v1/items:batch",
            json={"items": [make_item(n, **changes) for n in range(first, first + count)]},
            headers={"authorization": f"Bearer {token}"},
        )
        assert answer.status_code == 200, answer.text


def wechat_name(cluster: LocalCluster) -> str:
    return next(n for n, cfg in cluster.settings.channels.items() if cfg.kind == "wechat")


def wechat_rows(cluster: LocalCluster) -> list[Any]:
    with cluster.services.engine.connect() as conn:
        return list(
            conn.execute(
                select(db.deliveries)
                .where(db.deliveries.c.channel == wechat_name(cluster))
                .order_by(db.deliveries.c.id)
            ).all()
        )


def all_in(cluster: LocalCluster, count: int, *states: str) -> list[Any] | None:
    rows = wechat_rows(cluster)
    return rows if len(rows) == count and all(r.state in states for r in rows) else None


def all_delivered(cluster: LocalCluster, count: int) -> list[Any] | None:
    return all_in(cluster, count, "delivered")


def outcomes(cluster: LocalCluster, row: Any) -> list[str]:
    return [e["outcome"] for e in cluster.services.store.events(row.id)]


def live_articles(sandbox: SandboxServer) -> list[tuple[str, int, str]]:
    """(article id, 1-based index, title) of every article a follower can open."""
    with sandbox.account.lock:
        return [
            (article_id, idx, article["title"])
            for article_id, art in sandbox.account.articles.items()
            for idx, article in enumerate(art["articles"], start=1)
            if idx not in art["deleted"]
        ]


def govpub_cli(cluster: LocalCluster, *args: str) -> subprocess.CompletedProcess[str]:
    """``govpub ARGS…`` against the cluster's configuration, as an operator would run it."""
    return subprocess.run(
        [sys.executable, "-m", "pipeline.cli", *args],
        env={**os.environ, **cluster.env},
        cwd=cluster.root,
        capture_output=True,
        text=True,
        timeout=120,
    )


def send_now(cluster: LocalCluster) -> str:
    """``govpub wechat broadcast --now``: today's mass send, now."""
    done = govpub_cli(cluster, "wechat", "broadcast", "--now", "--channel", wechat_name(cluster))
    assert done.returncode == 0, done.stderr
    return done.stdout
