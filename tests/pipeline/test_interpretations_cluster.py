"""Issue 19's done-when for 政策解读, through the running system (``govpub serve``, a Celery
worker on Redis, PostgreSQL, no beat): an interpretation submitted before its policy is
out waits, saying why, and goes out right after the policy, on each channel; the
channels' own records show the order (the website's pages and their publication times,
the archive's record files), and the pages link each other."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx

from pipeline.localcluster import LocalCluster
from tests.helpers import TEST_AGENCY, make_item, wait_until
from tests.pipeline.test_checks import SAMPLE

FAST = {"retry_base_seconds": 0.1, "retry_max_seconds": 0.5}


def test_an_interpretation_submitted_before_its_policy_waits_and_goes_out_after_it(
    tmp_path: Path, pg_url: str, redis_url: str
) -> None:
    channels = {
        "site": {"kind": "website", "options": {"output_dir": str(tmp_path / "site")}},
        "archive": {"kind": "memory", "options": {"path": str(tmp_path / "archive")}},
    }
    checks = {"enabled": ["expressions"], "lexicons": [str(SAMPLE)], "channels": {"archive": "warn"}}
    cluster = LocalCluster.create(tmp_path / "run", pg_url, redis_url, channels, checks=checks, **FAST)
    try:
        token = cluster.services.store.add_source("test")
        _, url = cluster.serve()
        cluster.worker("govpub.site,govpub.archive", concurrency=1, pool="solo")
        with httpx.Client(
            base_url=url, headers={"authorization": f"Bearer {token}"}, trust_env=False
        ) as http:

            def deliveries(item_id: str) -> dict[tuple[str, int], dict[str, Any]]:
                body = http.get(f"/v1/items/test/{item_id}").json()
                return {(d["channel"], d["revision"]): d for d in body["deliveries"]}

            def settled(
                item_id: str, want: dict[tuple[str, int], str]
            ) -> dict[tuple[str, int], dict[str, Any]]:
                def now() -> Any:
                    found = deliveries(item_id)
                    return found if {k: d["state"] for k, d in found.items()} == want else None

                return wait_until(now, 60, f"{item_id} in {want}")  # type: ignore[no-any-return]

            # the policy is held on the site (a lexicon hit), out on the archive (warned)
            policy = make_item(
                1, title="关于规范校外培训的若干规定", genre="规范性文件", body_html="<p>两岸三地交流</p>"
            )
            policy_no = http.post("/v1/items", json=policy).json()["index_no"]
            settled("t-1", {("site", 1): "held", ("archive", 1): "delivered"})

            reading = make_item(2, title="《若干规定》政策解读", interprets=[{"id": "t-1"}])
            answer = http.post("/v1/items", json=reading)
            assert answer.status_code == 202, answer.text
            reading_no = answer.json()["index_no"]
            waiting = settled("t-2", {("site", 1): "waiting", ("archive", 1): "delivered"})
            assert "等待所解读的政策发布" in waiting[("site", 1)]["reason"]
            assert policy_no in waiting[("site", 1)]["reason"]
            pages = tmp_path / "site" / TEST_AGENCY.lower() / "items"
            policy_page, reading_page = (
                pages / f"{n.replace('/', '-')}.html" for n in (policy_no, reading_no)
            )
            assert not reading_page.exists() and not policy_page.exists()

            # the corrected policy goes out; its interpretation follows at once (no beat
            # runs here: only the wake-up can send it before its minute is up)
            fixed = make_item(1, revision=2, title="关于规范校外培训的若干规定", genre="规范性文件")
            assert http.post("/v1/items", json=fixed).status_code == 202
            policy_rows = settled(
                "t-1",
                {
                    ("site", 1): "skipped",
                    ("archive", 1): "delivered",
                    ("site", 2): "delivered",
                    ("archive", 2): "delivered",
                },
            )
            reading_rows = wait_until(
                lambda: (found := deliveries("t-2"))[("site", 1)]["state"] == "delivered" and found,
                20,
                "woken",
            )

        # the order, from the channels' own records (the site's pages: the interpretation's
        # was not there while it waited, above; the policy's is rewritten by its 相关解读)
        site_policy = policy_rows[("site", 2)]["delivered_at"]
        assert site_policy <= reading_rows[("site", 1)]["delivered_at"]
        archive = tmp_path / "archive"
        assert (archive / "test~t-1~r1~publish.json").stat().st_mtime_ns <= (
            archive / "test~t-2~r1~publish.json"
        ).stat().st_mtime_ns
        # and both ways linked
        assert f"{policy_no.replace('/', '-')}.html" in reading_page.read_text("utf-8")
        listed = policy_page.read_text("utf-8")
        assert "相关解读" in listed and f"{reading_no.replace('/', '-')}.html" in listed
    finally:
        cluster.stop()
