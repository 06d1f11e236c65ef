"""Machine interfaces: /metrics (parsed with prometheus_client, moving with deliveries
made by any process), /readyz, /v1/overview's queue depth from Redis, JSON logs."""

from __future__ import annotations

import json
import secrets
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from pipeline.app import create_app
from pipeline.config import ChannelConfig
from pipeline.schema import upgrade
from pipeline.services import Services, build_services
from tests.conftest import REDIS, unavailable
from tests.helpers import (
    TEST_AGENCY,
    TEST_AGENCY_NAME,
    free_port,
    govpub,
    kill,
    make_item,
    register_agencies,
    wait_until,
)
from tests.pipeline.console_support import form_value
from tests.pipeline.test_console_pages import Parked


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of an exposition, keyed by name and sorted labels."""
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def value(found: dict[Any, float], name: str, **labels: str) -> float:
    return found.get((name, tuple(sorted(labels.items()))), 0.0)


@pytest.fixture
def parked_client(services: Services) -> Iterator[TestClient]:
    with TestClient(create_app(services.settings, services, dispatcher=Parked())) as client:
        yield client


WORKER = """
import sys
from pipeline.config import ChannelConfig, Settings
from pipeline.runner import run_delivery
from pipeline.services import build_services
channels = {"memory": ChannelConfig(kind="memory")}
services = build_services(Settings(database_url=sys.argv[1], data_dir=sys.argv[2], channels=channels))
print(run_delivery(services, int(sys.argv[3]), "memory"))
"""


def test_metrics_move_with_deliveries_made_by_another_process(
    services: Services, parked_client: TestClient, auth: dict[str, str]
) -> None:
    before = samples(parked_client.get("/metrics").text)
    answer = parked_client.post("/v1/items", json=make_item(1), headers=auth)
    assert answer.status_code == 202
    waiting = samples(parked_client.get("/metrics").text)
    assert value(waiting, "govpub_deliveries", channel="memory", state="queued") == 1
    assert value(waiting, "govpub_oldest_pending_age_seconds", channel="memory") >= 0
    settings = services.settings
    worker = subprocess.run(
        [sys.executable, "-c", WORKER, settings.database_url, str(settings.data_dir), "1"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert worker.stdout.strip().endswith("delivered"), worker.stderr
    after = samples(parked_client.get("/metrics").text)
    events = "govpub_delivery_events_total"
    assert value(after, events, channel="memory", outcome="delivered") == (
        value(before, events, channel="memory", outcome="delivered") + 1
    )
    assert value(after, "govpub_deliveries", channel="memory", state="delivered") == 1
    assert value(after, "govpub_deliveries", channel="memory", state="queued") == 0
    assert value(after, "govpub_delivery_latency_seconds_count", channel="memory") == 1
    assert value(after, "govpub_delivery_latency_seconds_bucket", channel="memory", le="+Inf") == 1
    assert value(after, "govpub_delivery_latency_seconds_sum", channel="memory") > 0


@pytest.fixture
def broker_services(settings_for: Any) -> Iterator[tuple[Services, str]]:
    """A Redis broker (a db of our own) and a channel name no one else uses."""
    import redis

    url, channel = f"{REDIS}/13", f"m{secrets.token_hex(4)}"
    try:
        redis.Redis.from_url(url).ping()
    except Exception as exc:
        unavailable("Redis", exc)
    services = build_services(settings_for(broker_url=url, channels={channel: ChannelConfig(kind="memory")}))
    upgrade(services.engine)
    register_agencies(services.engine, {TEST_AGENCY: TEST_AGENCY_NAME})
    yield services, channel
    redis.Redis.from_url(url).delete(f"govpub.{channel}")
    services.engine.dispose()


def test_queue_depth_comes_from_redis(broker_services: tuple[Services, str]) -> None:
    services, channel = broker_services
    token = services.store.add_source("test")
    with TestClient(create_app(services.settings, services)) as client:
        for n in (1, 2):
            answer = client.post("/v1/items", json=make_item(n), headers={"authorization": f"Bearer {token}"})
            assert answer.status_code == 202
        overview = client.get("/v1/overview").json()
        assert overview["queue_source"] == "redis"
        assert overview["channels"][0]["queue_depth"] == 2
        assert value(samples(client.get("/metrics").text), "govpub_queue_depth", channel=channel) == 2
        ready = {"status": "ready", "database": "ok", "broker": "ok", "channels": "ok"}
        assert client.get("/readyz").json() == ready


def test_readyz_is_503_when_the_broker_does_not_answer(settings_for: Any) -> None:
    services = build_services(settings_for(broker_url=f"redis://127.0.0.1:{free_port()}/0"))
    upgrade(services.engine)
    register_agencies(services.engine, {TEST_AGENCY: TEST_AGENCY_NAME})
    with TestClient(create_app(services.settings, services, dispatcher=Parked())) as client:
        answer = client.get("/readyz")
        assert answer.status_code == 503
        assert answer.json()["database"] == "ok" and "Error" in answer.json()["broker"]
        assert client.get("/healthz").status_code == 200
        overview = client.get("/v1/overview").json()
        assert overview["channels"][0]["queue_depth"] is None  # shown as 不可用, not an error page


def test_govpub_serve_logs_json_and_serves_the_machine_interfaces(tmp_path: Path) -> None:
    port = free_port()
    env = {
        "GOVPUB_LOG_FORMAT": "json",
        "GOVPUB_DATABASE_URL": f"sqlite:///{tmp_path / 'govpub.db'}",
        "GOVPUB_DATA_DIR": str(tmp_path / "data"),
    }
    server = govpub("serve", "--port", str(port), env=env, cwd=tmp_path, stderr=subprocess.PIPE)
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}") as http:
            wait_until(lambda: http.get("/healthz").status_code == 200, what="govpub serve")
            assert http.get("/readyz").json()["status"] == "ready"
            names = {f.name for f in text_string_to_metric_families(http.get("/metrics").text)}
            assert {"govpub_deliveries", "govpub_delivery_latency_seconds", "govpub_queue_depth"} <= names
            page = http.get("/console/login")
            fields = {
                "username": "nobody",
                "password": "not-a-password",
                "csrf": form_value(page.text, "csrf"),
            }
            assert http.post("/console/login", data=fields).status_code == 401
    finally:
        kill(server)
    assert server.stderr is not None
    lines = [json.loads(line) for line in server.stderr.read().decode().splitlines() if line.startswith("{")]
    refused = [entry for entry in lines if entry.get("event") == "console login refused"]
    assert refused and refused[0]["username"] == "nobody" and refused[0]["level"] == "warning"


def test_the_log_tally_counts_each_entry_once_even_when_committed_late(services: Services) -> None:
    from datetime import timedelta

    from sqlalchemy import insert

    from pipeline import db
    from pipeline.metrics import SETTLE_SECONDS, EventTally
    from pipeline.model import ItemIn

    item = ItemIn.model_validate({**make_item(1), "source": "oa"})
    accepted = services.store.accept(item, {"memory": True})
    now = services.clock()
    delivery = accepted.work[0][0]

    def log(event_id: int, age: float, outcome: str = "delivered") -> None:
        with services.engine.begin() as conn:
            values = {"delivery_id": delivery, "attempt": 1, "worker": "w", "outcome": outcome}
            conn.execute(
                insert(db.delivery_events).values(id=event_id, at=now - timedelta(seconds=age), **values)
            )

    def counted(tally: EventTally) -> dict[tuple[str, str], int]:
        with services.engine.connect() as conn:
            tally.update(conn, now)
        return dict(tally.outcomes)

    log(1, SETTLE_SECONDS * 2, "retry")
    log(5, 1)
    tally = EventTally()
    assert counted(tally) == {("memory", "retry"): 1, ("memory", "delivered"): 1}
    assert counted(tally) == {("memory", "retry"): 1, ("memory", "delivered"): 1}
    log(3, 2)  # an entry with a lower id that became visible after id 5 was counted
    assert counted(tally) == {("memory", "retry"): 1, ("memory", "delivered"): 2}
    assert tally.latency["memory"].count == 2
    fresh = EventTally()  # a restarted process sums the settled part in SQL, the rest row by row
    assert counted(fresh) == counted(tally)
    assert fresh.latency["memory"].count == 2


def test_with_the_database_down_readyz_and_the_console_answer_503(settings_for: Any) -> None:
    down = f"postgresql+psycopg://postgres@127.0.0.1:{free_port()}/govpub"
    services = build_services(settings_for(database_url=down))
    with TestClient(create_app(services.settings, services, dispatcher=Parked())) as client:
        ready = client.get("/readyz")
        assert ready.status_code == 503 and "OperationalError" in ready.json()["database"]
        page = client.get("/console/", headers={"cookie": "govpub_session=abc"}, follow_redirects=False)
        assert page.status_code == 503 and "数据库暂不可用" in page.text
