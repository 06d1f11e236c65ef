"""Batched claims and outcomes (pipeline.deliveries.claim_batch / record, pipeline.runner),
on SQLite and PostgreSQL: the same rows and log as one delivery at a time."""

from __future__ import annotations

import threading
from datetime import timedelta
from typing import Any

from pipeline.batchsize import BatchSizes
from pipeline.config import ChannelConfig, Settings
from pipeline.deliveries import Claim, Outcome
from pipeline.errors import InDoubt, PermanentError, TransientError
from pipeline.model import ItemIn
from pipeline.runner import run_delivery
from pipeline.schema import upgrade
from pipeline.services import Services, build_services
from tests.helpers import TEST_AGENCY, TEST_AGENCY_NAME, make_item, register_agencies


def setup(settings: Settings, **channels: ChannelConfig) -> Services:
    services = build_services(settings.model_copy(update={"channels": channels or {"memory": memory()}}))
    upgrade(services.engine)
    register_agencies(services.engine, {TEST_AGENCY: TEST_AGENCY_NAME})
    return services


def memory(**options: Any) -> ChannelConfig:
    return ChannelConfig(kind="memory", options=options)


def accept(services: Services, n: int, **changes: Any) -> list[tuple[int, str]]:
    item = ItemIn.model_validate({**make_item(n, **changes), "source": "test"})
    wanted = dict.fromkeys(services.settings.channels, True)
    return services.store.accept(item, wanted).work


def claim(services: Services, size: int, hint: int = 0, channel: str = "memory") -> tuple[list[Claim], bool]:
    batch = services.deliveries.claim_batch(channel, hint, size, "w", services.clock(), 30)
    return batch.claims, batch.more


def test_a_batch_claims_up_to_n_and_says_whether_more_are_due(settings: Settings) -> None:
    services = setup(settings)
    ids = [d for n in range(1, 8) for d, _ in accept(services, n)]
    first, more = claim(services, 4, hint=ids[5])
    assert first[0].id == ids[5] and len(first) == 4 and more
    rest, more = claim(services, 4)
    assert len(rest) == 3 and not more  # drained
    assert sorted(c.id for c in first + rest) == sorted(ids)
    assert claim(services, 4) == ([], False)
    assert services.store.counts() == {"memory": {"sending": 7}}


def test_a_batch_of_one_looks_whether_anything_else_is_due(settings: Settings) -> None:
    services = setup(settings)
    (one, _), (two, _) = accept(services, 1) + accept(services, 2)
    taken, more = claim(services, 1, hint=one)
    assert [c.id for c in taken] == [one] and more
    taken, more = claim(services, 1, hint=two)
    assert [c.id for c in taken] == [two] and not more


def test_outcomes_of_every_kind_in_one_record_are_those_of_the_single_path(settings: Settings) -> None:
    services = setup(settings)
    work = [d for n in range(1, 7) for d, _ in accept(services, n)]
    claims, _ = claim(services, 6)
    by_id = {c.id: c for c in claims}
    now = services.clock()
    later = now + timedelta(minutes=5)
    outcomes = [
        Outcome.success(by_id[work[0]], {"url": "https://x/1"}),
        Outcome.success(by_id[work[1]], None),
        Outcome.failure(by_id[work[2]], TransientError("busy"), retry_at=later),
        Outcome.failure(by_id[work[3]], PermanentError("refused"), retry_at=None),
        Outcome.wait(by_id[work[4]], "sent, result to come", retry_at=later, ref={"id": "m5"}),
        Outcome.doubt(by_id[work[5]], InDoubt("timed out after sending")),
    ]
    assert services.deliveries.record(outcomes, "w", now) == set(work)
    statuses = [services.store.item_status("test", f"t-{n}") for n in range(1, 7)]
    rows = {d["id"]: d for status in statuses for d in status["deliveries"]}
    states = [rows[d]["state"] for d in work]
    assert states == ["delivered", "skipped", "retrying", "dead", "unconfirmed", "in_doubt"]
    assert rows[work[2]]["last_error"] == "busy" and rows[work[3]]["last_error_class"] == "PermanentError"
    assert rows[work[4]]["reason"] == "sent, result to come"
    events = [[e["outcome"] for e in services.store.events(d)] for d in work]
    assert events == [["delivered"], ["skipped"], ["retry"], ["dead"], ["sent"], ["in_doubt"]]
    # the wait gave its attempt back; the others counted theirs
    attempts = [rows[d]["attempts"] for d in work]
    assert attempts == [1, 1, 1, 1, 0, 1]
    # a second record of the same claims is fenced out: nothing written, nothing logged
    assert services.deliveries.record(outcomes, "w", now) == set()
    assert [len(services.store.events(d)) for d in work] == [1] * 6


