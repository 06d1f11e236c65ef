"""政策解读: items that interpret other items (the policies), and what follows from it.

An item names the items it interprets (``interprets``: source and id). Inspections fail
an agency when a policy and its interpretation are not linked both ways, and the rule is
同步公布: the interpretation never goes live before its policy. So:

- at intake, in the item's transaction, each reference is resolved to an item the source
  reaches (its agencies' items; another source's too), accepted before or earlier in the
  same batch, not retracted, not the item itself; anything else is 422
  ``interprets_unknown`` with the same sentence whether the item does not exist or is out
  of reach (no answer tells one from the other);
- the list is kept per revision (table ``interpretations``): a new revision may name other
  policies, and the claim rule (:func:`pipeline.claim_rules.policies_not_out`) reads the
  list of the revision it is about to send;
- channels link to the policies from the revision's document (``Published.interprets``:
  source, id, 索引号, title as accepted), and a policy's page lists its interpretations
  (:func:`interpretations_of`);
- when a policy reaches a channel, its interpretations waiting for it are woken
  (:func:`waiting_for`), so they go out at once, not one sweep later.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import ColumnElement, Connection, Engine, and_, func, insert, select, tuple_

from pipeline import db
from pipeline.errors import ValidationFailed
from pipeline.model import ByIndexNo, InterpretedItem, ItemIn
from pipeline.states import REACHED_STATES, DeliveryState
from pipeline.tenancy import source_reach

INTERP, ITEMS, R, D = db.interpretations, db.items, db.revisions, db.deliveries
WAITING_REASON = "等待所解读的政策发布"


class UnknownInterpreted(ValidationFailed):
    code = "interprets_unknown"


def resolve(conn: Connection, item: ItemIn, item_pk: int | None) -> list[tuple[int, InterpretedItem]]:
    """The items ``item`` interprets as ``(pk, what its document keeps)``, or
    :class:`UnknownInterpreted` listing every reference that is not an item the source
    reaches (the same words for one that does not exist), a retracted one, or the item
    itself. Called inside the intake's transaction: an item earlier in the same batch is
    found."""
    if not item.interprets:
        return []
    keys = [(ref.source or item.source, ref.id) for ref in item.interprets]
    reach = source_reach(conn, item.source)
    rows = conn.execute(
        select(ITEMS.c.pk, ITEMS.c.source, ITEMS.c.item_id, ITEMS.c.index_no, ITEMS.c.retracted_at, R.c.title)
        .join(R, and_(R.c.item_pk == ITEMS.c.pk, R.c.revision == ITEMS.c.latest_revision))
        .where(tuple_(ITEMS.c.source, ITEMS.c.item_id).in_(keys), reach.items_where())
    ).all()
    found = {(r.source, r.item_id): r for r in rows}
    problems, resolved, seen = [], [], set()
    for n, key in enumerate(keys):
        row = found.get(key)
        where = f"interprets[{n}]: {key[0]}/{key[1]}"
        if key == (item.source, item.id) or (row is not None and row.pk == item_pk):
            problems.append(f"{where} is this item: an item cannot interpret itself")
        elif row is None:
            problems.append(f"{where} is no item of an agency this source submits for")
        elif row.retracted_at is not None:
            problems.append(f"{where} was retracted: an interpretation of it could never go live")
        elif key in seen:
            problems.append(f"{where} is listed twice")
        else:
            seen.add(key)
            resolved.append(
                (row.pk, InterpretedItem(source=key[0], id=key[1], index_no=row.index_no, title=row.title))
            )
    if problems:
        raise UnknownInterpreted("interprets names items that cannot be interpreted", problems)
    return resolved


def record(conn: Connection, item_pk: int, revision_pk: int, policies: list[int]) -> None:
    """The revision's list, in its transaction."""
    if policies:
        rows = [{"revision_pk": revision_pk, "policy_pk": p, "interpretation_pk": item_pk} for p in policies]
        conn.execute(insert(INTERP), rows)


@dataclass(frozen=True)
class Interpretation(ByIndexNo):
    """An interpretation as a policy's page lists it."""

    item_pk: int
    index_no: str
    title: str


ON_CHANNEL = (*REACHED_STATES, DeliveryState.SENDING)  # out there, or going out right now


def interpretations_of(engine: Engine, policy_pk: int, channel: str) -> list[Interpretation]:
    """The items that interpret the policy on ``channel``: not retracted, and the newest
    of their revisions that is on the channel or being sent to it names the policy (a
    revision being sent counts: its page is written before its delivery is recorded, and
    the policy's page must already list it). Oldest first."""
    d = D.alias("d")
    newer = D.alias("newer")
    on_channel = and_(d.c.channel == channel, d.c.action == "publish", d.c.state.in_(ON_CHANNEL))
    newest = (
        select(func.max(newer.c.revision))
        .where(
            newer.c.item_pk == d.c.item_pk,
            newer.c.channel == channel,
            newer.c.action == "publish",
            newer.c.state.in_(ON_CHANNEL),
        )
        .scalar_subquery()
    )
    query = (
        select(ITEMS.c.pk, ITEMS.c.index_no, R.c.title)
        .select_from(INTERP)
        .join(d, and_(d.c.revision_pk == INTERP.c.revision_pk, on_channel))
        .join(ITEMS, ITEMS.c.pk == INTERP.c.interpretation_pk)
        .join(R, R.c.pk == INTERP.c.revision_pk)
        .where(INTERP.c.policy_pk == policy_pk, ITEMS.c.retracted_at.is_(None), d.c.revision == newest)
        .order_by(ITEMS.c.pk)
    )
    with engine.connect() as conn:
        rows = conn.execute(query).all()
    seen: dict[int, Interpretation] = {}
    for row in rows:
        seen[row.pk] = Interpretation(row.pk, row.index_no, row.title)
    return list(seen.values())


def policies_of(engine: Engine, item_pk: int) -> list[tuple[int, str]]:
    """Every item any revision of ``item_pk`` interprets (whose pages may list it), as
    ``(pk, 索引号)``."""
    query = (
        select(ITEMS.c.pk, ITEMS.c.index_no)
        .where(ITEMS.c.pk.in_(select(INTERP.c.policy_pk).where(INTERP.c.interpretation_pk == item_pk)))
        .order_by(ITEMS.c.pk)
    )
    with engine.connect() as conn:
        return [(row.pk, row.index_no) for row in conn.execute(query)]


def waiting_for(policy_pk: int) -> ColumnElement[bool]:
    """The deliveries that wait for the policy: publications of revisions that interpret
    it, in ``waiting`` (where the claim rule put them)."""
    revisions = select(INTERP.c.revision_pk).where(INTERP.c.policy_pk == policy_pk)
    return and_(D.c.revision_pk.in_(revisions), D.c.action == "publish", D.c.state == DeliveryState.WAITING)
