"""The Weibo channel through real processes: ``govpub worker`` and ``beat`` (Celery on
Redis, PostgreSQL) against the sandbox, items submitted to the intake. Channel names
(so queues) are unique per test: other checkouts may share the Redis."""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from channels.weibo.sandbox import SandboxServer
from pipeline import db
from pipeline.app import create_app
from pipeline.localcluster import LocalCluster
from tests.channels.weibo.support import control, options, record
from tests.conftest import REDIS, unavailable
from tests.helpers import make_item, wait_until

FAST = {
    "retry_base_seconds": 0.1,
    "retry_max_seconds": 0.5,
    "sweep_interval_seconds": 0.2,
    "requeue_after_seconds": 3.0,
    "lease_seconds": 4.0,
}


@pytest.fixture
def broker() -> str:
    import redis

    url = f"{REDIS}/11"
    try:
        redis.Redis.from_url(url).ping()
    except Exception as exc:
        unavailable("Redis", exc)
    return url


@pytest.fixture
def cluster_for(
    tmp_path: Path, pg_url: str, broker: str, sandbox: SandboxServer
) -> Iterator[Callable[..., tuple[LocalCluster, str]]]:
    made: list[LocalCluster] = []

    def build(**more: Any) -> tuple[LocalCluster, str]:
        name = f"weibo_{secrets.token_hex(4)}"
        channels = {name: {"kind": "weibo", "options": options(sandbox, **more)}}
        cluster = LocalCluster.create(tmp_path / f"cluster{len(made)}", pg_url, broker, channels, **FAST)
        made.append(cluster)
        return cluster, name

    yield build
    for cluster in made:
        cluster.stop()


def submit(cluster: LocalCluster, numbers: range) -> None:
    token = cluster.services.store.add_source("test")
    with TestClient(create_app(cluster.settings, cluster.services)) as client:
        answer = client.post(
            "/v1/items:batch",
            json={"items": [make_item(n) for n in numbers]},
            headers={"authorization": f"Bearer {token}"},
        )
        assert answer.status_code == 200, answer.text


def rows(cluster: LocalCluster, name: str) -> list[Any]:
    with cluster.services.engine.connect() as conn:
        return list(
            conn.execute(
                select(db.deliveries).where(db.deliveries.c.channel == name).order_by(db.deliveries.c.id)
            ).all()
        )


def settled(cluster: LocalCluster, name: str, count: int) -> list[Any] | None:
    found = rows(cluster, name)
    return found if len(found) == count and all(r.state == "delivered" for r in found) else None


def test_workers_post_each_item_once_through_a_lost_answer_and_the_frequency_limit(
    cluster_for: Callable[..., tuple[LocalCluster, str]], sandbox: SandboxServer
) -> None:
    cluster, name = cluster_for()
    control(
        sandbox,
        faults=[
            {"path": "statuses/share.json", "lose_answer": True, "times": 1},  # posted, answer lost
            {"path": "statuses/share.json", "error_code": 10023, "times": 2},  # then the user's limit
        ],
    )
    cluster.worker(f"govpub.{name}", concurrency=1)
    cluster.beat()
    submit(cluster, range(1, 4))

    done = wait_until(lambda: settled(cluster, name, 3), 120, f"the posts\n{cluster.logs()}")
    live = {p["id"]: p for p in record(sandbox)["live"]}
    assert len(live) == 3  # one post per item, the lost answer's post adopted
    assert {r.external_ref["post_id"] for r in done} == set(live)
    assert sum(1 for r in done if r.external_ref.get("adopted")) == 1
    events = [e for r in done for e in cluster.services.store.events(r.id)]
    assert any("10023" in str(e.get("message") or "") for e in events), events

    first = done[0]
    cluster.services.store.retract("test", "t-1", "内容有误")
    wait_until(lambda: settled(cluster, name, 4), 60, f"the retraction\n{cluster.logs()}")
    assert sandbox.weibo.posts[first.external_ref["post_id"]]["deleted"]
    assert len(record(sandbox)["live"]) == 2


def test_two_workers_renew_an_expired_token_once(
    cluster_for: Callable[..., tuple[LocalCluster, str]],
    sandbox: SandboxServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    granted = control(sandbox, authorize=sandbox.weibo.config.uid)
    monkeypatch.setenv("GOVPUB_WEIBO_ACCESS_TOKEN", granted["access_token"])
    monkeypatch.setenv("GOVPUB_WEIBO_REFRESH_TOKEN", granted["refresh_token"])
    cluster, name = cluster_for(refresh_token_env="GOVPUB_WEIBO_REFRESH_TOKEN", renew_before_seconds=0)
    cluster.worker(f"govpub.{name}", concurrency=1)
    cluster.worker(f"govpub.{name}", concurrency=1)
    cluster.beat()
    submit(cluster, range(1, 3))
    wait_until(lambda: settled(cluster, name, 2), 120, f"the first posts\n{cluster.logs()}")

    control(sandbox, expire=True)  # every token runs out
    submit(cluster, range(3, 9))
    done = wait_until(lambda: settled(cluster, name, 8), 120, f"posts after expiry\n{cluster.logs()}")
    assert [g["grant_type"] for g in record(sandbox)["grants"]] == ["refresh_token"]
    assert len(record(sandbox)["live"]) == 8 == len({r.external_ref["post_id"] for r in done})


def test_an_expired_token_that_cannot_be_renewed_stops_the_delivery_with_what_to_do(
    cluster_for: Callable[..., tuple[LocalCluster, str]], sandbox: SandboxServer
) -> None:
    cluster, name = cluster_for()
    control(sandbox, expire=True)
    cluster.worker(f"govpub.{name}", concurrency=1)
    cluster.beat()
    submit(cluster, range(1, 2))
    [dead] = wait_until(
        lambda: [r for r in rows(cluster, name) if r.state == "dead"] or None, 60, f"dead\n{cluster.logs()}"
    )
    assert "Re-authorise" in dead.last_error and "GOVPUB_WEIBO_ACCESS_TOKEN" in dead.last_error
    assert record(sandbox)["live"] == []
