"""The distributed setup: real PostgreSQL, Redis, Celery workers and beat as subprocesses."""

from __future__ import annotations

import json
import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
from fastapi.testclient import TestClient

from pipeline.app import create_app
from pipeline.config import Settings
from pipeline.localcluster import LocalCluster as Cluster
from pipeline.queue import time_limits
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


def submit_one(cluster: Cluster, until_sending: bool = True) -> None:
    """Item t-1 through the intake (the app here hands it to the broker), then, with
    ``until_sending``, until a worker has claimed it."""
    token = cluster.services.store.add_source("test")
    with TestClient(create_app(cluster.settings, cluster.services)) as client:
        submit(client, token, [make_item(1)])
    if until_sending:
        wait_until(lambda: states(cluster).get("sending") == 1, 30, "a delivery in sending")


def test_items_are_delivered_by_a_celery_worker(cluster_for: Any, tmp_path: Path) -> None:
    cluster = cluster_for()
    cluster.worker("govpub.memory")
    token = cluster.services.store.add_source("test")
    with TestClient(create_app(cluster.settings, cluster.services)) as client:
        submit(client, token, [make_item(n) for n in range(5)])
        wait_until(lambda: states(cluster) == {"delivered": 5}, 60, f"delivery\n{cluster.logs()}")
    assert sorted(received(tmp_path)) == sorted(f"test~t-{n}~r1~publish.json" for n in range(5))


def test_a_batch_wakes_its_channel_with_one_message_not_one_per_item(
    cluster_for: Any, tmp_path: Path, redis_url: str
) -> None:
    cluster = cluster_for()
    token = cluster.services.store.add_source("test")
    with TestClient(create_app(cluster.settings, cluster.services)) as client:
        submit(client, token, [make_item(n) for n in range(7)])
    assert redis.Redis.from_url(redis_url).llen("govpub.memory") == 1  # all 7 ids in one message
    cluster.worker("govpub.memory")
    wait_until(lambda: states(cluster) == {"delivered": 7}, 60, f"delivery\n{cluster.logs()}")
    assert len(received(tmp_path)) == 7


def test_a_worker_killed_while_sending_is_recovered_exactly_once(cluster_for: Any, tmp_path: Path) -> None:
    cluster = cluster_for(delay_seconds=2.0, settings={"lease_seconds": 4.0})
    doomed = cluster.worker("govpub.memory", concurrency=1)
    cluster.beat()
    submit_one(cluster)
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


def events_of(cluster: Cluster, item_id: str) -> list[dict[str, Any]]:
    (delivery,) = cluster.services.store.item_status("test", item_id)["deliveries"]
    return list(cluster.services.store.events(delivery["id"]))


def test_a_dead_workers_delivery_is_taken_over_within_one_default_lease(
    cluster_for: Any, tmp_path: Path
) -> None:
    """The default lease is short because the living worker renews it: a SIGKILLed
    worker's delivery goes to another worker about one lease later, and only once."""
    default_lease = Settings.model_fields["lease_seconds"].default
    cluster = cluster_for(delay_seconds=5.0, settings={"lease_seconds": default_lease})
    doomed = cluster.worker("govpub.memory", concurrency=1)
    cluster.beat()
    submit_one(cluster)
    kill(doomed, signal.SIGKILL)
    cluster.worker("govpub.memory", concurrency=1)
    # the promise is "about 30 s": a 30 s lease, a sweep and a worker's start on a busy machine
    wait_until(lambda: states(cluster) == {"delivered": 1}, 45, f"take-over\n{cluster.logs()}")
    assert received(tmp_path) == ["test~t-1~r1~publish.json"]
    lost, delivered = events_of(cluster, "t-1")
    assert (lost["outcome"], delivered["outcome"]) == ("lost", "delivered")
    assert lost["worker"] != delivered["worker"]


def test_a_delivery_longer_than_its_lease_is_not_taken_over_while_its_worker_lives(
    cluster_for: Any, tmp_path: Path
) -> None:
    cluster = cluster_for(delay_seconds=10.0, settings={"lease_seconds": 3.0})
    for _ in range(2):  # an idle worker stands by to take over, were the lease let go
        cluster.worker("govpub.memory", concurrency=1)
    cluster.beat()
    submit_one(cluster, until_sending=False)
    wait_until(lambda: states(cluster) == {"delivered": 1}, 60, f"delivery\n{cluster.logs()}")
    assert received(tmp_path) == ["test~t-1~r1~publish.json"]
    assert [e["outcome"] for e in events_of(cluster, "t-1")] == ["delivered"]
    (delivery,) = cluster.services.store.item_status("test", "t-1")["deliveries"]
    assert delivery["attempts"] == 1


@pytest.mark.parametrize(("lent", "lease"), [(3600, 30.0), (60, 30.0), (60, 1000.0), (86400, 1.0)])
def test_the_time_limits_end_a_task_before_the_broker_lends_its_message_again(
    lent: int, lease: float
) -> None:
    soft, hard = time_limits(Settings(visibility_timeout_seconds=lent, lease_seconds=lease))
    assert 0 < soft < hard < lent
    assert hard - soft == lent - hard >= min(lease, 1.0)  # a margin to record, a margin to spare


def test_a_hanging_channel_call_is_ended_by_the_soft_time_limit_and_retried(
    cluster_for: Any, tmp_path: Path
) -> None:
    """The heartbeat would keep a hung call's claim forever; the soft time limit (below the
    broker's lease on the message) ends it inside the worker, which records a transient
    failure and delivers on the retry, without being killed."""
    control = tmp_path / "control.json"
    control.write_text(json.dumps({"slow_until": time.time() + 20, "delay": 3600}))
    settings = {"visibility_timeout_seconds": 60, "lease_seconds": 15.0}
    cluster = cluster_for(control=str(control), settings=settings)
    soft, hard = time_limits(cluster.settings)
    assert (soft, hard) == (30.0, 45.0)
    worker = cluster.worker("govpub.memory", concurrency=1)
    cluster.beat()
    submit_one(cluster, until_sending=False)
    wait_until(lambda: states(cluster) == {"delivered": 1}, soft + 60, f"delivery\n{cluster.logs()}")
    ended, delivered = events_of(cluster, "t-1")
    assert (ended["outcome"], ended["error_class"]) == ("retry", "SoftTimeLimitExceeded")
    assert delivered["outcome"] == "delivered"
    assert worker.poll() is None  # the soft limit, not the hard one: the worker lives on


def test_a_frozen_worker_loses_its_claim_and_cannot_record_or_publish_again(
    cluster_for: Any, tmp_path: Path
) -> None:
    """SIGSTOP freezes the worker with its heartbeat: the lease runs out, another worker
    delivers; woken, the first one finds its claim gone (fenced by claim_no)."""
    cluster = cluster_for(delay_seconds=4.0, settings={"lease_seconds": 3.0})
    frozen = cluster.worker("govpub.memory", concurrency=1)
    cluster.beat()
    submit_one(cluster)
    os.killpg(frozen.pid, signal.SIGSTOP)
    cluster.worker("govpub.memory", concurrency=1)
    wait_until(lambda: states(cluster) == {"delivered": 1}, 60, f"take-over\n{cluster.logs()}")
    os.killpg(frozen.pid, signal.SIGCONT)
    wait_until(lambda: "lost-lease" in cluster.logs(tail=100_000), 30, "the frozen worker's verdict")
    assert received(tmp_path) == ["test~t-1~r1~publish.json"]
    assert [e["outcome"] for e in events_of(cluster, "t-1")] == ["lost", "delivered"]
