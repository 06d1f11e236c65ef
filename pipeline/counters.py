"""Counts kept as deliveries change, so the report and the overview read a few hundred
rows where a scan of the log reads a year of deliveries.

They move in the transaction of the change that moves them: :mod:`pipeline.deliveries`
(and the intake, for the rows it makes already settled) hands :func:`record` the rows
it changed, as :class:`Change` values (a list: one statement writes a whole batch). At
any committed moment they are what a scan of the log finds; ``govpub report recount``
checks it and rewrites them (:mod:`pipeline.recount`, which also fills them at the
migration). Rows are per local day in :data:`ZONE` (2017-12-31T20:00Z is 2018-01-01),
per agency, per ``measure``:

- ``reached`` (name: the channel, detail: its kind): items whose first publish delivery
  that reached that channel falls on the day (the report's per-channel counts);
- ``kind`` (the kind) and ``role`` (the report role of the kind; detail: :func:`roles_seal`
  of the plug-ins' roles it was counted with): the same, first to any channel of that
  kind or role (the platform summary; the report's totals);
- ``state`` (the channel, a :data:`SETTLED` state): deliveries accepted that day that
  are now in that state (the overview; in-flight states are few and read live);
- ``event`` (the channel, the outcome): attempts and actions logged that day.

A change of the first reached delivery (reached, or no longer: ``in_doubt``, ``dead``, an
operator's confirmation) moves the item's count from one day to another. The item rows
of such changes are locked first (PostgreSQL), so two workers delivering one item to two
channels of a role at once cannot both count it as that role's first.
"""

from __future__ import annotations

import hashlib
import random
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, and_, select

from pipeline import db, registry
from pipeline.plugin import ReportRole
from pipeline.states import REACHED_STATES
from pipeline.states import DeliveryState as S

ZONE_NAME = "Asia/Shanghai"
ZONE = ZoneInfo(ZONE_NAME)
C, D = db.counters, db.deliveries
# Deliveries in these states stay there until someone acts: counted. The others (pending,
# queued, sending, retrying, waiting) are in flight, few at any time, and read live.
SETTLED = (S.DELIVERED, S.UNCONFIRMED, S.IN_DOUBT, S.DEAD, S.SKIPPED, S.RETRACTED, S.HELD)
SLOTS = 8  # rows per counter on PostgreSQL, so concurrent writers seldom wait for each other
KEY = ("measure", "day", "agency_code", "name", "detail")
# What :func:`record` needs of a changed row (an ``UPDATE … RETURNING`` of these columns).
COLUMNS = (
    D.c.id,
    D.c.item_pk,
    D.c.agency_code,
    D.c.channel,
    D.c.kind,
    D.c.action,
    D.c.created_at,
    D.c.state,
    D.c.delivered_at,
)
Key = tuple[str, date, str, str, str]


def local_day(at: datetime) -> date:
    return at.astimezone(ZONE).date()


def shown(state: str, delivered_at: datetime | None) -> str:
    """The state as counted: a reached delivery whose result a worker is asking for right
    now (``sending`` with its ``delivered_at`` kept) is still ``unconfirmed``."""
    return S.UNCONFIRMED if state == S.SENDING and delivered_at is not None else state


def reached_at(action: str, state: str, delivered_at: datetime | None) -> datetime | None:
    """When a publish delivery reached its channel, if it counts as reached now (the
    report's rule: ``delivered``, ``unconfirmed``, or ``sending`` with ``delivered_at`` kept)."""
    counted = action == "publish" and (state in REACHED_STATES or state == S.SENDING)
    return delivered_at if counted else None


def reached(table: Any) -> Any:
    """SQL for :func:`reached_at` being set."""
    return and_(
        table.c.action == "publish",
        table.c.state.in_((*REACHED_STATES, S.SENDING)),
        table.c.delivered_at.is_not(None),
    )


def role_of(kind: str) -> str:
    plugin = registry.plugins().get(kind)
    return (plugin.report_role if plugin is not None else ReportRole.OTHER).value


def roles_seal() -> str:
    """A short digest of which kind plays which role, as the installed plug-ins say: the
    ``role`` counters carry it, so a report made with other plug-ins installed sees that
    they were counted by other roles (it then counts from the log; ``recount --fix``)."""
    pairs = sorted((kind, p.report_role.value) for kind, p in registry.plugins().items())
    return hashlib.sha256(repr(pairs).encode()).hexdigest()[:12]


