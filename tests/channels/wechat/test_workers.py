"""The WeChat channel through real Celery workers and beat (PostgreSQL, Redis db 10):
two worker processes share one token; a worker killed right after ``sendall`` and its
task redelivered still makes one mass send. Channel names (and so queue names) are
unique per test, because other checkouts may run these tests on the same Redis."""

from __future__ import annotations

from typing import Any

from channels.wechat.sandbox import SandboxServer
from pipeline.localcluster import stop_process
from tests.channels.wechat.cluster import all_delivered, all_in, send_now, submit
from tests.channels.wechat.conftest import control, record
from tests.helpers import wait_until


def test_two_worker_processes_publish_with_one_shared_token(
    cluster_for: Any, sandbox: SandboxServer, names: tuple[str, str], truth: Any
) -> None:
    cluster = cluster_for()
    control(sandbox, "faults", path="draft/add", delay=1.0, times=4)  # keep both processes busy
    cluster.worker(",".join(f"govpub.{n}" for n in names), concurrency=2)
    cluster.beat()
    submit(cluster, 4)

    rows = wait_until(lambda: all_delivered(cluster, 4), 180, f"publication\n{cluster.logs()}")
    seen = record(sandbox)
    assert len(seen["published"]) == 4
    assert {r.external_ref["article_id"] for r in rows} == {p["article_id"] for p in seen["published"]}
    assert len(seen["token_fetches"]) == 1, seen["token_fetches"]
    assert len({c["token"] for c in seen["calls"]}) == 1
    workers = {
        e["worker"] for r in rows for e in cluster.services.store.events(r.id) if e["outcome"] != "skipped"
    }
    assert len(workers) >= 2, workers
    truth(rows, "two worker processes")


def test_a_worker_killed_right_after_sendall_still_makes_one_send(
    cluster_for: Any, sandbox: SandboxServer, names: tuple[str, str], truth: Any
) -> None:
    site, wechat = names
    cluster = cluster_for(mode="broadcast", broadcast_time="23:59:59")
    control(sandbox, "faults", path="message/mass/sendall", delay=60, after=True)  # sent, answer held
    cluster.beat()
    website = cluster.worker(f"govpub.{site}", concurrency=1)
    submit(cluster, 3)
    wait_until(
        lambda: cluster.services.store.counts().get(site) == {"delivered": 3},
        60,
        f"website\n{cluster.logs()}",
    )
    stop_process(website)
    doomed = cluster.worker(f"govpub.{wechat}", concurrency=1)
    wait_until(lambda: all_in(cluster, 3, "waiting"), 60, f"the items waiting for the send\n{cluster.logs()}")
    send_now(cluster)  # the operator sends today's send early

    wait_until(lambda: record(sandbox)["mass_sends"], 120, f"the mass send\n{cluster.logs()}")
    stop_process(doomed)  # SIGKILL while the worker waits for sendall's answer
    cluster.worker(f"govpub.{wechat}", concurrency=1)

    rows = wait_until(lambda: all_delivered(cluster, 3), 180, f"recovery\n{cluster.logs()}")
    seen = record(sandbox)
    assert len(seen["mass_sends"]) == 1
    [send] = seen["mass_sends"]
    assert len(send["titles"]) == 3
    assert [c["clientmsgid"] for c in seen["sendall_calls"]] == [send["clientmsgid"]] * 2
    assert {r.external_ref["msg_id"] for r in rows} == {send["msg_id"]}
    outcomes = [e["outcome"] for r in rows for e in cluster.services.store.events(r.id)]
    assert "lost" in outcomes  # the killed worker's attempt was closed, then taken over
    truth(rows, "SIGKILL while sendall's answer was held")
