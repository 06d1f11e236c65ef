"""The contract of a channel that takes batches (``max_batch > 1``), as a reusable suite.

Subclass :class:`BatchContract` and provide an ``installed`` fixture: a callable that
takes a folder name and returns a context manager of a :class:`ContractSetup` whose
``state`` reads everything the channel's destination holds. Two installations, both on
one fixed clock, go through the same history, one by batches and one item at a time;
they must answer the same and hold the same bytes. Deliveries are real rows, claimed and
recorded through :class:`~pipeline.deliveries.Deliveries` as the runner does, so a
channel that reads the database sees what it would see in production.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from datetime import UTC, datetime
from typing import Any

import pytest

from channels.testing.contract import ContractSetup
from channels.testing.items import accept_item
from pipeline.channel import BatchEntry, Channel, DeliveryContext, Ref
from pipeline.deliveries import Claim
from pipeline.model import Published

WORKER = "contract-batch"
FIXED = datetime(2026, 3, 3, 2, 0, tzinfo=UTC)
Answer = Ref | Exception | None
Progress = dict[int, dict[str, Any]]  # what each delivery checkpointed, by id
Installed = Callable[[str], AbstractContextManager[ContractSetup]]


def _entry(
    setup: ContractSetup, claim: Claim, attempt: int, progress: dict[int, dict[str, Any]]
) -> BatchEntry:
    def save(values: dict[str, Any]) -> None:
        progress[claim.id] = dict(values)
        setup.services.deliveries.checkpoint(claim, values, setup.services.clock())

    ctx = DeliveryContext(
        delivery_id=claim.id,
        attempt=attempt,
        channel=claim.channel,
        now=setup.services.clock(),
        progress=dict(progress.get(claim.id, claim.progress)),
        checkpoint_to=save,
        load_blob=setup.services.store.blob,
    )
    return BatchEntry(
        item=claim.item, ctx=ctx, action=claim.action, previous=claim.previous, reason=claim.reason
    )


def one_by_one(channel: Channel, entries: list[BatchEntry]) -> dict[int, Answer]:
    """The per-item calls the runner makes for a channel of ``max_batch = 1``."""
    answers: dict[int, Answer] = {}
    for e in entries:
        try:
            if e.action == "retract":
                answers[e.ctx.delivery_id] = channel.retract(e.item, e.previous, e.reason, e.ctx)
            elif e.previous is not None:
                answers[e.ctx.delivery_id] = channel.update(e.item, e.previous, e.ctx)
            else:
                answers[e.ctx.delivery_id] = channel.publish(e.item, e.ctx)
        except Exception as exc:
            answers[e.ctx.delivery_id] = exc
    return answers


def drain(setup: ContractSetup, batched: bool, redeliver: bool = False) -> dict[tuple[str, str, int], Answer]:
    """Claim every due delivery of the channel, hand them over in one batch (or one by
    one), record the outcomes; ``redeliver``: hand the same batch over twice first, as
    after a worker that died before recording. Answers by (索引号, action, revision)."""
    services, channel = setup.services, setup.channel
    now = services.clock()
    due = services.deliveries.due_for_channel(channel.name, now)
    claims = [c for c in (services.deliveries.claim(i, WORKER, now, 600) for i in due) if c is not None]
    progress: Progress = {}

    def call(attempt: int) -> dict[int, Answer]:
        entries = [_entry(setup, c, attempt, progress) for c in claims]
        return channel.publish_batch(entries) if batched else one_by_one(channel, entries)

    assert claims, "nothing was due"
    answers = call(1)
    if redeliver:
        before = setup.state()
        again = call(2)
        assert again == answers, "a redelivered batch must answer the same"
        assert setup.state() == before, "a redelivered batch must change nothing"
    for claim in claims:
        answer = answers[claim.id]
        assert not isinstance(answer, Exception), f"{claim.item.index_no} {claim.action}: {answer!r}"
        services.deliveries.succeeded(claim, WORKER, now, answer)
    return {(c.item.index_no, c.action, c.revision): answers[c.id] for c in claims}


class BatchContract:
    """Tests every channel with ``max_batch > 1`` passes; subclass and provide ``installed``."""

    @pytest.fixture
    def installed(self) -> Installed:
        raise NotImplementedError("provide an `installed` fixture: folder name → ContractSetup")

    def history(self, setup: ContractSetup, batched: bool) -> list[dict[tuple[str, str, int], Answer]]:
        """Three new items in one batch; then a new item, a revision, a retraction and
        a publication retracted before it went out, in one batch (handed over twice)."""
        services = setup.services
        services.clock = lambda: FIXED

        def item(n: int, **changes: Any) -> Published:
            return accept_item(services, n, wanted={setup.channel.name: True}, now=FIXED, **changes)

        def retracted(item: Published, reason: str) -> None:
            services.store.retract(item.source, item.id, reason, now=FIXED)

        first = [item(n) for n in (1, 2, 3)]
        rounds = [drain(setup, batched)]
        item(4)
        item(2, revision=2, title=first[1].title + "（修订）")
        retracted(first[2], "内容有误")
        retracted(item(5), "不再公开")
        rounds.append(drain(setup, batched, redeliver=batched))
        assert len(rounds[0]) == 3 and {action for _, action, _ in rounds[1]} == {"publish", "retract"}
        return rounds

    def test_batches_answer_and_hold_what_one_by_one_does(self, installed: Installed) -> None:
        with installed("batched") as batched, installed("one-by-one") as single:
            assert batched.channel.max_batch > 1
            for step_batched, step_single in zip(
                self.history(batched, True), self.history(single, False), strict=True
            ):
                assert step_batched == step_single
            assert batched.state() == single.state()
            for n, live in ((1, 1), (2, 1), (3, 0), (4, 1), (5, 0)):
                item = Published.model_validate(
                    batched.services.store.item_status("contract", f"t-{n}")["item"]
                )
                assert batched.copies(item) in (live, None), f"item {n}"
