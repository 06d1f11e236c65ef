"""The contract every channel must keep, as a reusable test suite.

Use it from a channel's test module by subclassing :class:`ChannelContract` and
providing a ``contract`` fixture that returns a :class:`ContractSetup`::

    from tests.channels.contract import ChannelContract, ContractSetup, accept_item

    class TestWeiboContract(ChannelContract):
        @pytest.fixture
        def contract(self, services, weibo_sandbox):
            channel = WeiboChannel("weibo", {"base_url": weibo_sandbox.url}, services)
            return ContractSetup(
                channel=channel,
                services=services,
                item=lambda n, **changes: accept_item(services, n, **changes),
                copies=lambda item: weibo_sandbox.count(item.index_no),
            )

``services`` is the conftest fixture (parametrised over SQLite and PostgreSQL);
items go through the real store (:func:`accept_item`), so channels that read the
database see what the pipeline would give them. ``copies(item)`` tells how many
live copies of an item the channel's destination holds: it is how the suite checks
that a second publish of the same delivery does not duplicate and that a
retraction removes it (None means the channel cannot observe that; the suite then
checks the references only). Batched channels (``batched=True``) are checked
through ``publish_batch`` by their own suites, not this one.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from itertools import count
from typing import Any

import pytest

from channels.base import Channel, DeliveryContext, Health
from pipeline.model import ItemIn, Published
from pipeline.services import Services
from tests.helpers import make_item

_delivery_ids = count(9_000_001)


def accept_item(services: Services, n: int | str, **changes: Any) -> Published:
    """An item stored by the real store (source ``contract``), as a channel receives it."""
    raw = make_item(n, source="contract", **changes)
    accepted = services.store.accept(ItemIn.model_validate(raw), {})
    status = services.store.item_status("contract", raw["id"])
    assert status["item"]["index_no"] == accepted.index_no
    return Published.model_validate(status["item"])


@dataclass
class ContractSetup:
    channel: Channel
    services: Services
    item: Callable[..., Published]
    copies: Callable[[Published], int | None]
    saved: dict[int, dict[str, Any]] = field(default_factory=dict)

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
        ref = contract.channel.publish(item, contract.ctx())
        assert isinstance(ref, dict) and ref, "publish must answer a non-empty reference"
        assert contract.copies(item) in (1, None)

    def test_publishing_the_same_delivery_again_does_not_duplicate(self, contract: ContractSetup) -> None:
        item = contract.item(2)
        ctx = contract.ctx()
        first = contract.channel.publish(item, ctx)
        again = contract.channel.publish(item, contract.ctx(ctx.delivery_id, attempt=2))
        assert again == first, "a redelivered task must answer the same reference"
        assert contract.copies(item) in (1, None)

    def test_update_after_publish(self, contract: ContractSetup) -> None:
        item = contract.item(3)
        ref = contract.channel.publish(item, contract.ctx())
        newer = item.model_copy(update={"revision": item.revision + 1, "title": item.title + "（修订）"})
        updated = contract.channel.update(newer, ref, contract.ctx())
        assert isinstance(updated, dict) and updated
        assert contract.copies(newer) in (1, None)

    def test_retract_after_publish(self, contract: ContractSetup) -> None:
        item = contract.item(4)
        ref = contract.channel.publish(item, contract.ctx())
        contract.retracted(item, "内容有误")
        answer = contract.channel.retract(item, ref, "内容有误", contract.ctx())
        assert answer is None or isinstance(answer, dict)
        assert contract.copies(item) in (0, None)

    def test_retract_of_what_was_never_published(self, contract: ContractSetup) -> None:
        item = contract.item(5)
        contract.retracted(item, "不再公开")
        answer = contract.channel.retract(item, None, "不再公开", contract.ctx())
        assert answer is None or isinstance(answer, dict)
        assert contract.copies(item) in (0, None)

    def test_health(self, contract: ContractSetup) -> None:
        health = contract.channel.health()
        assert isinstance(health, Health)
        assert health.ok, health.detail
