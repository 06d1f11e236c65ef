"""The WeChat channel through real Celery workers and beat (PostgreSQL, Redis db 10):
two worker processes share one token; a worker killed right after ``sendall`` and its
task redelivered still makes one mass send. Channel names (and so queue names) are
unique per test, because other checkouts may run these tests on the same Redis."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from channels.sandboxes.wechat import SandboxServer
from pipeline import db
from pipeline.app import create_app
from pipeline.localcluster import LocalCluster, stop_process
from tests.channels.wechat.conftest import control, record
from tests.helpers import make_item, wait_until

FAST = {
    "retry_base_seconds": 0.1,
    "retry_max_seconds": 0.5,
    "sweep_interval_seconds": 0.2,
    "requeue_after_seconds": 3.0,
    "lease_seconds": 4.0,
}


@pytest.fixture
def names() -> tuple[str, str]:
    tag = secrets.token_hex(4)
    return f"website_{tag}", f"wechat_{tag}"


@pytest.fixture
def cluster_for(
    tmp_path: Path, pg_url: str, wechat_redis: str, sandbox: SandboxServer, names: tuple[str, str]
) -> Iterator[Any]:
    made: list[LocalCluster] = []

    def build(**options: Any) -> LocalCluster:
        site, wechat_name = names
        wechat = {
            "appid": sandbox.account.config.appid,
            "api_base_url": sandbox.api_base_url,
            "poll_seconds": 0.3,
            **options,
        }
        channels = {
            site: {"kind": "memory", "options": {"path": str(tmp_path / "site")}},
            wechat_name: {"kind": "wechat", "depends_on": [site], "options": wechat},
        }
        cluster = LocalCluster.create(tmp_path, pg_url, wechat_redis, channels, **FAST)
        made.append(cluster)
        return cluster

    yield build
    for cluster in made:
        cluster.stop()


def submit(cluster: LocalCluster, count: int) -> None:
    token = cluster.services.store.add_source("test")
    with TestClient(create_app(cluster.settings, cluster.services)) as client:
        answer = client.post(
            "/v1/items:batch",
            json={"items": [make_item(n) for n in range(1, count + 1)]},
            headers={"authorization": f"Bearer {token}"},
        )
        assert answer.status_code == 200, answer.text


def wechat_rows(cluster: LocalCluster) -> list[Any]:
    name = next(n for n, cfg in cluster.settings.channels.items() if cfg.kind == "wechat")
    with cluster.services.engine.connect() as conn:
        return list(
            conn.execute(
                select(db.deliveries).where(db.deliveries.c.channel == name).order_by(db.deliveries.c.id)
            ).all()
        )


def all_delivered(cluster: LocalCluster, count: int) -> list[Any] | None:
    rows = wechat_rows(cluster)
    return rows if len(rows) == count and all(r.state == "delivered" for r in rows) else None


def test_two_worker_processes_publish_with_one_shared_token(
    cluster_for: Any, sandbox: SandboxServer, names: tuple[str, str]
) -> None:
    cluster = cluster_for()
    control(sandbox, "faults", path="draft/add", delay=1.0, times=4)  # keep both processes busy
    cluster.worker(",".join(f"govpub.{n}" for n in names), concurrency=2)
    cluster.beat()
    submit(cluster, 4)

    rows = wait_until(lambda: all_delivered(cluster, 4), 180, f"publication\n{cluster.logs()}")
    seen = record(sandbox)
    assert len(seen["published"]) == 4
    assert {r.external_ref["article_id"] for r in rows} == {p["article_id"] for p in seen["published"]}
    assert len(seen["token_fetches"]) == 1, seen["token_fetches"]
    assert len({c["token"] for c in seen["calls"]}) == 1
    workers = {
        e["worker"] for r in rows for e in cluster.services.store.events(r.id) if e["outcome"] != "skipped"
    }
    assert len(workers) >= 2, workers


def test_a_worker_killed_right_after_sendall_still_makes_one_send(
    cluster_for: Any, sandbox: SandboxServer, names: tuple[str, str]
) -> None:
    site, wechat = names
    cluster = cluster_for(mode="broadcast", broadcast_time="00:00")
    control(sandbox, "faults", path="message/mass/sendall", delay=60, after=True)  # sent, answer held
    cluster.beat()
    website = cluster.worker(f"govpub.{site}", concurrency=1)
    submit(cluster, 3)
    wait_until(
        lambda: cluster.services.store.counts().get(site) == {"delivered": 3},
        60,
        f"website\n{cluster.logs()}",
    )
    stop_process(website)  # the day's items are all due when the WeChat worker starts
    doomed = cluster.worker(f"govpub.{wechat}", concurrency=1)

    wait_until(lambda: record(sandbox)["mass_sends"], 120, f"the mass send\n{cluster.logs()}")
    stop_process(doomed)  # SIGKILL while the worker waits for sendall's answer
    cluster.worker(f"govpub.{wechat}", concurrency=1)

    rows = wait_until(lambda: all_delivered(cluster, 3), 180, f"recovery\n{cluster.logs()}")
    seen = record(sandbox)
    assert len(seen["mass_sends"]) == 1
    [send] = seen["mass_sends"]
    assert len(send["titles"]) == 3
    assert [c["clientmsgid"] for c in seen["sendall_calls"]] == [send["clientmsgid"]] * 2
    assert {r.external_ref["msg_id"] for r in rows} == {send["msg_id"]}
    outcomes = [e["outcome"] for r in rows for e in cluster.services.store.events(r.id)]
    assert "lost" in outcomes  # the killed worker's attempt was closed, then taken over
