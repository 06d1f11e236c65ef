"""Broadcast mode through real worker processes (PostgreSQL, Redis) against the sandbox:
issue 16 items 2 (clientmsgid per installation), 3 (a send that went out is never dead),
4 (one send per window, ordered, previewed by the operator and sent early) and 5
(message/mass/preview before the send)."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
from sqlalchemy import select

from channels.wechat.sandbox import SandboxServer
from channels.wechat.tables import previews
from pipeline.installation import installation_id
from pipeline.overview import build_overview
from pipeline.report.build import build_report
from tests.channels.wechat.cluster import (
    all_delivered,
    all_in,
    govpub_cli,
    live_articles,
    outcomes,
    send_now,
    submit,
    wechat_name,
    wechat_rows,
)
from tests.channels.wechat.conftest import CALLBACK_TOKEN, control, record
from tests.helpers import wait_until
from tests.pipeline.console_support import add_user, login

SH = ZoneInfo("Asia/Shanghai")
LATE = "23:59:59"  # the day's send is gathered at the end of the day: the operator sends it now


def start(cluster: Any) -> None:
    """A worker per channel (a slow website never holds up the WeChat queue) and the beat."""
    for name in cluster.settings.channels:
        cluster.worker(f"govpub.{name}", concurrency=1)
    cluster.beat()


def waiting_for_the_send(cluster: Any, count: int) -> list[Any]:
    rows: list[Any] = wait_until(
        lambda: all_in(cluster, count, "waiting"), 90, f"the items waiting for the send\n{cluster.logs()}"
    )
    return rows


def test_a_second_installation_on_the_same_account_never_takes_the_first_ones_send(
    cluster_for: Any, sandbox: SandboxServer, other_pg_url: str, wechat_redis: str, truth: Any
) -> None:
    first = cluster_for(mode="broadcast", broadcast_time=LATE)
    start(first)
    submit(first, 2)
    waiting_for_the_send(first, 2)
    send_now(first)
    first_rows = wait_until(lambda: all_delivered(first, 2), 90, f"the first send\n{first.logs()}")
    first.stop()

    # the same agency's second installation (or this one rebuilt): same account, channel
    # names, items and delivery numbers, same day
    second = cluster_for(
        database_url=other_pg_url,
        broker_url=wechat_redis.rsplit("/", 1)[0] + "/11",
        mode="broadcast",
        broadcast_time=LATE,
    )
    start(second)
    submit(second, 2)
    waiting_for_the_send(second, 2)
    send_now(second)

    def refused() -> list[Any] | None:
        rows = wechat_rows(second)
        return rows if all(r.state == "waiting" and "45028" in (r.reason or "") for r in rows) else None

    rows = wait_until(refused, 90, f"the second installation's send refused\n{second.logs()}")
    seen = record(sandbox)
    assert len(seen["mass_sends"]) == 1  # followers got the first send only
    ids = [installation_id(first.services.engine), installation_id(second.services.engine)]
    calls = [c["clientmsgid"] for c in seen["sendall_calls"]]
    assert len(calls) == 2 and ids[0] != ids[1]
    assert [ids[i] in calls[i] for i in (0, 1)] == [True, True]
    assert all(r.external_ref is None and r.delivered_at is None for r in rows)  # never recorded delivered
    truth([*first_rows, *rows], "two installations, one account, one day")


def test_a_send_that_went_out_is_unconfirmed_never_dead_until_masssendjobfinish(
    cluster_for: Any, sandbox: SandboxServer, truth: Any
) -> None:
    cluster = cluster_for(mode="broadcast", broadcast_time=LATE)
    name = wechat_name(cluster)
    _, url = cluster.serve()
    control(sandbox, "faults", path="message/mass/get", errcode=40059, times=100_000)  # never answers
    control(sandbox, "config", mass_delay=600.0)  # WeChat takes its time to finish the send
    start(cluster)
    submit(cluster, 2)
    waiting_for_the_send(cluster, 2)
    send_now(cluster)

    rows = wait_until(lambda: all_in(cluster, 2, "unconfirmed"), 90, f"the send\n{cluster.logs()}")
    [send] = record(sandbox)["mass_sends"]
    assert [r.external_ref["msg_id"] for r in rows] == [send["msg_id"]] * 2
    assert [r.external_ref["index"] for r in rows] == [1, 2]
    assert all("40059" in r.reason and r.last_error is None for r in rows)
    assert all(outcomes(cluster, r).count("sent") == 1 for r in rows)
    wait_until(lambda: len(record(sandbox)["faults_used"]) >= 6, 60, "more polls answered 40059")
    rows = wait_until(lambda: all_in(cluster, 2, "unconfirmed"), 30, "unconfirmed after the polls")
    assert not {"dead", "retry"} & {o for r in rows for o in outcomes(cluster, r)}
    truth(wechat_rows(cluster), "sent, mass/get answers 40059")

    [wechat] = [c for c in build_overview(cluster.services).channels if c.name == name]
    assert wechat.reached["today"] == 2 and wechat.failures_24h == 0  # counted as pushed
    year = datetime.now(SH).year
    report = build_report(cluster.services.engine, cluster.settings, year)
    assert {c.channel: c.items for c in report.counts.channels}.get(name) == 2

    control(sandbox, "config", callback_url=f"{url}/wechat/callback/{name}", callback_token=CALLBACK_TOKEN)
    control(sandbox, "finish_mass", msg_id=send["msg_id"])  # WeChat finishes now: MASSSENDJOBFINISH
    rows = wait_until(lambda: all_delivered(cluster, 2), 60, f"the confirmation\n{cluster.logs()}")
    assert [c["answer"] for c in record(sandbox)["callbacks"]] == [200]
    assert [r.external_ref["article_url"].rsplit("?", 1)[1] for r in rows] == ["idx=1", "idx=2"]
    assert all(r.delivered_at is not None and r.reason is None for r in rows)
    truth(rows, "then MASSSENDJOBFINISH")


def test_the_day_s_send_gathers_what_is_ready_in_order_and_an_operator_sends_it_early(
    cluster_for: Any, sandbox: SandboxServer, tmp_path: Path, truth: Any
) -> None:
    site_control = tmp_path / "site-control.json"
    cluster = cluster_for(mode="broadcast", broadcast_time=LATE, website={"control": str(site_control)})
    start(cluster)
    for n in range(1, 5):  # the day's items arrive one by one
        submit(cluster, 1, first=n)
        waiting_for_the_send(cluster, n)
    site_control.write_text(json.dumps({"slow_until": 4e9, "delay": 45}))  # item 5's page is slow
    submit(cluster, 1, first=5)
    wait_until(lambda: wechat_rows(cluster)[4:], 30, "item 5 accepted")
    assert record(sandbox)["sendall_calls"] == [], "nothing goes before the send"

    shown = govpub_cli(cluster, "wechat", "broadcast", "--preview", "--json")
    assert shown.returncode == 0, shown.stderr
    view = json.loads(shown.stdout)
    assert view["state"] == "gathering"
    assert [a["title"] for a in view["articles"]] == [f"测试公开信息 {n}" for n in range(1, 5)]
    assert [w["title"] for w in view["waiting_for_page"]] == ["测试公开信息 5"]

    add_user(cluster.services, "ops", "operator")
    _, url = cluster.serve()
    with httpx.Client(base_url=url) as console:
        csrf = login(console, "ops")  # type: ignore[arg-type]
        page = console.get(f"/console/wechat/{wechat_name(cluster)}").text
        assert [page.index(f"测试公开信息 {n}") for n in range(1, 6)] == sorted(
            page.index(f"测试公开信息 {n}") for n in range(1, 6)
        ), "the page lists the send in its order, then what waits for its page"
        answer = console.post(
            f"/console/wechat/{wechat_name(cluster)}/send-now", data={"csrf": csrf}, follow_redirects=True
        )
        assert answer.status_code == 200 and "已下令立即群发" in answer.text  # followed back to the page
    done = wait_until(lambda: all_delivered(cluster, 5) or _four_of_five(cluster), 90, cluster.logs())
    [send] = record(sandbox)["mass_sends"]
    assert send["titles"] == [f"测试公开信息 {n}" for n in range(1, 5)]  # one send, the stated order
    assert [r.external_ref["index"] for r in done[:4]] == [1, 2, 3, 4]

    site_control.write_text("{}")  # the page comes, after the send
    fifth = wait_until(lambda: _fifth_waits_for_tomorrow(cluster), 90, f"item 5\n{cluster.logs()}")
    assert "the mass-send quota of this period is used (1 of 1)" in fifth.reason
    tomorrow = (datetime.now(SH) + timedelta(days=1)).date()
    assert fifth.next_attempt_at.astimezone(SH).date() == tomorrow
    assert len(record(sandbox)["mass_sends"]) == 1 and len(live_articles(sandbox)) == 4
    truth(wechat_rows(cluster), "4 ready in order, 1 waiting for its page")


def _four_of_five(cluster: Any) -> list[Any] | None:
    rows = wechat_rows(cluster)
    return rows if [r.state for r in rows[:4]] == ["delivered"] * 4 else None


def _fifth_waits_for_tomorrow(cluster: Any) -> Any:
    rows = wechat_rows(cluster)
    fifth = rows[4]
    return fifth if fifth.state == "waiting" and "next mass send" in (fifth.reason or "") else None


def test_the_send_is_previewed_on_the_operators_phones_before_it_goes_out(
    cluster_for: Any, sandbox: SandboxServer, truth: Any
) -> None:
    now = datetime.now(SH)
    send_at = (now + timedelta(seconds=45)).replace(microsecond=0)
    if send_at.date() != now.date():  # the day's window must not wrap past midnight
        wait_until(lambda: datetime.now(SH).date() == send_at.date(), 60, "midnight")
        send_at = (datetime.now(SH) + timedelta(seconds=45)).replace(microsecond=0)
    cluster = cluster_for(
        mode="broadcast",
        broadcast_time=send_at.strftime("%H:%M:%S"),
        preview_to=["ops_wang01", "ops_li0002"],
        preview_minutes=0.25,  # 15 s before the send; the cut-off is the preview time
    )
    start(cluster)
    submit(cluster, 2)
    rows = wait_until(lambda: all_delivered(cluster, 2), 150, f"the send\n{cluster.logs()}")

    seen = record(sandbox)
    [send] = seen["mass_sends"]
    assert [(p["to"], p["by"]) for p in seen["previews"]] == [
        ("ops_wang01", "towxname"),
        ("ops_li0002", "towxname"),
    ]
    assert all(p["titles"] == send["titles"] for p in seen["previews"])
    assert all(p["at"] < send["at"] for p in seen["previews"])
    assert send["at"] >= send_at.timestamp()
    with cluster.services.engine.connect() as conn:
        kept = conn.execute(select(previews.c.recipient, previews.c.msg_id, previews.c.error)).all()
    assert sorted((r.recipient, r.error) for r in kept) == [("ops_li0002", None), ("ops_wang01", None)]
    assert {r.msg_id for r in kept} == {p["msg_id"] for p in seen["previews"]}
    assert {r.external_ref["msg_id"] for r in rows} == {send["msg_id"]}
    truth(rows, "previewed on 2 phones, then sent")
