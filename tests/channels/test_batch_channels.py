"""Batch-taking channels (``max_batch > 1``) beyond the batch contract: one entry's
error fails only that entry, and an item met twice in a batch is handled in order."""

from __future__ import annotations

from collections.abc import Iterator
from itertools import count
from pathlib import Path

import pytest

from channels.kit.batches import runs
from channels.testing import accept_item, installation
from pipeline.channel import BatchEntry, Channel, DeliveryContext
from pipeline.errors import PermanentError
from pipeline.model import Published
from pipeline.services import Services

ids = count(1)
KINDS = {
    "feed": {"kind": "feed", "options": {}},
    "website": {"kind": "website", "options": {}},
}


@pytest.fixture(params=sorted(KINDS))
def channel(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[Services, Channel]]:
    with installation(tmp_path, {request.param: KINDS[request.param]}) as services:
        yield services, services.channel(request.param)


def entry(services: Services, item: Published, action: str = "publish", **more: object) -> BatchEntry:
    ctx = DeliveryContext(next(ids), 1, "x", services.clock(), load_blob=services.store.blob)
    return BatchEntry(item=item, ctx=ctx, action=action, **more)  # type: ignore[arg-type]


def test_runs_cut_where_an_item_comes_back(tmp_path: Path) -> None:
    with installation(tmp_path, {}) as services:
        a, b = accept_item(services, 1), accept_item(services, 2)
        batch = [entry(services, a), entry(services, b), entry(services, a, "retract"), entry(services, b)]
    assert [list(run) for run in runs(batch)] == [batch[:2], batch[2:]]


def test_an_entry_that_cannot_be_shown_fails_alone(channel: tuple[Services, Channel]) -> None:
    services, chan = channel
    assert chan.max_batch > 1
    good = accept_item(services, 1)
    unknown = good.model_copy(update={"index_no": good.index_no[:-5] + "99999", "id": "t-none"})
    batch = [entry(services, unknown), entry(services, good)]
    answers = chan.publish_batch(batch)
    assert isinstance(answers[batch[0].ctx.delivery_id], PermanentError)
    ref = answers[batch[1].ctx.delivery_id]
    assert isinstance(ref, dict) and ref


def test_a_publication_and_its_retraction_in_one_batch(
    channel: tuple[Services, Channel],
) -> None:
    services, chan = channel
    item = accept_item(services, 1)
    first = entry(services, item)
    answers = chan.publish_batch([first])
    services.store.retract(item.source, item.id, "内容有误")
    batch = [entry(services, item), entry(services, item, "retract", previous=answers[first.ctx.delivery_id])]
    answers = chan.publish_batch(batch)
    assert all(not isinstance(a, Exception) for a in answers.values()), answers
    retraction = answers[batch[1].ctx.delivery_id]
    assert isinstance(retraction, dict) and retraction