@dataclass(frozen=True)
class Change:
    """One delivery row as a transition left it, with its state before; ``outcome`` is
    the event logged with it (at ``at``), if any."""

    id: int
    item_pk: int
    agency_code: str
    channel: str
    kind: str
    action: str
    created_at: datetime
    state: str
    delivered_at: datetime | None
    state_before: str
    delivered_before: datetime | None
    outcome: str | None = None
    at: datetime | None = None

    @classmethod
    def of(
        cls,
        row: Any,
        state_before: str,
        delivered_before: datetime | None,
        outcome: str | None = None,
        at: datetime | None = None,
    ) -> Change:
        """From a row of :data:`COLUMNS` (after the change) and what it was before."""
        return cls(
            row.id,
            row.item_pk,
            row.agency_code,
            row.channel,
            row.kind,
            row.action,
            row.created_at,
            row.state,
            row.delivered_at,
            state_before,
            delivered_before,
            outcome,
            at,
        )

    @classmethod
    def new(cls, row: Any) -> Change:
        """A row just made (nothing before it)."""
        return cls.of(row, S.PENDING, None)

    @property
    def reached_before(self) -> datetime | None:
        return reached_at(self.action, self.state_before, self.delivered_before)

    @property
    def reached_after(self) -> datetime | None:
        return reached_at(self.action, self.state, self.delivered_at)


def record(conn: Connection, changes: Iterable[Change]) -> None:
    """Move the counters by what ``changes`` (rows already written in ``conn``'s
    transaction) changed; one upsert for all of them."""
    deltas: Counter[Key] = Counter()
    moved: list[Change] = []
    for change in changes:
        _count_states(deltas, change)
        if change.outcome is not None and change.at is not None:
            deltas["event", local_day(change.at), change.agency_code, change.channel, change.outcome] += 1
        if change.reached_before != change.reached_after:
            moved.append(change)
    if moved:
        _count_firsts(conn, moved, deltas)
    write(conn, deltas)


def _count_states(deltas: Counter[Key], change: Change) -> None:
    before = shown(change.state_before, change.delivered_before)
    after = shown(change.state, change.delivered_at)
    if before == after:
        return
    day = local_day(change.created_at)
    if before in SETTLED:
        deltas["state", day, change.agency_code, change.channel, before] -= 1
    if after in SETTLED:
        deltas["state", day, change.agency_code, change.channel, after] += 1


def _count_firsts(conn: Connection, moved: Sequence[Change], deltas: Counter[Key]) -> None:
    """The items' first reached deliveries per channel, kind and role, before and after
    the changes (after: the rows as they stand; before: the same with the changed rows
    as they were), and the days that moved."""
    items = sorted({c.item_pk for c in moved})
    # Serialise with any other transaction moving the same items' firsts: the next
    # statement, run once the lock is ours, sees what such a transaction committed.
    locked = select(db.items.c.pk).where(db.items.c.pk.in_(items)).order_by(db.items.c.pk)
    conn.execute(locked.with_for_update(key_share=True))  # in key order: no deadlock between batches
    rows = conn.execute(
        select(D.c.id, D.c.item_pk, D.c.agency_code, D.c.channel, D.c.kind, D.c.delivered_at).where(
            D.c.item_pk.in_(items), reached(D)
        )
    ).all()
    changed = {c.id for c in moved}
    now = [(r.item_pk, r.agency_code, r.channel, r.kind, r.delivered_at) for r in rows]
    then = [row for row, r in zip(now, rows, strict=True) if r.id not in changed]
    then += [
        (c.item_pk, c.agency_code, c.channel, c.kind, c.reached_before) for c in moved if c.reached_before
    ]
    before, after = _firsts(then), _firsts(now)
    for key in before.keys() | after.keys():
        was, is_ = before.get(key), after.get(key)
        if was is not None and (is_ is None or local_day(was[1]) != local_day(is_[1])):
            deltas[(key[1], local_day(was[1]), was[0], key[2], key[3])] -= 1
        if is_ is not None and (was is None or local_day(was[1]) != local_day(is_[1])):
            deltas[(key[1], local_day(is_[1]), is_[0], key[2], key[3])] += 1


Reached = tuple[int, str, str, str, datetime | None]


def _firsts(rows: Iterable[Reached]) -> dict[tuple[int, str, str, str], tuple[str, datetime]]:
    """(item, measure, name, detail) → (agency, the first moment reached)."""
    firsts: dict[tuple[int, str, str, str], tuple[str, datetime]] = {}
    seal = roles_seal()
    for item, agency, channel, kind, at in rows:
        if at is None:
            continue
        for key in (
            (item, "reached", channel, kind),
            (item, "kind", kind, ""),
            (item, "role", role_of(kind), seal),
        ):
            known = firsts.get(key)
            if known is None or at < known[1]:
                firsts[key] = (agency, at)
    return firsts


def write(conn: Connection, deltas: Counter[Key] | dict[Key, int], slot: int | None = None) -> None:
    """Add ``deltas`` to the counters: one ``INSERT … ON CONFLICT DO UPDATE SET n = n + …``,
    rows in key order (two writers lock shared rows in the same order)."""
    if slot is None:
        slot = random.randrange(SLOTS) if conn.dialect.name == "postgresql" else 0
    rows = [
        {**dict(zip(KEY, key, strict=True)), "slot": slot, "n": n} for key, n in sorted(deltas.items()) if n
    ]
    if not rows:
        return
    statement = db.upsert(conn, C).values(rows)
    conn.execute(
        statement.on_conflict_do_update(
            index_elements=[*KEY, "slot"], set_={"n": C.c.n + statement.excluded.n}
        )
    )
