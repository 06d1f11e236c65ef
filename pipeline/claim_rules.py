"""When a delivery may be sent, and which goes first: written once, as SQL.

A delivery is *claimable* when it is due (a claimable state whose time has come) or
abandoned (``sending`` past its lease: its worker died). It must still wait while

- an earlier delivery of the same item and channel is being sent (an earlier revision;
  for a retraction, any publication): revision 3 never reaches a channel before 2;
- a channel it depends on has not finished the same revision (WeChat links to the
  website page, so it goes after the website);
- an item its revision interprets (政策解读 → the policy, :mod:`pipeline.interpretations`)
  is not out yet: on the same channel, or, when the policy does not go to that channel,
  on any channel; a retracted policy is never out;

and it is *superseded* (skipped) when a newer revision of the item is to be published
on the same channel, unless the channel already holds it (what went out stays counted).

Each rule is a query for the deliveries that stand in the way, over the row as a table
expression: the claim (:mod:`pipeline.deliveries`) asks all of them in its one
``UPDATE`` (``NOT EXISTS``), and when that takes nothing, asks them again as columns of
one ``SELECT`` to learn why, so the fast and the slow claim cannot disagree.
"""

from __future__ import annotations

from datetime import datetime
from functools import cache
from typing import Any

from sqlalchemy import ColumnElement, FromClause, Select, and_, false, or_, select

from pipeline import db
from pipeline.states import ACTIVE_STATES, CLAIMABLE_STATES, REACHED_STATES, DeliveryState

D = db.deliveries
# The moment the rules are asked at: a datetime, or a bound parameter of a statement
# built once and run at many moments (the claims of pipeline.deliveries).
When = datetime | ColumnElement[datetime]
SENDING = DeliveryState.SENDING
PUBLISH, RETRACT = "publish", "retract"


def due(row: FromClause, now: When) -> ColumnElement[bool]:
    """Waiting to be sent and its time has come."""
    return and_(row.c.state.in_(CLAIMABLE_STATES), row.c.next_attempt_at <= now)


def abandoned(row: FromClause, now: When) -> ColumnElement[bool]:
    """Claimed by a worker that stopped renewing its lease (it died)."""
    return and_(row.c.state == SENDING, row.c.lease_until < now)


def claimable(row: FromClause, now: When) -> ColumnElement[bool]:
    return or_(due(row, now), abandoned(row, now))


def _same_item_and_channel(row: FromClause, other: FromClause) -> ColumnElement[bool]:
    return and_(other.c.item_pk == row.c.item_pk, other.c.channel == row.c.channel, other.c.id != row.c.id)


def earlier_being_sent(row: FromClause) -> Select[Any]:
    """Ids of deliveries being sent that must finish before ``row`` goes."""
    other = D.alias("earlier")
    goes_before = or_(
        other.c.revision < row.c.revision, and_(row.c.action == RETRACT, other.c.action == PUBLISH)
    )
    return select(other.c.id).where(_same_item_and_channel(row, other), other.c.state == SENDING, goes_before)


def open_dependencies(row: FromClause, depends_on: dict[str, list[str]]) -> Select[Any]:
    """Channels ``row``'s channel depends on whose publication of the same revision is
    not finished (a retraction waits for no other channel)."""
    dep = D.alias("dependency")
    needs = [
        and_(row.c.channel == name, dep.c.channel.in_(deps)) for name, deps in depends_on.items() if deps
    ]
    return select(dep.c.channel).where(
        row.c.action == PUBLISH,
        dep.c.revision_pk == row.c.revision_pk,
        dep.c.action == PUBLISH,
        dep.c.state.in_((*ACTIVE_STATES, DeliveryState.HELD)),  # a held dependency holds its dependents
        or_(false(), *needs),
    )


def _out(delivery: FromClause) -> ColumnElement[bool]:
    """A publication the channel holds (as the report counts it reached)."""
    return and_(
        delivery.c.action == PUBLISH,
        delivery.c.state.in_((*REACHED_STATES, SENDING)),
        delivery.c.delivered_at.is_not(None),
    )


