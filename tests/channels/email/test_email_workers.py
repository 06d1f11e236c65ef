"""The e-mail channel through the running system: items submitted to the intake, real
Celery worker processes and beat (PostgreSQL, Redis db 14), the mail sandbox. The relay
defers the first recipients (4xx: retried, no one gets a message twice), the newsroom
and a subscriber each get one message per item, the report counts the deliveries under
其他渠道, and a retraction through the API sends the 撤回 notice answering the original
message. The channel's name (so its queue) is unique per test: others share the Redis."""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient

from channels.email.sandbox import PASSWORD, MailSandbox, start
from channels.email.subscribers import Subscribers
from pipeline.app import create_app
from pipeline.localcluster import LocalCluster
from tests.channels.email.support import DESK, messages, options
from tests.conftest import REDIS, unavailable
from tests.helpers import make_item, wait_until

FAST = {
    "retry_base_seconds": 0.2,
    "retry_max_seconds": 0.5,
    "sweep_interval_seconds": 0.2,
    "requeue_after_seconds": 3.0,
    "lease_seconds": 4.0,
}
READER = "reader@example.cn"


@pytest.fixture
def redis_url() -> str:
    import redis

    url = f"{REDIS}/14"
    try:
        redis.Redis.from_url(url).ping()
    except Exception as exc:
        unavailable("Redis", exc)
    return url


@pytest.fixture
def relay(tmp_path: Path) -> MailSandbox:
    server = start(tmp_path / "relay")
    yield server  # type: ignore[misc]
    server.stop()


def test_items_reach_newsroom_and_subscriber_through_workers(
    tmp_path: Path, pg_url: str, redis_url: str, relay: MailSandbox
) -> None:
    name = f"mail_{secrets.token_hex(4)}"
    (tmp_path / "password").write_text(PASSWORD)
    (tmp_path / "key").write_text("worker-test-signing-key")
    opts = options(
        relay,
        password_env=None,
        password_file=str(tmp_path / "password"),
        signing_key_file=str(tmp_path / "key"),
    )
    cluster = LocalCluster.create(
        tmp_path / "cluster", pg_url, redis_url, {name: {"kind": "email", "options": opts}}, **FAST
    )
    try:
        subscribers = Subscribers(cluster.services.engine, name)
        sub = subscribers.subscribe(READER, "all", "item", cluster.services.clock())
        subscribers.confirm(sub.id, cluster.services.clock())
        relay.control(defer=2)  # the first two recipients: 451, try again later
        cluster.worker(f"govpub.{name}", concurrency=2)
        cluster.beat()
        token = cluster.services.store.add_source("test")
        auth = {"authorization": f"Bearer {token}"}
        with TestClient(create_app(cluster.settings, cluster.services)) as api:
            answer = api.post("/v1/items:batch", json={"items": [make_item(n) for n in (1, 2)]}, headers=auth)
            assert answer.status_code == 200, answer.text
            wait_until(
                lambda: cluster.services.store.counts().get(name) == {"delivered": 2},
                120,
                f"both items delivered\n{cluster.logs()}",
            )
            for address in (DESK, READER):
                got = messages(relay, address)
                assert sorted(m["subject"] for m in got) == ["测试公开信息 1", "测试公开信息 2"], got
                assert len({m["message_id"] for m in got}) == 2
            assert relay.box.plan.defer == 0  # the deferrals were used up, and retried

            year = datetime.now(ZoneInfo(cluster.settings.timezone)).year
            report = api.get(f"/v1/reports/{year}")
            assert report.status_code == 200, report.text
            assert report.json()["counts"]["totals"]["other"] == 2  # 邮件订阅 under 其他渠道

            gone = api.request("DELETE", "/v1/items/test/t-1", json={"reason": "内容有误"}, headers=auth)
            assert gone.status_code == 202, gone.text
            notices = wait_until(
                lambda: [m for m in messages(relay, DESK) if m["subject"].startswith("【撤回】")],
                120,
                f"the 撤回 notice\n{cluster.logs()}",
            )
            original = next(m for m in messages(relay, DESK) if m["subject"] == "测试公开信息 1")
            assert notices[0]["headers"]["In-Reply-To"] == original["message_id"]
            wait_until(lambda: len(messages(relay, READER)) == 3, 60, "the subscriber's 撤回 notice")
    finally:
        cluster.stop()


def test_the_daily_digest_goes_at_its_time_through_beat_and_workers(
    tmp_path: Path, pg_url: str, redis_url: str, relay: MailSandbox
) -> None:
    """The scheduled send: deliveries wait (NotDue) until ``digest_time``; the beat
    wakes them then and one digest per subscriber holds both items."""
    name = f"mail_{secrets.token_hex(4)}"
    (tmp_path / "password").write_text(PASSWORD)
    (tmp_path / "key").write_text("worker-test-signing-key")
    local = datetime.now(ZoneInfo("Asia/Shanghai"))
    at = (local + timedelta(minutes=1 if local.second < 40 else 2)).strftime("%H:%M")
    opts = options(
        relay,
        password_env=None,
        password_file=str(tmp_path / "password"),
        signing_key_file=str(tmp_path / "key"),
        digest_time=at,
    )
    channels = {name: {"kind": "email", "options": opts}}
    cluster = LocalCluster.create(tmp_path / "cluster", pg_url, redis_url, channels, **FAST)
    try:
        subscribers = Subscribers(cluster.services.engine, name)
        sub = subscribers.subscribe("daily@example.cn", "all", "digest", cluster.services.clock())
        subscribers.confirm(sub.id, cluster.services.clock())
        cluster.worker(f"govpub.{name}", concurrency=1)
        cluster.beat()
        token = cluster.services.store.add_source("test")
        with TestClient(create_app(cluster.settings, cluster.services)) as api:
            answer = api.post(
                "/v1/items:batch",
                json={"items": [make_item(n) for n in (1, 2)]},
                headers={"authorization": f"Bearer {token}"},
            )
            assert answer.status_code == 200, answer.text
        wait_until(lambda: len(messages(relay, DESK)) == 2, 60, f"the newsroom's messages\n{cluster.logs()}")
        waiting = wait_until(
            lambda: cluster.services.store.counts().get(name) == {"waiting": 2},
            60,
            f"waiting\n{cluster.logs()}",
        )
        assert waiting and messages(relay, "daily@example.cn") == []  # not before its time
        wait_until(
            lambda: cluster.services.store.counts().get(name) == {"delivered": 2},
            200,
            f"the digest at {at}\n{cluster.logs()}",
        )
        [digest] = messages(relay, "daily@example.cn")
        assert (
            "（2 条）" in digest["subject"]
            and "测试公开信息 1" in digest["text"]
            and "测试公开信息 2" in digest["text"]
        )
    finally:
        cluster.stop()
