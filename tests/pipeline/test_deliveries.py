"""The state machine through the runner: retries, dead ends, order, retraction."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from pipeline.config import ChannelConfig
from pipeline.model import ItemIn
from pipeline.runner import run_delivery
from pipeline.schema import upgrade
from pipeline.services import Services, build_services
from tests.helpers import TEST_AGENCY, TEST_AGENCY_NAME, make_item, register_agencies


def setup(settings_for: Any, **options: Any) -> Services:
    services = build_services(
        settings_for(channels={"memory": ChannelConfig(kind="memory", options=options)}, max_attempts=3)
    )
    upgrade(services.engine)
    register_agencies(services.engine, {TEST_AGENCY: TEST_AGENCY_NAME})
    return services


def accept(services: Services, n: int = 1, **changes: Any) -> list[tuple[int, str]]:
    item = ItemIn.model_validate({**make_item(n, **changes), "source": "test"})
    return services.store.accept(item, {"memory": True}).work


def run_due(services: Services) -> list[str]:
    """An hour later: everything due then, as the sweeper would send it, run in this thread."""
    later = services.clock() + timedelta(hours=1)
    services.clock = lambda: later
    return [run_delivery(services, d, ch) for d, ch in services.deliveries.due(later, 0)]


def outcomes(services: Services, delivery_id: int) -> list[str]:
    return [e["outcome"] for e in services.store.events(delivery_id)]


def test_transient_failures_retry_until_delivered(settings_for: Any) -> None:
    services = setup(settings_for, fail_first_attempts=2)
    ((delivery, channel),) = accept(services)
    assert run_delivery(services, delivery, channel) == "retrying"
    assert run_due(services) == ["retrying"]
    assert run_due(services) == ["delivered"]
    assert outcomes(services, delivery) == ["retry", "retry", "delivered"]


def test_attempts_run_out_and_the_delivery_is_dead(settings_for: Any) -> None:
    services = setup(settings_for, fail_first_attempts=99)
    ((delivery, channel),) = accept(services)
    run_delivery(services, delivery, channel)
    run_due(services)
    assert run_due(services) == ["dead"]
    assert run_due(services) == []
    assert services.store.counts() == {"memory": {"dead": 1}}
    assert services.deliveries.retry_now(delivery, "operator:alice", services.clock())
    assert services.store.counts() == {"memory": {"queued": 1}}


def test_permanent_errors_are_dead_at_once(settings_for: Any) -> None:
    services = setup(settings_for, fail_permanently=True)
    ((delivery, channel),) = accept(services)
    assert run_delivery(services, delivery, channel) == "dead"
    status = services.store.item_status("test", "t-1")["deliveries"][0]
    assert status["last_error_class"] == "PermanentError"
    assert "refuse" in status["last_error"]


def test_a_delivered_delivery_is_not_sent_again(settings_for: Any) -> None:
    services = setup(settings_for)
    ((delivery, channel),) = accept(services)
    assert run_delivery(services, delivery, channel) == "delivered"
    assert run_delivery(services, delivery, channel) == "not-claimed"
    assert outcomes(services, delivery) == ["delivered"]


def test_a_newer_revision_supersedes_a_waiting_one_and_updates(settings_for: Any) -> None:
    services = setup(settings_for)
    ((first, channel),) = accept(services, revision=1)
    assert run_delivery(services, first, channel) == "delivered"
    ((second, _),) = accept(services, revision=2, summary="第二版")
    ((third, _),) = accept(services, revision=3, summary="第三版")
    # the second is superseded while waiting; its message, a wake-up, takes the third
    assert run_delivery(services, second, channel) == "batch of 1"
    assert run_delivery(services, third, channel) == "not-claimed"
    states = {d["revision"]: d["state"] for d in services.store.item_status("test", "t-1")["deliveries"]}
    assert states == {1: "delivered", 2: "skipped", 3: "delivered"}
    records = services.channel("memory").records()  # type: ignore[attr-defined]
    assert [(r["action"], r["item"]["revision"]) for r in records] == [("publish", 1), ("update", 3)]


def test_retraction_withdraws_what_was_published_and_cancels_what_waits(settings_for: Any) -> None:
    services = setup(settings_for)
    ((published, channel),) = accept(services, 1)
    run_delivery(services, published, channel)
    accept(services, 2)  # never sent
    ((retraction, _),) = services.store.retract("test", "t-1", "内容有误")
    assert services.store.retract("test", "t-2", "重复发布") == []
    assert run_delivery(services, retraction, channel) == "delivered"
    assert services.store.item_status("test", "t-2")["deliveries"][0]["state"] == "retracted"
    actions = [r["action"] for r in services.channel("memory").records()]  # type: ignore[attr-defined]
    assert sorted(actions) == ["publish", "retract"]
    assert services.store.retract("test", "t-1", "again") == []


class Recorder:
    """A dispatcher whose queue depth the test sets; records what the sweeper sends."""

    def __init__(self, depth: int | None) -> None:
        self.queued, self.sent = depth, []  # type: list[tuple[int, str]]

    def depth(self, channel: str) -> int | None:
        return self.queued

    def send(self, work: list[tuple[int, str]]) -> None:
        self.sent += work


def test_the_sweeper_resends_waiting_rows_only_when_messages_were_lost(settings_for: Any) -> None:
    from pipeline.sweeper import sweep_once

    services = setup(settings_for)
    work = accept(services, 1) + accept(services, 2)
    services.deliveries.mark_queued([d for d, _ in work], services.clock())
    later = services.clock() + timedelta(hours=1)
    services.clock = lambda: later
    backlog = Recorder(depth=1)  # a message still waits: it wakes a batch of both, no duplicates
    assert sweep_once(services, backlog) == 0 and backlog.sent == []
    flushed = Recorder(depth=0)  # the broker lost them: send again
    assert sweep_once(services, flushed) == 2
    assert sorted(flushed.sent) == sorted(work)


def test_a_backlogged_channel_never_starves_another_channels_retries(settings_for: Any) -> None:
    from pipeline.sweeper import sweep_once

    channels = {"backed": ChannelConfig(kind="memory"), "other": ChannelConfig(kind="memory")}
    services = build_services(settings_for(channels=channels))
    upgrade(services.engine)
    register_agencies(services.engine, {TEST_AGENCY: TEST_AGENCY_NAME})

    def submit(n: int, channel: str) -> list[tuple[int, str]]:
        item = ItemIn.model_validate({**make_item(n), "source": "test"})
        return services.store.accept(item, {channel: True}).work

    for n in range(1, 6):
        submit(n, "backed")  # five messages waiting behind a backlog, the oldest rows
    [(retry, _)] = submit(6, "other")
    now = services.clock()
    claim = services.deliveries.claim(retry, "w", now, 60)
    assert claim is not None
    services.deliveries.failed(claim, "w", now, RuntimeError("refused"), retry_at=now + timedelta(minutes=1))
    later = now + timedelta(hours=1)
    services.clock = lambda: later
    backlog = Recorder(depth=99)
    assert sweep_once(services, backlog, limit=3) == 1
    assert backlog.sent == [(retry, "other")]
