"""Which delivery states the annual report counts, as a delivery moves through them.

The report counts an item in the year of its first delivery that *reached* its
channel (``delivered``, ``unconfirmed``, or ``sending`` again with its
``delivered_at`` kept while a worker asks for the result). These tests pin what the
log-scan report counts at each step of the state machine, so that anything counting
the same thing another way (issue 21's counters kept in the outcome's transaction)
has an exact reference: a delivery can leave the counted states again (``in_doubt``,
``dead``), an operator's confirmation counts it on the day of the confirmation, and an
operator's resubmission (the item is not there) counts it when the resend reaches it.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest

from pipeline.config import ChannelConfig
from pipeline.deliveries import Claim
from pipeline.errors import InDoubt, PermanentError
from pipeline.model import ItemIn
from pipeline.recount import differences
from pipeline.report import build_report
from pipeline.schema import upgrade
from pipeline.services import Services, build_services
from tests.helpers import TEST_AGENCY, TEST_AGENCY_NAME, make_item, register_agencies
from tests.pipeline.report_support import local

LEASE = 60.0


@pytest.fixture
def services(settings_for: Any, db_url: str) -> Any:
    built = build_services(
        settings_for(database_url=db_url, channels={"memory": ChannelConfig(kind="memory")})
    )
    upgrade(built.engine)
    register_agencies(built.engine, {TEST_AGENCY: TEST_AGENCY_NAME})
    yield built
    built.engine.dispose()


def accepted(services: Services, n: int, moment: datetime) -> int:
    item = ItemIn.model_validate({**make_item(n), "source": "test"})
    ((delivery, _),) = services.store.accept(item, {"memory": True}, now=moment).work
    return int(delivery)


def claimed(services: Services, delivery: int, moment: datetime) -> Claim:
    claim = services.deliveries.claim(delivery, "w", moment, LEASE)
    assert claim is not None
    return claim


def counted(services: Services, year: int) -> tuple[int, list[int]]:
    """(items of another channel, the memory channel's monthly counts) of ``year``, as the
    report reads them from the counters, which must equal a recount from the log."""
    with services.engine.connect() as conn:
        assert [str(d) for d in differences(conn)] == []
    counts = build_report(services.engine, services.settings, year).counts
    monthly = [c.monthly for c in counts.channels if c.channel == "memory"]
    return counts.totals.other, monthly[0] if monthly else [0] * 12


def june(count: int) -> list[int]:
    return [0] * 5 + [count] + [0] * 6


def test_sent_in_doubt_then_confirmed_counts_on_the_day_of_the_confirmation(services: Services) -> None:
    moment = local(2017, 6, 1, 9)
    delivery = accepted(services, 1, moment)
    store = services.deliveries
    first = claimed(services, delivery, moment)
    assert store.waiting(first, "w", moment, "sent", retry_at=moment + timedelta(hours=1), ref={"id": 1}) == (
        "unconfirmed"
    )
    assert counted(services, 2017) == (1, june(1))  # went out for good: counted from now
    again = claimed(services, delivery, moment + timedelta(hours=1))
    assert again.sent
    assert counted(services, 2017) == (1, june(1))  # asking for the result: still counted
    store.in_doubt(again, "w", moment + timedelta(hours=1), InDoubt("the answer was lost"))
    assert counted(services, 2017) == (0, [0] * 12)  # may be there: not counted
    assert store.confirm(delivery, "operator", {"id": 1}, "seen on the channel", local(2018, 1, 2, 10))
    assert counted(services, 2017) == (0, [0] * 12)
    assert counted(services, 2018) == (1, [1] + [0] * 11)  # counted when it was confirmed


def test_a_sent_delivery_the_channel_refuses_for_good_stops_counting(services: Services) -> None:
    moment = local(2017, 6, 1, 9)
    delivery = accepted(services, 2, moment)
    store = services.deliveries
    first = claimed(services, delivery, moment)
    store.waiting(first, "w", moment, "sent", retry_at=moment + timedelta(hours=1), ref={"id": 2})
    assert counted(services, 2017) == (1, june(1))
    again = claimed(services, delivery, moment + timedelta(hours=1))
    state = store.failed(again, "w", moment + timedelta(hours=1), PermanentError("refused"), retry_at=None)
    assert state == "dead"
    assert counted(services, 2017) == (0, [0] * 12)


def test_a_revision_delivered_after_a_dead_first_counts_on_its_own_day(services: Services) -> None:
    moment = local(2017, 6, 1, 9)
    store = services.deliveries
    first_delivery = accepted(services, 3, moment)
    first = claimed(services, first_delivery, moment)
    store.waiting(first, "w", moment, "sent", retry_at=moment + timedelta(hours=1), ref={"id": 3})
    again = claimed(services, first_delivery, moment + timedelta(hours=1))
    store.failed(again, "w", moment + timedelta(hours=1), PermanentError("refused"), retry_at=None)
    assert counted(services, 2017) == (0, [0] * 12)
    revision = make_item(3, revision=2, title="测试公开信息 3（修订）")
    later = local(2017, 9, 3, 9)
    ((revised, _),) = services.store.accept(
        ItemIn.model_validate({**revision, "source": "test"}), {"memory": True}, now=later
    ).work
    assert store.succeeded(claimed(services, int(revised), later), "w", later, {"id": 30})
    assert counted(services, 2017) == (1, [0] * 8 + [1] + [0] * 3)  # September, not June


def test_a_resubmitted_delivery_is_not_sent_and_counts_when_the_resend_reaches_the_channel(
    services: Services,
) -> None:
    moment = local(2017, 6, 1, 9)
    delivery = accepted(services, 4, moment)
    store = services.deliveries
    first = claimed(services, delivery, moment)
    store.waiting(first, "w", moment, "sent", retry_at=moment + timedelta(hours=1), ref={"id": 4})
    again = claimed(services, delivery, moment + timedelta(hours=1))
    store.in_doubt(again, "w", moment + timedelta(hours=1), InDoubt("the answer was lost"))
    later = local(2017, 9, 3, 9)
    assert store.resubmit(delivery, "operator", "not on the channel", later)
    resend = claimed(services, delivery, later)
    assert not resend.sent  # a transient error of the resend is a retry, not "sent for good"
    assert counted(services, 2017) == (0, [0] * 12)  # nothing holds it while it is resent
    assert store.succeeded(resend, "w", later, {"id": 40})
    assert counted(services, 2017) == (1, [0] * 8 + [1] + [0] * 3)  # September, not June
