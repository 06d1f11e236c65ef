"""The contract every channel keeps, as a reusable test suite.

Subclass :class:`ChannelContract` and provide a ``contract`` fixture returning a
:class:`ContractSetup` (see :mod:`channels.testing`). Items go through the real store
(:func:`~channels.testing.items.accept_item`), so channels that read the database see
what the pipeline would give them. ``copies(item)`` tells how many live copies of an
item the channel's destination holds: it is how the suite checks that a second
publish of the same delivery does not duplicate and that a retraction removes it
(None means the channel cannot observe that; the suite then checks the references
only). Batched channels (``batched=True``) are checked through ``publish_batch`` by
their own suites, not this one; a channel that takes several items per call
(``max_batch > 1``) also passes :class:`channels.testing.batches.BatchContract`.

A channel that confirms asynchronously raises ``AwaitingConfirmation`` and is asked
again later by the runner; :meth:`ContractSetup.settled` does the same for the suite.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from itertools import count
from typing import Any

import pytest

from pipeline.channel import Channel, DeliveryContext, Health, Ref
from pipeline.errors import AwaitingConfirmation, ConfigError
from pipeline.model import Published
from pipeline.services import Services

_delivery_ids = count(9_000_001)


@dataclass
class ContractSetup:
    channel: Channel
    services: Services
    item: Callable[..., Published]
    copies: Callable[[Published], int | None]
    saved: dict[int, dict[str, Any]] = field(default_factory=dict)
    confirm_within: float = 30.0  # seconds an asynchronous channel may take to confirm
    # everything the destination holds (e.g. its files' bytes), for the batch contract
    state: Callable[[], object] = lambda: None

    def ctx(self, delivery_id: int | None = None, attempt: int = 1) -> DeliveryContext:
        """A delivery attempt; another attempt of the same delivery sees what earlier
        ones checkpointed, as a redelivered task does."""
        delivery_id = delivery_id or next(_delivery_ids)

        def save(progress: dict[str, Any]) -> None:
            self.saved[delivery_id] = dict(progress)

        return DeliveryContext(
            delivery_id=delivery_id,
            attempt=attempt,
            channel=self.channel.name,
            now=self.services.clock(),
            progress=dict(self.saved.get(delivery_id, {})),
            checkpoint_to=save,
            load_blob=self.services.store.blob,
        )

    def settled(self, call: Callable[[DeliveryContext], Ref | None], ctx: DeliveryContext) -> Ref | None:
        """``call(ctx)``, asked again with the same delivery while the channel awaits
        confirmation, as the runner's re-polls do."""
        deadline = time.monotonic() + self.confirm_within
        attempt = ctx
        while True:
            try:
                return call(attempt)
            except AwaitingConfirmation:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
                attempt = self.ctx(ctx.delivery_id, attempt.attempt + 1)

    def publish(self, item: Published, ctx: DeliveryContext | None = None) -> Ref:
        ref = self.settled(lambda c: self.channel.publish(item, c), ctx or self.ctx())
        assert isinstance(ref, dict) and ref, "publish must answer a non-empty reference"
        return ref

    def retracted(self, item: Published, reason: str) -> None:
        """What the pipeline does before a retraction reaches the channel."""
        self.services.store.retract(item.source, item.id, reason)


class ChannelContract:
    """Tests every per-item channel passes; subclass and provide ``contract``."""

    @pytest.fixture
    def contract(self) -> ContractSetup:
        raise NotImplementedError("provide a `contract` fixture returning a ContractSetup")

    def test_publish_returns_a_reference(self, contract: ContractSetup) -> None:
        item = contract.item(1)
        contract.publish(item)
        assert contract.copies(item) in (1, None)

    def test_publishing_the_same_delivery_again_does_not_duplicate(self, contract: ContractSetup) -> None:
        item = contract.item(2)
        ctx = contract.ctx()
        first = contract.publish(item, ctx)
        again = contract.publish(item, contract.ctx(ctx.delivery_id, attempt=ctx.attempt + 1))
        assert again == first, "a redelivered task must answer the same reference"
        assert contract.copies(item) in (1, None)

    def test_update_after_publish(self, contract: ContractSetup) -> None:
        item = contract.item(3)
        ref = contract.publish(item)
        newer = item.model_copy(update={"revision": item.revision + 1, "title": item.title + "（修订）"})
        updated = contract.settled(lambda c: contract.channel.update(newer, ref, c), contract.ctx())
        assert isinstance(updated, dict) and updated
        assert contract.copies(newer) in (1, None)

    def test_retract_after_publish(self, contract: ContractSetup) -> None:
        item = contract.item(4)
        ref = contract.publish(item)
        contract.retracted(item, "内容有误")
        answer = contract.settled(
            lambda c: contract.channel.retract(item, ref, "内容有误", c), contract.ctx()
        )
        assert answer is None or isinstance(answer, dict)
        assert contract.copies(item) in (0, None)

    def test_retract_of_what_was_never_published(self, contract: ContractSetup) -> None:
        item = contract.item(5)
        contract.retracted(item, "不再公开")
        answer = contract.settled(
            lambda c: contract.channel.retract(item, None, "不再公开", c), contract.ctx()
        )
        assert answer is None or isinstance(answer, dict)
        assert contract.copies(item) in (0, None)

    def test_a_channel_taking_batches_passes_the_batch_contract(self, contract: ContractSetup) -> None:
        if contract.channel.max_batch > 1:
            suites = [c.__name__ for c in type(self).__mro__]
            assert "BatchContract" in suites, "max_batch > 1: add channels.testing.BatchContract to the suite"

    def test_health(self, contract: ContractSetup) -> None:
        health = contract.channel.health()
        assert isinstance(health, Health)
        assert health.ok, health.detail

    def test_check_options_accepts_the_options_it_runs_with(self, contract: ContractSetup) -> None:
        channel = contract.channel
        type(channel).check_options(channel.name, dict(channel.options))

    def test_check_options_refuses_an_unknown_option_naming_it(self, contract: ContractSetup) -> None:
        channel = contract.channel
        with pytest.raises(ConfigError) as refused:
            type(channel).check_options(channel.name, {**channel.options, "no_such_option": 1})
        assert refused.value.key.startswith(f"channels.{channel.name}.options")
        assert "no_such_option" in str(refused.value)
