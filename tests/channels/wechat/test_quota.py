"""Issue 16 item 6: a WeChat quota error waits for the quota's reset, at midnight China
time (45009), without spending attempts; through real workers against the sandbox,
whose daily API quota resets at its own midnight China time."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from channels.wechat.sandbox import SandboxServer
from channels.wechat.schedule import CHINA, quota_reset
from tests.channels.wechat.cluster import all_delivered, outcomes, submit, wechat_rows
from tests.channels.wechat.conftest import control, record
from tests.helpers import wait_until


def test_a_daily_quota_error_waits_for_midnight_china_time_without_spending_attempts(
    cluster_for: Any, sandbox: SandboxServer, truth: Any
) -> None:
    cluster = cluster_for()
    control(sandbox, "config", daily_limits={"freepublish/submit": 1})  # one publication a day
    cluster.worker(",".join(f"govpub.{n}" for n in cluster.settings.channels), concurrency=1)
    cluster.beat()
    submit(cluster, 2)

    def quota_hit() -> Any:
        rows = wechat_rows(cluster)
        if len(rows) == 2 and rows[0].state == "delivered" and "45009" in (rows[1].reason or ""):
            return rows[1]
        return None

    row = wait_until(quota_hit, 90, f"the second item refused for quota\n{cluster.logs()}")
    waited = [e for e in cluster.services.store.events(row.id) if e["outcome"] == "waiting"]
    at = datetime.fromisoformat(waited[-1]["at"])
    assert row.state == "waiting" and row.next_attempt_at == quota_reset(at)
    assert row.next_attempt_at.astimezone(CHINA).time().isoformat() == "00:00:00"
    assert (row.attempts, row.last_error, row.last_error_class) == (0, None, None)
    assert "retry" not in outcomes(cluster, row) and "dead" not in outcomes(cluster, row)

    # midnight in China: WeChat's quota is back, and the delivery is due
    control(sandbox, "clock", advance=(row.next_attempt_at - datetime.now(UTC)).total_seconds() + 1)
    cluster.services.deliveries.wake([row.id], datetime.now(UTC))
    first, second = wait_until(lambda: all_delivered(cluster, 2), 90, f"after the reset\n{cluster.logs()}")
    seen = record(sandbox)
    assert len(seen["submits"]) == 2 and len(seen["published"]) == 2
    assert second.external_ref["article_id"] == seen["published"][1]["article_id"]
    truth([first, second], "45009, then midnight China time")
