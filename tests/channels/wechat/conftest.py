"""Fixtures of the WeChat channel tests: a sandbox on loopback, settings pointing at it,
Redis db 10, and a runner-level driver with a movable clock.

Other checkouts may run these very tests at the same time on the same Redis, so nothing
here flushes a database: each sandbox has an appid of its own (the token's key), and the
Celery tests name their channels (so their queues) uniquely."""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from channels.wechat.sandbox import SandboxServer, start
from channels.wechat.sandbox_account import Config
from pipeline.config import ChannelConfig, Settings
from pipeline.localcluster import LocalCluster
from pipeline.model import ItemIn
from pipeline.runner import run_delivery
from pipeline.schema import upgrade
from pipeline.services import Services, build_services
from tests.channels.wechat.cluster import FAST
from tests.conftest import REDIS, fresh_pg_database, unavailable
from tests.helpers import TEST_AGENCY, TEST_AGENCY_NAME, make_item, register_agencies

SECRET = "sandbox-secret"
CALLBACK_TOKEN = "cbtoken"
CALLBACK_TOKEN_ENV = "GOVPUB_WECHAT_CALLBACK_TOKEN"
REDIS_DB = 10


@pytest.fixture
def sandbox() -> Iterator[SandboxServer]:
    server = start(config=Config(appid="wxtest" + secrets.token_hex(6)))
    httpx.post(server.base_url + "/sandbox/config", json={"publish_delay": 0.05})
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture
def wechat_redis() -> str:
    import redis

    url = f"{REDIS}/{REDIS_DB}"
    try:
        redis.Redis.from_url(url).ping()
    except Exception as exc:
        unavailable("Redis", exc)
    return url


@pytest.fixture(autouse=True)
def wechat_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GOVPUB_WECHAT_SECRET", SECRET)
    monkeypatch.setenv(CALLBACK_TOKEN_ENV, CALLBACK_TOKEN)


def wechat_channels(sandbox: SandboxServer, redis_url: str, **options: Any) -> dict[str, ChannelConfig]:
    opts = {
        "appid": sandbox.account.config.appid,
        "api_base_url": sandbox.api_base_url,
        "redis_url": redis_url,
        "poll_seconds": 0.2,
        "token_env": CALLBACK_TOKEN_ENV,
        **options,
    }
    return {
        "website": ChannelConfig(kind="memory"),
        "wechat": ChannelConfig(kind="wechat", depends_on=["website"], options=opts),
    }


class Driver:
    """Runs deliveries in-process the way workers and the sweeper would, with a clock
    the test moves (broadcast windows, quota periods)."""

    def __init__(self, services: Services, now: datetime) -> None:
        self.services = services
        self.now = now
        services.clock = lambda: self.now

    def submit(self, n: int | str, **changes: Any) -> list[tuple[int, str]]:
        item = ItemIn.model_validate({**make_item(n, **changes), "source": "test"})
        accepted = self.services.store.accept(
            item, self.services.channels_for(item.agency.code, item.channels), now=self.now
        )
        return accepted.work

    def run_due(self, rounds: int = 10) -> None:
        """Run what is due, again while anything ran (dependencies, short polls)."""
        for _ in range(rounds):
            due = self.services.deliveries.due(self.now, requeue_after=0)
            if not due:
                return
            for delivery_id, channel in due:
                run_delivery(self.services, delivery_id, channel)

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)

    def deliveries(self, channel: str = "wechat") -> list[dict[str, Any]]:
        from sqlalchemy import select

        from pipeline import db

        with self.services.engine.connect() as conn:
            rows = conn.execute(
                select(db.deliveries).where(db.deliveries.c.channel == channel).order_by(db.deliveries.c.id)
            ).all()
        return [dict(r._mapping) for r in rows]