def test_concurrent_batches_never_claim_a_delivery_twice(settings: Settings) -> None:
    services = setup(settings)
    ids = {d for n in range(1, 121) for d, _ in accept(services, n)}
    taken: list[int] = []
    lock = threading.Lock()

    def drain() -> None:
        while True:
            claims, _ = claim(services, 7)
            if not claims:
                return
            with lock:
                taken.extend(c.id for c in claims)

    threads = [threading.Thread(target=drain) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(taken) == sorted(ids)


def test_one_wake_up_delivers_a_backlog_and_wakes_others_while_it_is_deep(settings: Settings) -> None:
    services = setup(settings)
    services.batch_sizes = BatchSizes(budget=60)  # however slow this machine is now
    ids = [d for n in range(1, 41) for d, _ in accept(services, n)]
    services.dispatcher = woken = Recorder()
    results: list[str] = []
    while True:  # the wake-ups the runner asks for, run one after the other
        results.append(run_delivery(services, ids[0] if not results else 0, "memory"))
        if len(woken.sent) < len(results):
            break
    assert set(woken.sent) == {(0, "memory")}
    assert services.store.counts() == {"memory": {"delivered": 40}}
    assert results[0] == "delivered" and results[-1] != "not-claimed"
    assert len(results) < 10  # N doubled: 1, 2, 4, 8, 16, …
    assert services.batch_sizes.size("memory") == 1  # drained: back to one


class Recorder:
    """A dispatcher that keeps what it is sent."""

    def __init__(self) -> None:
        self.sent: list[tuple[int, str]] = []

    def send(self, work: list[tuple[int, str]]) -> None:
        self.sent += work

    def depth(self, channel: str) -> int | None:
        return len(self.sent)


def test_a_wake_up_defers_what_waits_for_another_channel(settings: Settings) -> None:
    services = setup(settings, site=memory(), follower=ChannelConfig(kind="memory", depends_on=["site"]))
    for n in range(1, 4):
        accept(services, n)
    assert run_delivery(services, 0, "follower") == "not-claimed"
    counts = services.store.counts()
    assert counts["follower"] == {"waiting": 3}  # each told why, due again soon
    assert run_delivery(services, 0, "site") != "not-claimed"


def test_batch_sizes_double_while_full_and_fall_back_to_one() -> None:
    sizes = BatchSizes(largest=8)
    seen = []
    for more in (True, True, True, True, False):
        seen.append(sizes.size("c"))
        sizes.saw("c", more)
    assert seen == [1, 2, 4, 8, 8] and sizes.size("c") == 1
    assert sizes.size("c", limited=True) == 1


def test_a_slow_channel_keeps_small_batches() -> None:
    sizes = BatchSizes(largest=50, budget=0.1)
    for _ in range(10):
        sizes.saw("fast", True)
        sizes.took("fast", 0.01 * sizes.size("fast"), sizes.size("fast"))
        sizes.saw("slow", True)
        sizes.took("slow", 0.5 * sizes.size("slow"), sizes.size("slow"))
    assert sizes.size("fast") == 10 and sizes.size("slow") == 1
