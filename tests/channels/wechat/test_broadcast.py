"""Broadcast mode through the runner, with a clock the test moves: one mass send a day of
up to 8 articles, quota, overflow, the clientmsgid guard and retraction."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from channels.wechat import schedule
from channels.wechat.channel import quota_use
from channels.wechat.sandbox import SandboxServer
from pipeline.overview import build_overview
from tests.channels.wechat.conftest import Driver, control, record, wechat_channels
from tests.helpers import wait_until

SH = ZoneInfo("Asia/Shanghai")
MORNING = datetime(2026, 5, 4, 9, 0, tzinfo=SH).astimezone(UTC)
EVENING = datetime(2026, 5, 4, 18, 0, tzinfo=SH).astimezone(UTC)
TOMORROW_EVENING = EVENING + timedelta(days=1)


@pytest.fixture
def broadcast(build_driver: Any, sandbox: SandboxServer, wechat_redis: str) -> Any:
    def build(**options: Any) -> Driver:
        opts = {"mode": "broadcast", "broadcast_time": "18:00", **options}
        driver: Driver = build_driver(wechat_channels(sandbox, wechat_redis, **opts), now=MORNING)
        return driver

    return build


def run_until(driver: Driver, check: Any, what: str) -> Any:
    def step() -> Any:
        driver.advance(0.5)
        driver.run_due()
        return check(driver.deliveries())

    return wait_until(step, timeout=90, what=what)


def gathered(driver: Driver) -> list[dict[str, Any]]:
    """Run the morning: websites first, then every WeChat delivery waits for the evening."""
    rows: list[dict[str, Any]] = run_until(
        driver,
        lambda rows: (
            rows if all(r["state"] == "waiting" and "mass send" in r["reason"] for r in rows) else None
        ),
        "waiting",
    )
    return rows


def states(rows: list[dict[str, Any]]) -> list[str]:
    return [r["state"] for r in rows]


def test_eleven_items_make_one_send_of_eight_and_three_wait(broadcast: Any, sandbox: SandboxServer) -> None:
    driver = broadcast()
    for n in range(1, 12):
        driver.submit(n)
    rows = gathered(driver)
    assert states(rows) == ["waiting"] * 11
    assert {r["last_error"] for r in rows} == {None}, "waiting for the window is no error"
    assert {r["next_attempt_at"] for r in rows} == {EVENING}
    assert record(sandbox)["sendall_calls"] == []

    driver.now = EVENING
    rows = run_until(driver, lambda rows: rows if states(rows)[:8] == ["delivered"] * 8 else None, "the send")
    [send] = record(sandbox)["mass_sends"]
    assert send["titles"] == [f"测试公开信息 {n}" for n in range(1, 9)]
    assert [r["external_ref"]["index"] for r in rows[:8]] == list(range(1, 9))
    assert {r["external_ref"]["msg_id"] for r in rows[:8]} == {send["msg_id"]}
    carried = rows[8:]
    assert states(carried) == ["waiting"] * 3
    assert {r["next_attempt_at"] for r in carried} == {TOMORROW_EVENING}
    assert all(r["attempts"] == 0 for r in carried)  # waiting is not a failed attempt
    quota = quota_use(driver.services, "wechat")
    assert (quota["limit"], quota["used"], quota["remaining"]) == (1, 1, 0)
    [card] = [c for c in build_overview(driver.services).channels if c.name == "wechat"]
    assert card.facts["群发额度"].endswith("已用 1 / 1，剩余 0")  # the channel's own words
    assert card.pages == [  # its plug-in's console page, for a channel in broadcast mode
        {"heading": "今日群发", "text": "查看将要发送的内容、立即群发", "href": "/console/wechat/wechat"}
    ]

    control(sandbox, "clock", advance=86_400)
    driver.now = TOMORROW_EVENING
    rows = run_until(driver, lambda rows: rows if states(rows) == ["delivered"] * 11 else None, "day two")
    sends = record(sandbox)["mass_sends"]
    assert [len(s["titles"]) for s in sends] == [8, 3]


def test_a_send_whose_answer_was_lost_is_repeated_but_goes_out_once(
    broadcast: Any, sandbox: SandboxServer
) -> None:
    driver = broadcast(timeout_seconds=0.5)
    for n in range(1, 4):
        driver.submit(n)
    gathered(driver)
    control(sandbox, "faults", path="message/mass/sendall", delay=1.5, after=True)
    driver.now = EVENING
    rows = run_until(driver, lambda rows: rows if states(rows) == ["delivered"] * 3 else None, "delivery")
    seen = record(sandbox)
    assert len(seen["mass_sends"]) == 1
    calls = seen["sendall_calls"]
    assert len(calls) == 2 and calls[0]["clientmsgid"] == calls[1]["clientmsgid"]
    assert len(calls[0]["clientmsgid"].encode()) <= 64
    assert {r["external_ref"]["msg_id"] for r in rows} == {seen["mass_sends"][0]["msg_id"]}


def test_no_quota_left_waits_for_the_next_window(broadcast: Any, sandbox: SandboxServer) -> None:
    driver = broadcast()
    driver.submit(1)
    gathered(driver)
    control(sandbox, "faults", path="message/mass/sendall", errcode=45028)  # e.g. sent from the web UI
    driver.now = EVENING
    [row] = run_until(
        driver, lambda rows: rows if "45028" in (rows[0]["reason"] or "") else None, "an answer"
    )
    assert (row["state"], row["last_error_class"]) == ("waiting", None)
    assert row["next_attempt_at"] == TOMORROW_EVENING
    assert row["attempts"] == 0


def test_overflow_can_go_out_as_publish(broadcast: Any, sandbox: SandboxServer) -> None:
    driver = broadcast(overflow="publish")
    for n in range(1, 11):
        driver.submit(n)
    gathered(driver)
    driver.now = EVENING
    rows = run_until(driver, lambda rows: rows if states(rows) == ["delivered"] * 10 else None, "delivery")
    assert [r["external_ref"]["mode"] for r in rows] == ["broadcast"] * 8 + ["publish"] * 2
    seen = record(sandbox)
    assert len(seen["mass_sends"]) == 1 and len(seen["submits"]) == 2


def test_retracting_a_broadcast_article_deletes_it_and_says_the_push_stays(
    broadcast: Any, sandbox: SandboxServer
) -> None:
    driver = broadcast()
    driver.submit(1)
    driver.submit(2)
    gathered(driver)
    driver.now = EVENING
    run_until(driver, lambda rows: rows if states(rows) == ["delivered"] * 2 else None, "delivery")
    driver.services.store.retract("test", "t-2", "内容有误", now=driver.now)
    rows = run_until(driver, lambda rows: rows if states(rows)[-1] == "delivered" else None, "retraction")
    [deleted] = record(sandbox)["deleted"]
    assert deleted["index"] == 2 and deleted["all"] is False
    assert "cannot be recalled" in rows[-1]["external_ref"]["removed"][0]["note"]


def test_windows_and_periods() -> None:
    tz = "Asia/Shanghai"
    late = datetime(2017, 12, 31, 20, 0, tzinfo=UTC)  # 2018-01-01 04:00 in Shanghai
    assert schedule.period(late, "subscription", tz) == "2018-01-01"
    assert schedule.period(late, "service", tz) == "2018-01"
    six = datetime(2018, 1, 1, 18, 0, tzinfo=SH)
    assert schedule.next_window(late, six.timetz().replace(tzinfo=None), "service", tz) == datetime(
        2018, 2, 1, 18, 0, tzinfo=SH
    )
    assert schedule.quota_reset(late) == datetime(2018, 1, 2, 0, 0, tzinfo=SH)  # WeChat's midnight


def test_items_arriving_one_by_one_after_the_send_time_go_out_together_the_next_day(
    broadcast: Any, sandbox: SandboxServer
) -> None:
    driver = broadcast()
    driver.now = EVENING + timedelta(minutes=5)  # today's window has passed, with nothing in it
    for n in range(1, 5):
        driver.submit(n)
        driver.advance(60)
        run_until(driver, lambda rows: rows if {r["state"] for r in rows} == {"waiting"} else None, "waiting")
    assert record(sandbox)["sendall_calls"] == [], "the first ready item never goes out alone"
    rows = driver.deliveries()
    assert {r["next_attempt_at"] for r in rows} == {TOMORROW_EVENING}
    assert all("after the cut-off" in r["reason"] for r in rows)

    control(sandbox, "clock", advance=86_400)
    driver.now = TOMORROW_EVENING
    run_until(driver, lambda rows: rows if states(rows) == ["delivered"] * 4 else None, "the next day's send")
    [send] = record(sandbox)["mass_sends"]
    assert send["titles"] == [f"测试公开信息 {n}" for n in range(1, 5)]  # first accepted first


@pytest.mark.parametrize("errcode", [45009, 45028])
def test_a_quota_error_on_the_send_waits_for_the_next_window_and_gathers_again(
    broadcast: Any, sandbox: SandboxServer, errcode: int
) -> None:
    driver = broadcast()
    driver.submit(1)
    driver.submit(2)
    gathered(driver)
    control(sandbox, "faults", path="message/mass/sendall", errcode=errcode)
    driver.now = EVENING
    rows = run_until(
        driver, lambda rows: rows if str(errcode) in (rows[0]["reason"] or "") else None, "refusal"
    )
    assert states(rows) == ["waiting", "waiting"] and {r["attempts"] for r in rows} == {0}
    assert {r["next_attempt_at"] for r in rows} == {TOMORROW_EVENING}
    assert record(sandbox)["drafts"] and not record(sandbox)["mass_sends"]

    control(sandbox, "clock", advance=86_400)
    driver.now = TOMORROW_EVENING
    rows = run_until(driver, lambda rows: rows if states(rows) == ["delivered"] * 2 else None, "the next day")
    [send] = record(sandbox)["mass_sends"]
    assert send["titles"] == ["测试公开信息 1", "测试公开信息 2"]
    assert {r["external_ref"]["window"] for r in rows} == {"2026-05-05"}


def test_45065_naming_another_send_is_not_counted_as_this_send(
    broadcast: Any, sandbox: SandboxServer
) -> None:
    driver = broadcast()
    driver.submit(1)
    gathered(driver)
    driver.now = EVENING
    run_until(driver, lambda rows: rows if states(rows) == ["delivered"] else None, "day one")
    [first] = record(sandbox)["mass_sends"]

    driver.submit(2)  # tomorrow's; WeChat will claim its clientmsgid was seen, naming day one's send
    control(sandbox, "clock", advance=86_400)
    control(
        sandbox, "faults", path="message/mass/sendall", errcode=45065, answer={"msg_id": int(first["msg_id"])}
    )
    driver.now = TOMORROW_EVENING
    rows = run_until(driver, lambda rows: rows if "45065" in (rows[1]["reason"] or "") else None, "45065")
    assert rows[1]["state"] == "waiting" and rows[1]["external_ref"] is None
    assert f"msg_id {first['msg_id']}, which is the 2026-05-04 send" in rows[1]["reason"]
    assert len(record(sandbox)["mass_sends"]) == 1


def test_polls_that_fail_keep_a_sent_send_unconfirmed_until_one_answers(
    broadcast: Any, sandbox: SandboxServer
) -> None:
    driver = broadcast()
    driver.submit(1)
    gathered(driver)
    control(sandbox, "faults", path="message/mass/get", errcode=40059, times=3)
    driver.now = EVENING
    run_until(driver, lambda rows: rows if states(rows) == ["unconfirmed"] else None, "sent, unconfirmed")
    [row] = run_until(driver, lambda rows: rows if states(rows) == ["delivered"] else None, "confirmed")
    seen = record(sandbox)
    assert len(seen["faults_used"]) == 3 and seen["mass_gets"]
    assert {g["msg_id"] for g in seen["mass_gets"]} == {
        seen["mass_sends"][0]["msg_id"]
    }  # a string, as documented
    events = [e["outcome"] for e in driver.services.store.events(row["id"])]
    assert events.count("sent") == 1 and "dead" not in events and "retry" not in events


def test_only_wechat_saying_send_fail_makes_a_sent_send_dead(broadcast: Any, sandbox: SandboxServer) -> None:
    driver = broadcast()
    driver.submit(1)
    gathered(driver)
    control(sandbox, "config", mass_result="err(40002)", mass_delay=1.0)  # no administrator confirmed it
    driver.now = EVENING
    run_until(driver, lambda rows: rows if states(rows) == ["unconfirmed"] else None, "sent, unconfirmed")
    [row] = run_until(driver, lambda rows: rows if states(rows) == ["dead"] else None, "the failed send")
    assert "SEND_FAIL" in row["last_error"] and row["delivered_at"] is None
    events = [e["outcome"] for e in driver.services.store.events(row["id"])]
    assert "sent" in events and events[-1] == "dead"
