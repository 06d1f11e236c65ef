"""Issue 19's done-when, through the running system: ``govpub serve``, a Celery worker
on Redis, PostgreSQL. An item with a valid ID number in an attached XLSX is held for
the site and goes to the archive with a warning; an operator releases it with
``govpub ops release`` and it goes out, the audit log saying who and why; an item with
a lexicon hit is held and its new revision without it goes out."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
from click.testing import CliRunner
from sqlalchemy import select

from pipeline.cli.main import main
from pipeline.console.auth import Accounts
from pipeline.console.tables import audit_log
from pipeline.localcluster import LocalCluster
from tests.helpers import make_item, wait_until
from tests.pipeline.console_support import add_user
from tests.pipeline.test_checks import ID_NUMBER, SAMPLE, attachment, xlsx

FAST = {"retry_base_seconds": 0.1, "retry_max_seconds": 0.5, "sweep_interval_seconds": 0.2}


def test_held_released_by_an_operator_and_a_corrected_revision(
    tmp_path: Path, pg_url: str, redis_url: str
) -> None:
    channels = {
        name: {"kind": "memory", "options": {"path": str(tmp_path / name)}} for name in ("site", "archive")
    }
    checks = {
        "enabled": ["personal", "expressions"],
        "lexicons": [str(SAMPLE)],
        "channels": {"archive": "warn"},
    }
    cluster = LocalCluster.create(tmp_path / "run", pg_url, redis_url, channels, checks=checks, **FAST)
    try:
        token = cluster.services.store.add_source("test")
        add_user(cluster.services, "op", "operator")
        ops_token = Accounts(cluster.services.engine, cluster.services.clock).issue_token("op")
        _, url = cluster.serve()
        cluster.worker("govpub.site,govpub.archive", concurrency=1, pool="solo")
        with httpx.Client(
            base_url=url, headers={"authorization": f"Bearer {token}"}, trust_env=False
        ) as http:

            def states(item_id: str) -> dict[tuple[str, int], str]:
                body = http.get(f"/v1/items/test/{item_id}").json()
                return {(d["channel"], d["revision"]): d["state"] for d in body["deliveries"]}

            def settled(item_id: str, want: dict[tuple[str, int], str]) -> None:
                wait_until(lambda: states(item_id) == want, 60, f"states {want}")

            table = xlsx([["姓名", "身份证号"], ["张三", ID_NUMBER]])
            item = make_item(1, attachments=[attachment("名单.xlsx", table)])
            assert http.post("/v1/items", json=item).status_code == 202
            settled("t-1", {("site", 1): "held", ("archive", 1): "delivered"})
            answer: Any = http.get("/v1/items/test/t-1").json()
            assert "1101**********002X" in {f["suggestion"] for f in answer["findings"]}
            site = next(d["id"] for d in answer["deliveries"] if d["channel"] == "site")
            assert not (tmp_path / "site").exists() or not list((tmp_path / "site").iterdir())

            env = {"GOVPUB_OPS_TOKEN": ops_token}
            done = CliRunner().invoke(
                main, ["ops", "--url", url, "release", str(site), "--reason", "样例数据"], env=env
            )
            assert done.exit_code == 0, done.output
            settled("t-1", {("site", 1): "delivered", ("archive", 1): "delivered"})
            with cluster.services.engine.connect() as conn:
                rows = conn.execute(
                    select(audit_log.c.username, audit_log.c.detail).where(audit_log.c.action == "release")
                ).all()
            assert [(r.username, r.detail) for r in rows] == [("op", "样例数据")]

            wrong = make_item(2, body_html="<p>两岸三地交流</p>")
            assert http.post("/v1/items", json=wrong).status_code == 202
            settled("t-2", {("site", 1): "held", ("archive", 1): "delivered"})
            fixed = make_item(2, revision=2, body_html="<p>海峡两岸和香港、澳门交流</p>")
            assert http.post("/v1/items", json=fixed).status_code == 202
            settled(
                "t-2",
                {
                    ("site", 1): "skipped",
                    ("archive", 1): "delivered",
                    ("site", 2): "delivered",
                    ("archive", 2): "delivered",
                },
            )
    finally:
        cluster.stop()