@cache  # built once per row expression: its six aliases cost more to make than the claim's round trip
def policies_not_out(row: FromClause) -> Select[Any]:
    """索引号 of the items ``row``'s revision interprets that are not out yet where it
    must follow them: on ``row``'s channel; where a policy has no publication for that
    channel (not requested, or skipped), on any channel. A retracted policy is never out,
    and a dead or held one is not out: the interpretation waits, saying why."""
    interprets, policy = db.interpretations, db.items.alias("policy")
    here, anywhere, wanted = D.alias("policy_here"), D.alias("policy_anywhere"), D.alias("policy_wanted")
    # correlated by hand: two levels down, the automatic correlation would not reach ``row``
    out_here = (
        select(here.c.id)
        .where(here.c.item_pk == interprets.c.policy_pk, here.c.channel == row.c.channel, _out(here))
        .correlate_except(here)
    )
    goes_here = (
        select(wanted.c.id)
        .where(
            wanted.c.item_pk == interprets.c.policy_pk,
            wanted.c.channel == row.c.channel,
            wanted.c.action == PUBLISH,
            wanted.c.state != DeliveryState.SKIPPED,
        )
        .correlate_except(wanted)
    )
    out_anywhere = (
        select(anywhere.c.id)
        .where(anywhere.c.item_pk == interprets.c.policy_pk, _out(anywhere))
        .correlate_except(anywhere)
    )
    out = and_(
        policy.c.retracted_at.is_(None),
        or_(out_here.exists(), and_(~goes_here.exists(), out_anywhere.exists())),
    )
    return select(policy.c.index_no).where(
        row.c.action == PUBLISH,
        interprets.c.revision_pk == row.c.revision_pk,
        policy.c.pk == interprets.c.policy_pk,
        ~out,
    )


def newer_revisions(row: FromClause) -> Select[Any]:
    """Newer revisions to be published on ``row``'s channel, which supersede it while the
    channel does not hold it yet."""
    newer = D.alias("newer")
    return select(newer.c.revision).where(
        _same_item_and_channel(row, newer),
        row.c.action == PUBLISH,
        row.c.delivered_at.is_(None),
        newer.c.action == PUBLISH,
        newer.c.revision > row.c.revision,
    )


class ClaimRules:
    """The rules for one configuration of channel dependencies."""

    def __init__(self, depends_on: dict[str, list[str]]) -> None:
        self.depends_on = depends_on

    def free_to_go(self, row: FromClause, now: When) -> ColumnElement[bool]:
        """Due, and nothing stands in its way: the one-statement claim's condition. An
        abandoned row never goes this way (the claim must close its worker's attempt)."""
        clear = [
            ~earlier_being_sent(row).exists(),
            ~newer_revisions(row).exists(),
            ~policies_not_out(row).exists(),
        ]
        dependent = [name for name, on in self.depends_on.items() if on]
        if dependent:  # only their rows pay for the dependency lookup
            ready = ~open_dependencies(row, self.depends_on).exists()
            clear.append(or_(row.c.channel.not_in(dependent), ready))
        return and_(due(row, now), *clear)

    def reasons(self, row: FromClause, now: When) -> list[Any]:
        """The same rules as labelled columns, for the slow claim to say why."""
        return [
            claimable(row, now).label("claimable"),
            _first(earlier_being_sent(row)).label("earlier_sending"),
            _first(open_dependencies(row, self.depends_on)).label("open_dependency"),
            _first(policies_not_out(row)).label("waiting_policy"),
            _first(newer_revisions(row), descending=True).label("superseded_by"),
        ]


def _first(query: Select[Any], descending: bool = False) -> Any:
    """The smallest (or largest) value ``query`` finds, as a scalar subquery."""
    (column,) = query.selected_columns
    return query.order_by(column.desc() if descending else column).limit(1).scalar_subquery()
