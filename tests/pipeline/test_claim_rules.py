"""The fast claim (one UPDATE) and the slow claim (which says why) agree on every history.

Both are built from :mod:`pipeline.claim_rules`; hypothesis draws delivery tables (two
items, three revisions, two channels of which ``b`` depends on ``a``, publications and
retractions, every state, due or not, leases live, expired or none, delivered or not)
and, for one of their rows, runs each claim alone in a transaction that is rolled back:
whenever the fast claim takes a row, the slow one takes it the same way (same claim, same
table, same log), and the slow one only ever takes a row the fast one left when that row
was abandoned by a dead worker (the slow claim must close that worker's attempt).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from sqlalchemy import Connection, delete, insert, select
from sqlalchemy import event as sa_event

from pipeline import db
from pipeline.config import ChannelConfig
from pipeline.deliveries import Claim, Deliveries
from pipeline.model import ItemIn
from pipeline.schema import upgrade
from pipeline.services import Services, build_services
from pipeline.states import CLAIMABLE_STATES, DeliveryState
from tests.helpers import TEST_AGENCY, TEST_AGENCY_NAME, make_item, register_agencies

D, E = db.deliveries, db.delivery_events
CHANNELS = {"a": ChannelConfig(kind="memory"), "b": ChannelConfig(kind="memory", depends_on=["a"])}
KEYS = list(itertools.product((1, 2), (1, 2, 3), ("a", "b"), ("publish", "retract")))  # item 1 first


@dataclass(frozen=True)
class Row:
    key: tuple[int, int, str, str]  # (item, revision, channel, action)
    state: DeliveryState
    due: bool
    lease: str  # "none", "expired" or "live"
    delivered: bool
    claim_no: int


def rows(
    states: list[DeliveryState], keys: list[tuple[int, int, str, str]] = KEYS, due: bool | None = None
) -> st.SearchStrategy[Row]:
    return st.builds(
        Row,
        key=st.sampled_from(keys),
        state=st.sampled_from(states),
        due=st.booleans() if due is None else st.just(due),
        lease=st.sampled_from(["none", "expired", "live"]),
        delivered=st.booleans(),
        claim_no=st.integers(0, 2),
    )


# The row to claim, of item 1: any row, or one a claim may take (due, or abandoned),
# or such a publication on ``b``, which depends on ``a``.
ITEM_1 = KEYS[: len(KEYS) // 2]
MAY_TAKE = [*CLAIMABLE_STATES, DeliveryState.SENDING]
TARGETS = st.one_of(
    rows(list(DeliveryState), ITEM_1),
    rows(MAY_TAKE, ITEM_1, due=True),
    rows(MAY_TAKE, [k for k in ITEM_1 if k[2:] == ("b", "publish")], due=True),
)


@st.composite
def histories(draw: st.DrawFn) -> list[Row]:
    """A table of deliveries; the first is the one to claim. Each of its neighbours (same
    item, and same channel or same revision: those the rules are about) is there or not,
    in any state; a few rows anywhere (item 2 checks that another item never stands in
    the way)."""
    target = draw(TARGETS)
    item, revision, channel, _ = target.key
    near = [k for k in KEYS if k[0] == item and (k[1] == revision or k[2] == channel) and k != target.key]
    chosen = [k for k in near if draw(st.booleans())]
    others = [draw(rows(list(DeliveryState), [k])) for k in chosen]
    others += draw(st.lists(rows(list(DeliveryState)), max_size=3))
    unique = {r.key: r for r in reversed(others) if r.key != target.key}
    return [target, *unique.values()]


class Table:
    """Two items of three revisions each, stored once; each history replaces the rows."""

    def __init__(self, services: Services) -> None:
        self.services = services
        self.now = services.clock()
        self.revision_pks: dict[tuple[int, int], tuple[int, int]] = {}
        for n, revision in itertools.product((1, 2), (1, 2, 3)):
            item = ItemIn.model_validate({**make_item(n, revision=revision), "source": "test"})
            accepted = services.store.accept(item, {"a": True, "b": True}, self.now)
            with services.engine.connect() as conn:
                revision_pk = conn.execute(
                    select(db.revisions.c.pk).where(
                        db.revisions.c.item_pk == accepted.item_pk, db.revisions.c.revision == revision
                    )
                ).scalar_one()
            self.revision_pks[n, revision] = (accepted.item_pk, revision_pk)
        with services.engine.connect() as conn:
            self.base = dict(conn.execute(select(D).limit(1)).mappings().one())

    def replace(self, history: list[Row]) -> list[int]:
        """Store ``history`` as the whole deliveries table; returns the rows' ids."""
        with self.services.engine.begin() as conn:
            conn.execute(delete(E))
            conn.execute(delete(D))
            return [
                conn.execute(insert(D).values(self._values(r)).returning(D.c.id)).scalar_one()
                for r in history
            ]

    def rows(self) -> list[Any]:
        with self.services.engine.connect() as conn:
            return list(conn.execute(select(D).order_by(D.c.id)).all())

    def _values(self, row: Row) -> dict[str, Any]:
        n, revision, channel, action = row.key
        item_pk, revision_pk = self.revision_pks[n, revision]
        now, minute = self.now, timedelta(minutes=1)
        values = {k: v for k, v in self.base.items() if k != "id"}
        values.update(
            item_pk=item_pk,
            revision_pk=revision_pk,
            revision=revision,
            channel=channel,
            action=action,
            state=row.state,
            claim_no=row.claim_no,
            attempts=row.claim_no,
            next_attempt_at=now - minute if row.due else now + minute,
            lease_until={"none": None, "expired": now - minute, "live": now + minute}[row.lease],
            claimed_by="old-worker" if row.lease != "none" else None,
            delivered_at=now - 60 * minute if row.delivered else None,
            external_ref={"url": f"https://example.test/{n}/{revision}"} if row.delivered else None,
        )
        return values


