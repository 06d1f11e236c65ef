"""The distributed setup: real PostgreSQL, Redis, Celery workers and beat as subprocesses."""

from __future__ import annotations

import signal
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
from fastapi.testclient import TestClient

from pipeline.app import create_app
from pipeline.localcluster import LocalCluster as Cluster
from tests.helpers import kill, make_item, wait_until

FAST = {
    "retry_base_seconds": 0.1,
    "retry_max_seconds": 0.5,
    "sweep_interval_seconds": 0.2,
    "requeue_after_seconds": 3.0,
    "lease_seconds": 10.0,
}


def memory(path: Path, **options: Any) -> dict[str, dict[str, Any]]:
    return {"memory": {"kind": "memory", "options": {"path": str(path), **options}}}


@pytest.fixture
def cluster_for(tmp_path: Path, pg_url: str, redis_url: str) -> Iterator[Any]:
    made: list[Cluster] = []

    def build(**options: Any) -> Cluster:
        extra = {**FAST, **options.pop("settings", {})}
        cluster = Cluster.create(tmp_path, pg_url, redis_url, memory(tmp_path / "mem", **options), **extra)
        made.append(cluster)
        return cluster

    yield build
    for cluster in made:
        cluster.stop()


def received(tmp_path: Path) -> list[str]:
    log = tmp_path / "mem" / "received.log"
    return log.read_text().splitlines() if log.exists() else []


def states(cluster: Cluster) -> dict[str, int]:
    return cluster.services.store.counts().get("memory", {})


def submit(client: TestClient, token: str, items: list[dict[str, Any]]) -> None:
    answer = client.post(
        "/v1/items:batch", json={"items": items}, headers={"authorization": f"Bearer {token}"}
    )
    assert answer.status_code == 200, answer.text
    assert {a["status"] for a in answer.json()} == {202}


def test_items_are_delivered_by_a_celery_worker(cluster_for: Any, tmp_path: Path) -> None:
    cluster = cluster_for()
    cluster.worker("govpub.memory")
    token = cluster.services.store.add_source("test")
    with TestClient(create_app(cluster.settings, cluster.services)) as client:
        submit(client, token, [make_item(n) for n in range(5)])
        wait_until(lambda: states(cluster) == {"delivered": 5}, 60, f"delivery\n{cluster.logs()}")
    assert sorted(received(tmp_path)) == sorted(f"test~t-{n}~r1~publish.json" for n in range(5))


def test_a_worker_killed_while_sending_is_recovered_exactly_once(cluster_for: Any, tmp_path: Path) -> None:
    cluster = cluster_for(delay_seconds=2.0, settings={"lease_seconds": 4.0})
    doomed = cluster.worker("govpub.memory", concurrency=1)
    cluster.beat()
    token = cluster.services.store.add_source("test")
    with TestClient(create_app(cluster.settings, cluster.services)) as client:
        submit(client, token, [make_item(1)])
        wait_until(lambda: states(cluster).get("sending") == 1, 30, "a delivery in sending")
        kill(doomed, signal.SIGKILL)
        assert received(tmp_path) == []
        cluster.worker("govpub.memory", concurrency=1)
        wait_until(lambda: states(cluster) == {"delivered": 1}, 60, f"recovery\n{cluster.logs()}")
    assert received(tmp_path) == ["test~t-1~r1~publish.json"]
    (delivery,) = cluster.services.store.item_status("test", "t-1")["deliveries"]
    outcomes = [e["outcome"] for e in cluster.services.store.events(delivery["id"])]
    assert outcomes == ["lost", "delivered"]


def test_redis_flushed_after_intake_loses_nothing(cluster_for: Any, tmp_path: Path, redis_url: str) -> None:
    cluster = cluster_for()
    token = cluster.services.store.add_source("test")
    with TestClient(create_app(cluster.settings, cluster.services)) as client:
        submit(client, token, [make_item(n) for n in range(20)])
    redis.Redis.from_url(redis_url).flushdb()  # every queued task is gone
    cluster.worker("govpub.memory")
    cluster.beat()
    wait_until(lambda: states(cluster) == {"delivered": 20}, 60, f"sweeper\n{cluster.logs()}")
    assert len(received(tmp_path)) == 20
