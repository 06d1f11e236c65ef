"""Issue 16 item 8: waiting for WeChat's asynchronous result is information, not failure.

Through real worker processes (PostgreSQL, Redis) against the sandbox: while WeChat is
still publishing, the delivery is ``waiting`` with no error, outside the console's
failing list and the failure rate, logged at info level; the one real failure (-1) is
the only failed attempt; the delivered row keeps no stale error."""

from __future__ import annotations

import json
from typing import Any

from channels.wechat.sandbox import SandboxServer
from pipeline.console.queries import DeliveryFilter, list_deliveries
from pipeline.overview import build_overview
from pipeline.tenancy import Reach
from tests.channels.wechat.cluster import all_delivered, outcomes, submit, wechat_name, wechat_rows
from tests.channels.wechat.conftest import control
from tests.helpers import wait_until


def log_entries(cluster: Any) -> list[dict[str, Any]]:
    entries = []
    for path in sorted(cluster.root.glob("worker-*.log")):
        for line in path.read_text("utf-8", "replace").splitlines():
            if line.startswith("{"):
                entries.append(json.loads(line))
    return entries


def test_waiting_for_the_result_is_no_failure_anywhere(
    cluster_for: Any, sandbox: SandboxServer, truth: Any
) -> None:
    cluster = cluster_for()
    control(sandbox, "config", publish_delay=3.0)  # WeChat is still publishing for a while
    control(sandbox, "faults", path="draft/add", errcode=-1)  # one real, transient failure
    name = wechat_name(cluster)
    queues = ",".join(f"govpub.{n}" for n in cluster.settings.channels)
    cluster.worker(queues, concurrency=1)
    cluster.beat()
    submit(cluster, 1)

    def waiting_for_result() -> Any:
        [row] = wechat_rows(cluster)
        return row if row.state == "waiting" and (row.progress or {}).get("publish_id") else None

    row = wait_until(waiting_for_result, 60, f"the submitted article waiting\n{cluster.logs()}")
    assert (row.last_error_class, row.last_error) == (None, None)
    assert "publish_id" in row.reason and row.attempts == 1  # the failed attempt only
    failing, _ = list_deliveries(
        cluster.services.engine, DeliveryFilter(state="failing"), "Asia/Shanghai", Reach.PLATFORM
    )
    assert [d["id"] for d in failing] == []

    [row] = wait_until(lambda: all_delivered(cluster, 1), 60, f"delivery\n{cluster.logs()}")
    assert (row.last_error_class, row.last_error, row.reason) == (None, None, None)
    seen = outcomes(cluster, row)
    assert seen[0] == "retry" and seen[-1] == "delivered" and "waiting" in seen
    assert seen.count("retry") == 1, seen

    [wechat] = [c for c in build_overview(cluster.services).channels if c.name == name]
    assert (wechat.failures_24h, wechat.attempts_24h) == (1, 2)  # the -1, and the delivery

    entries = log_entries(cluster)
    failed = [e for e in entries if e.get("event") == "delivery failed" and e.get("channel") == name]
    assert [e["error_class"] for e in failed] == ["TransientError"], failed
    waits = [e for e in entries if e.get("event") == "delivery waiting" and e.get("channel") == name]
    assert waits and {e["level"] for e in waits} == {"info"}
    truth([row], "-1, then waiting for publish_status")
