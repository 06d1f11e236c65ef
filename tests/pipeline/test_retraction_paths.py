"""One retraction path: an item retracted through the API, through ``govpub retract``
(the CLI) and through the console ends the same on every channel, against a running
``govpub serve`` with a website, a feed, the memory channel, a per-item archive
receiver and a monthly one (whose package is still waiting: the retraction must not
cancel it, and must queue the archive's retraction package too)."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import select

from pipeline import db
from pipeline.localcluster import LocalCluster
from tests.channels.archive_support import receiver_options
from tests.helpers import govpub, make_item, wait_until
from tests.pipeline.console_support import PASSWORD, add_user, login

WAITING = ("pending", "queued", "sending", "retrying")


def channels(root: Path) -> dict[str, dict[str, Any]]:
    return {
        "memory": {"kind": "memory"},
        "website": {"kind": "website"},
        "feed": {"kind": "feed"},
        "library": {"kind": "archive", "options": receiver_options(root / "library", schedule="per-item")},
        "district": {"kind": "archive", "options": receiver_options(root / "district", schedule="monthly")},
    }


def outcome(cluster: LocalCluster, item_id: str) -> list[tuple[str, str, str]]:
    """Per delivery of the item: channel, action and state ("waiting" for any state of
    a delivery still to come, as the monthly receiver's are)."""
    query = (
        select(db.deliveries.c.channel, db.deliveries.c.action, db.deliveries.c.state)
        .join(db.items, db.items.c.pk == db.deliveries.c.item_pk)
        .where(db.items.c.item_id == item_id)
    )
    with cluster.services.engine.connect() as conn:
        rows = conn.execute(query).all()
    return sorted((c, a, "waiting" if s in WAITING else s) for c, a, s in rows)


def settled(cluster: LocalCluster, ids: list[str]) -> bool:
    """Every delivery but the monthly receiver's has finished."""
    return all(
        state != "waiting" for i in ids for channel, _, state in outcome(cluster, i) if channel != "district"
    )


def test_api_cli_and_console_retract_alike(tmp_path: Path) -> None:
    cluster = LocalCluster.create(
        tmp_path / "govpub", f"sqlite:///{tmp_path / 'govpub.db'}", None, channels(tmp_path)
    )
    try:
        _, url = cluster.serve()
        token = cluster.services.store.add_source("test")
        add_user(cluster.services, "li.wei", "operator")
        ids = ["t-api", "t-cli", "t-console"]
        with httpx.Client(base_url=url, headers={"authorization": f"Bearer {token}"}, timeout=60) as http:
            for item_id in ids:
                assert http.post("/v1/items", json=make_item(item_id.removeprefix("t-"))).status_code == 202
            wait_until(lambda: settled(cluster, ids), 60, "every delivery but the monthly package")
            published = outcome(cluster, "t-api")
            assert ("district", "publish", "waiting") in published and (
                "library",
                "publish",
                "delivered",
            ) in published

            gone = http.request("DELETE", "/v1/items/test/t-api", json={"reason": "内容有误"})
            assert gone.status_code == 202, gone.text
        cli = govpub(
            "retract", "test", "t-cli", "--reason", "内容有误", "--url", url, "--token", token,
            env=cluster.env, cwd=cluster.root, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        )  # fmt: skip
        assert cli.wait(60) == 0, cli.stderr.read() if cli.stderr else ""
        with httpx.Client(base_url=url, timeout=60) as browser:
            csrf = login(browser, "li.wei", PASSWORD)
            pk = cluster.services.store.item_status("test", "t-console")["deliveries"][0]["item_pk"]
            form = {"csrf": csrf, "reason": "内容有误", "confirm": "yes"}
            answer = browser.post(f"/console/items/{pk}/retract", data=form, follow_redirects=False)
            assert (
                answer.status_code == 303
                and "已撤回" in httpx.URL(answer.headers["location"]).params["notice"]
            )

        wait_until(lambda: settled(cluster, ids), 60, "the retractions")
        api, by_cli, console = (outcome(cluster, i) for i in ids)
        assert api == by_cli == console, {"api": api, "cli": by_cli, "console": console}
        assert ("district", "retract", "waiting") in api and ("district", "publish", "waiting") in api
        assert ("library", "retract", "delivered") in api and ("website", "retract", "delivered") in api
        assert ("memory", "retract", "delivered") in api and ("feed", "retract", "delivered") in api
        for item_id in ids:
            assert cluster.services.store.item_status("test", item_id)["retract_reason"] == "内容有误"
    finally:
        cluster.stop()
