"""The notice channel through the running system: items submitted to the intake, real
Celery worker processes and beat (PostgreSQL, Redis db 13), the sandbox's boards and
print queue. The print server is offline at first (transient: retried until it is
back, then one job per notice), the report counts the notices under 其他渠道, a
retraction through the API replaces the posted notice with its 撤回 notice, and
``govpub notice bundle`` makes the reading room's weekly bundle. The channel's name
(so its queue) is unique per test: other checkouts share the Redis."""

from __future__ import annotations

import secrets
import subprocess
import sys
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from channels.notice import boards
from pipeline import db
from pipeline.app import create_app
from pipeline.localcluster import LocalCluster
from tests.channels.notice.support import pdf_text, sandbox, squeezed
from tests.conftest import REDIS, unavailable
from tests.helpers import make_item, wait_until

FAST = {
    "retry_base_seconds": 0.2,
    "retry_max_seconds": 0.5,
    "sweep_interval_seconds": 0.2,
    "requeue_after_seconds": 3.0,
    "lease_seconds": 4.0,
}


@pytest.fixture
def redis_url() -> str:
    import redis

    url = f"{REDIS}/13"
    try:
        redis.Redis.from_url(url).ping()
    except Exception as exc:
        unavailable("Redis", exc)
    return url


def test_items_reach_boards_printer_report_and_bundle_through_workers(
    tmp_path: Path, pg_url: str, redis_url: str
) -> None:
    name = f"notices_{secrets.token_hex(4)}"
    with sandbox(tmp_path) as box:
        queue = f"{box.server.url}/sandbox/printers/hall"
        assert httpx.post(queue, json={"state": "offline"}).status_code == 200
        channels = {name: {"kind": "notice", "options": box.options()}}
        cluster = LocalCluster.create(tmp_path / "cluster", pg_url, redis_url, channels, **FAST)
        try:
            cluster.worker(f"govpub.{name}", concurrency=2)
            cluster.beat()
            token = cluster.services.store.add_source("test")
            auth = {"authorization": f"Bearer {token}"}
            with TestClient(create_app(cluster.settings, cluster.services)) as api:
                items = [make_item(n) for n in (1, 2)]
                answer = api.post("/v1/items:batch", json={"items": items}, headers=auth)
                assert answer.status_code == 200, answer.text

                def failing() -> bool:
                    with cluster.services.engine.connect() as conn:
                        ids = conn.execute(select(db.deliveries.c.id).where(db.deliveries.c.channel == name))
                        rows = [cluster.services.store.events(i) for (i,) in ids]
                    return any("scheduler not responding" in (e["message"] or "") for r in rows for e in r)

                wait_until(failing, 60, f"an attempt failing on the offline server\n{cluster.logs()}")
                assert httpx.post(queue, json={"state": "idle"}).status_code == 200
                wait_until(
                    lambda: cluster.services.store.counts().get(name) == {"delivered": 2},
                    120,
                    f"both notices delivered\n{cluster.logs()}",
                )
                jobs = httpx.get(f"{box.server.url}/printers/hall/jobs").json()
                assert len(jobs) == 2, jobs  # the failed attempts printed nothing
                posted = {held.title for held in boards.records(box.root / "room")}
                assert posted == {"测试公开信息 1", "测试公开信息 2"}

                year = datetime.now(ZoneInfo(cluster.settings.timezone)).year
                report = api.get(f"/v1/reports/{year}")
                assert report.status_code == 200, report.text
                assert report.json()["counts"]["totals"]["other"] == 2  # 张贴公告 under 其他渠道

                gone = api.request("DELETE", "/v1/items/test/t-1", json={"reason": "内容有误"}, headers=auth)
                assert gone.status_code == 202, gone.text
                key = next(h.key for h in boards.records(box.root / "room") if h.title.endswith(" 1"))
                wait_until(
                    lambda: boards.record(box.root / "room", key).state == "withdrawn",  # type: ignore[union-attr]
                    120,
                    f"the 撤回 notice\n{cluster.logs()}",
                )
                assert "撤回公告" in pdf_text((box.root / "hall" / f"{key}.pdf").read_bytes())
                wait_until(lambda: len(httpx.get(f"{box.server.url}/printers/hall/jobs").json()) == 3, 30)

            week = datetime.now(ZoneInfo(cluster.settings.timezone)).strftime("%G-W%V")
            done = subprocess.run(
                [sys.executable, "-m", "pipeline.cli", "notice", "bundle", "--room", "room", "--week", week],
                env={**cluster_env(cluster)},
                cwd=cluster.root,
                capture_output=True,
                text=True,
                timeout=120,
                check=False,
            )
            assert done.returncode == 0, done.stderr
            bundle = box.root / "room" / "bundles" / f"{week}.pdf"
            assert str(bundle) in done.stdout and "(2 notices)" in done.stdout
            text = pdf_text(bundle.read_bytes())
            assert "撤回公告" in text and squeezed("测试公开信息 2") in text
            wrong = subprocess.run(
                [sys.executable, "-m", "pipeline.cli", "notice", "bundle", "--room", "hall", "--week", week],
                env=cluster_env(cluster),
                cwd=cluster.root,
                capture_output=True,
                text=True,
                timeout=120,
                check=False,
            )
            assert wrong.returncode != 0 and "no reading room 'hall'" in wrong.stderr
        finally:
            cluster.stop()


def cluster_env(cluster: LocalCluster) -> dict[str, str]:
    import os

    return {**os.environ, **cluster.env}