Claimer = Callable[[Deliveries, Connection, int], Claim | None]


def run_alone(table: Table, deliveries: Deliveries, target: int, claimer: Claimer) -> tuple[Any, ...]:
    """The claim's answer and the table and log it leaves, rolled back afterwards."""
    with table.services.engine.connect() as conn:
        transaction = conn.begin()
        try:
            claim = claimer(deliveries, conn, target)
            after = conn.execute(select(D).order_by(D.c.id)).all()
            log = conn.execute(select(*(c for c in E.c if c.name != "id")).order_by(E.c.id)).all()
        finally:
            transaction.rollback()
    return claim, after, log


def fast(table: Table) -> Claimer:
    lease = table.now + timedelta(seconds=30)
    return lambda deliveries, conn, target: deliveries._claim_fast(conn, target, "w", table.now, lease)


def slow(table: Table) -> Claimer:
    lease = table.now + timedelta(seconds=30)
    return lambda deliveries, conn, target: deliveries._claim_slowly(conn, target, "w", table.now, lease)


@pytest.fixture
def table(settings_for: Any, db_url: str) -> Iterator[Table]:
    services = build_services(settings_for(database_url=db_url, channels=CHANNELS))
    upgrade(services.engine)
    register_agencies(services.engine, {TEST_AGENCY: TEST_AGENCY_NAME})
    yield Table(services)
    services.engine.dispose()


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(history=histories())
def test_the_fast_and_the_slow_claim_agree(table: Table, history: list[Row]) -> None:
    ids = table.replace(history)
    before = table.rows()
    target = ids[0]
    deliveries = table.services.deliveries
    fast_claim, fast_table, fast_log = run_alone(table, deliveries, target, fast(table))
    slow_claim, slow_table, slow_log = run_alone(table, deliveries, target, slow(table))
    if fast_claim is not None:
        event("fast claim")
        assert (slow_claim, slow_table, slow_log) == (fast_claim, fast_table, fast_log)
        return
    assert (fast_table, fast_log) == (before, [])  # a fast claim that takes nothing writes nothing
    if slow_claim is not None:
        event("abandoned, claimed slowly")
        assert history[0].state == DeliveryState.SENDING, "the fast claim should have taken it"
    else:
        event(f"not claimed, left {slow_table[0].state}")


def test_a_dependent_channel_is_claimed_in_one_statement_once_its_dependency_is_done(table: Table) -> None:
    now = table.now
    ids = table.replace(
        [
            Row((1, 1, "a", "publish"), DeliveryState.DELIVERED, True, "none", True, 1),
            Row((1, 1, "b", "publish"), DeliveryState.QUEUED, True, "none", False, 0),
        ]
    )
    statements: list[str] = []
    listener = lambda *args: statements.append(args[2])  # noqa: E731  (conn, cursor, statement, …)
    sa_event.listen(table.services.engine, "before_cursor_execute", listener)
    try:
        claim = table.services.deliveries.claim(ids[1], "w", now, 30)
    finally:
        sa_event.remove(table.services.engine, "before_cursor_execute", listener)
    assert claim is not None and claim.channel == "b"
    assert [s.split()[0] for s in statements if not s.startswith(("BEGIN", "PRAGMA"))] == ["UPDATE"]
