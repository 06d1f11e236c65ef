"""Issue 16 item 1, broadcast mode: a worker SIGKILLed at every step of a mass send
leaves exactly one send, pushed once, whose articles the delivery log names.

The operator orders the day's send now (``govpub wechat broadcast --now``); the WeChat
worker that takes it kills its process group at the step named by ``GOVPUB_CRASH_AT``
(``pipeline/crashpoints.py``); a second worker takes over once the lease ran out."""

from __future__ import annotations

from typing import Any

import pytest

from channels.wechat.sandbox import SandboxServer
from pipeline.crashpoints import ENV
from tests.channels.wechat.cluster import all_delivered, all_in, live_articles, send_now, submit
from tests.channels.wechat.conftest import record
from tests.helpers import wait_until

BROADCAST_STEPS = [
    "wechat.mass_draft_add",  # the send's draft made, the send not yet written down
    "wechat.prepare",  # the send written down (wechat_jobs), nothing checkpointed
    "wechat.preview",  # a preview went to an operator's phone, not yet recorded
    "wechat.sendall",  # sendall answered with its msg_id, nothing recorded yet
    "wechat.sent",  # the msg_id recorded, the deliveries not checkpointed
    "wechat.mass_checkpoint",  # checkpointed, the result not yet asked for
]


def run_send_with_crash(cluster: Any, names: tuple[str, str], step: str, count: int) -> list[Any]:
    site, wechat = names
    cluster.beat()
    cluster.worker(f"govpub.{site}", concurrency=1)
    doomed = cluster.worker(f"govpub.{wechat}", concurrency=1, env={ENV: step})
    submit(cluster, count)
    wait_until(lambda: all_in(cluster, count, "waiting"), 90, f"the day's items\n{cluster.logs()}")
    send_now(cluster)
    wait_until(lambda: doomed.poll() is not None, 90, f"the worker to die at {step}\n{cluster.logs()}")
    assert f"crash point {step} reached" in cluster.logs(), "it died somewhere else"
    cluster.worker(f"govpub.{wechat}", concurrency=1)
    rows: list[Any] = wait_until(
        lambda: all_delivered(cluster, count), 150, f"recovery after {step}\n{cluster.logs()}"
    )
    return rows


@pytest.mark.parametrize("step", BROADCAST_STEPS)
def test_a_worker_killed_at_each_step_of_a_mass_send_leaves_one_send(
    cluster_for: Any, sandbox: SandboxServer, names: tuple[str, str], step: str, truth: Any
) -> None:
    cluster = cluster_for(mode="broadcast", broadcast_time="23:59:59", preview_to=["ops_wang01"])
    rows = run_send_with_crash(cluster, names, step, 2)

    seen = record(sandbox)
    [send] = seen["mass_sends"]
    assert send["titles"] == ["测试公开信息 1", "测试公开信息 2"]
    assert {c["clientmsgid"] for c in seen["sendall_calls"]} == {send["clientmsgid"]}
    assert seen["previews"] and all(p["at"] < send["at"] for p in seen["previews"])
    live = sorted((a, i) for a, i, _ in live_articles(sandbox))
    assert live == [(f"mass{send['msg_id']}", 1), (f"mass{send['msg_id']}", 2)]
    assert [(r.external_ref["msg_id"], r.external_ref["index"]) for r in rows] == [
        (send["msg_id"], 1),
        (send["msg_id"], 2),
    ]
    truth(rows, f"SIGKILL after {step}")
