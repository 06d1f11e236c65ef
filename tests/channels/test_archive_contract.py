"""The per-item archive receiver keeps the channel contract (tests/channels/contract.py).

Adapted in one respect: an archive package records which deliveries it holds (a
foreign key to ``deliveries``), so this setup gives the channel real delivery rows,
made by the store as the pipeline makes them: ``item`` accepts the item for the
receiver, ``ctx`` hands out its newest delivery not handed out yet, ``retracted``
retracts it as the intake does (archives keep records, so the retraction gets a
delivery of its own), and the update test stores the new revision first.
Monthly and weekly receivers are batched: ``test_archive.py`` covers them through
``publish_batch`` and the runner.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from channels.archive.channel import ArchiveChannel
from channels.archive.verify import verify
from channels.base import DeliveryContext
from pipeline import db
from pipeline.model import ItemIn, Published
from pipeline.services import Services
from tests.channels.archive_support import receiver_options
from tests.channels.contract import ChannelContract, ContractSetup
from tests.helpers import make_item

RECEIVER = "library"


@dataclass
class ArchiveContractSetup(ContractSetup):
    handed_out: set[int] = field(default_factory=set)

    def ctx(self, delivery_id: int | None = None, attempt: int = 1) -> DeliveryContext:
        return super().ctx(delivery_id or self._next_delivery(), attempt)

    def _next_delivery(self) -> int:
        with self.services.engine.connect() as conn:
            ids = conn.execute(
                select(db.deliveries.c.id)
                .where(db.deliveries.c.channel == RECEIVER)
                .order_by(db.deliveries.c.id)
            ).scalars()
            fresh = [i for i in ids if i not in self.handed_out]
        self.handed_out.add(fresh[-1])
        return int(fresh[-1])

    def retracted(self, item: Published, reason: str) -> None:
        self.services.store.retract(item.source, item.id, reason, keep={RECEIVER})


def accept(services: Services, n: int | str, **changes: Any) -> Published:
    raw = make_item(n, source="contract", **changes)
    services.store.accept(ItemIn.model_validate(raw), {RECEIVER: True})
    return Published.model_validate(services.store.item_status("contract", raw["id"])["item"])


class TestPerItemArchiveContract(ChannelContract):
    @pytest.fixture
    def contract(self, services: Services, tmp_path: Path) -> ContractSetup:
        (tmp_path / "drop").mkdir()
        options = receiver_options(tmp_path / "drop", schedule="per-item")
        channel = ArchiveChannel(RECEIVER, options, services)
        # archives never remove anything: a retraction is a record, so copies are not observable
        return ArchiveContractSetup(
            channel, services, lambda n, **c: accept(services, n, **c), lambda item: None
        )

    def test_update_after_publish(self, contract: ContractSetup) -> None:
        item = contract.item(3)
        ref = contract.channel.publish(item, contract.ctx())
        newer = contract.item(3, revision=2, title=item.title + "（修订）")
        updated = contract.channel.update(newer, ref, contract.ctx())
        assert isinstance(updated, dict) and updated and updated != ref
        assert updated["package_id"].endswith("-r2")

    def test_every_package_verifies(self, contract: ContractSetup, tmp_path: Path) -> None:
        item = contract.item(6)
        contract.channel.publish(item, contract.ctx())
        contract.retracted(item, "内容有误")
        contract.channel.retract(item, None, "内容有误", contract.ctx())
        packages = sorted((tmp_path / "drop").iterdir())
        assert {p.name.rsplit("-", 1)[-1] for p in packages} == {"r1.tar", "retract.tar"}
        assert all(verify(p).ok for p in packages)