@pytest.fixture
def build_driver(settings_for: Callable[..., Settings], tmp_path: Path) -> Iterator[Callable[..., Driver]]:
    made: list[Services] = []

    def build(channels: dict[str, ChannelConfig], now: datetime | None = None, **overrides: Any) -> Driver:
        settings = settings_for(channels=channels, **overrides)
        services = build_services(settings)
        upgrade(services.engine)
        register_agencies(services.engine, {TEST_AGENCY: TEST_AGENCY_NAME})
        made.append(services)
        return Driver(services, now or datetime.now(UTC))

    yield build
    for services in made:
        services.engine.dispose()


@pytest.fixture
def names() -> tuple[str, str]:
    """(website, wechat) channel names unique to this test: their queues are its own."""
    tag = secrets.token_hex(4)
    return f"website_{tag}", f"wechat_{tag}"


@pytest.fixture
def cluster_for(
    tmp_path: Path, pg_url: str, wechat_redis: str, sandbox: SandboxServer, names: tuple[str, str]
) -> Iterator[Callable[..., LocalCluster]]:
    """``build(**wechat options)``: a LocalCluster (PostgreSQL, Redis) with a memory website
    and a WeChat channel on the sandbox; start its workers and beat with its methods.
    ``database_url=`` / ``broker_url=`` make another installation beside the first;
    ``website=`` adds options of the memory website (a ``control`` file: a slow site)."""
    made: list[LocalCluster] = []

    def build(
        database_url: str | None = None,
        broker_url: str | None = None,
        website: dict[str, Any] | None = None,
        **options: Any,
    ) -> LocalCluster:
        site, wechat_name = names
        root = tmp_path / f"cluster{len(made)}"
        wechat = {
            "appid": sandbox.account.config.appid,
            "api_base_url": sandbox.api_base_url,
            "poll_seconds": 0.3,
            "token_env": CALLBACK_TOKEN_ENV,
            **options,
        }
        channels = {
            site: {"kind": "memory", "options": {"path": str(root / "site"), **(website or {})}},
            wechat_name: {"kind": "wechat", "depends_on": [site], "options": wechat},
        }
        cluster = LocalCluster.create(
            root, database_url or pg_url, broker_url or wechat_redis, channels, **FAST
        )
        made.append(cluster)
        return cluster

    yield build
    for cluster in made:
        cluster.stop()


@pytest.fixture
def other_pg_url() -> Iterator[str]:
    """A second fresh PostgreSQL database: another installation's."""
    yield from fresh_pg_database()


def record(sandbox: SandboxServer) -> dict[str, Any]:
    answer: dict[str, Any] = httpx.get(sandbox.base_url + "/sandbox/record").json()
    return answer


def control(sandbox: SandboxServer, what: str, **body: Any) -> None:
    httpx.post(f"{sandbox.base_url}/sandbox/{what}", json=body).raise_for_status()


os.environ.setdefault("GOVPUB_WECHAT_SECRET", SECRET)


TRUTH_ROWS: list[tuple[str, str, str]] = []


@pytest.fixture
def truth(sandbox: SandboxServer, request: pytest.FixtureRequest) -> Callable[..., None]:
    """``truth(rows, label="")``: assert that the sandbox and the delivery log name the
    same reachable articles, and keep the row for the table (see ``truth.py``)."""
    from tests.channels.wechat import truth as t

    def check(rows: list[Any], label: str = "") -> None:
        assert t.sandbox_facts(sandbox) == t.log_facts(rows), (
            t.describe_sandbox(sandbox),
            t.describe_log(rows),
        )
        name = request.node.name + (f": {label}" if label else "")
        TRUTH_ROWS.append((name, t.describe_sandbox(sandbox), t.describe_log(rows)))

    return check


def pytest_sessionfinish(session: pytest.Session) -> None:
    target = os.environ.get("GOVPUB_WECHAT_TRUTH")
    if not target or not TRUTH_ROWS:
        return
    lines = ["| scenario | the sandbox recorded | the delivery log says | agree |", "|---|---|---|---|"]
    lines += [f"| {name} | {sandbox} | {log} | yes |" for name, sandbox, log in TRUTH_ROWS]
    Path(target).write_text("\n".join(lines) + "\n", encoding="utf-8")
