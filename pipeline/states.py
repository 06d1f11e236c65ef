"""The states of a delivery, and the groups of them that rules speak of.

The machine itself (which state follows which, and the one module that writes them)
is drawn in :mod:`pipeline.deliveries`; who may be claimed and who goes first is
:mod:`pipeline.claim_rules`. Everything else only reads states, by these names.
"""

from __future__ import annotations

from enum import StrEnum


class DeliveryState(StrEnum):
    """A delivery row's ``state`` (stored as its value; a member equals its string)."""

    PENDING = "pending"  # made at intake, its task not yet sent to the queue
    QUEUED = "queued"  # its task is (or was) on the queue
    SENDING = "sending"  # claimed by a worker until its lease runs out
    RETRYING = "retrying"  # an attempt failed; due again at next_attempt_at
    WAITING = "waiting"  # for a window or an asynchronous result: no failure
    UNCONFIRMED = "unconfirmed"  # the channel took it for good, its result is to come (reached)
    DELIVERED = "delivered"
    IN_DOUBT = "in_doubt"  # the channel may hold it and cannot tell: an operator must look
    DEAD = "dead"  # attempts exhausted or a permanent error: an operator must act
    SKIPPED = "skipped"  # nothing to do: not requested, superseded, or an operator skipped it
    RETRACTED = "retracted"  # cancelled before it went out, because the item was retracted
    HELD = "held"  # a check found what must not go out: an operator releases it, or a new revision


_S = DeliveryState
STATES = tuple(DeliveryState)  # in the order the console and the CLI show them
ACTIVE_STATES = (_S.PENDING, _S.QUEUED, _S.SENDING, _S.RETRYING, _S.WAITING, _S.UNCONFIRMED)
CLAIMABLE_STATES = (_S.PENDING, _S.QUEUED, _S.RETRYING, _S.WAITING, _S.UNCONFIRMED)  # once due
REACHED_STATES = (_S.DELIVERED, _S.UNCONFIRMED)  # the channel holds it: counted in reports
UNSENT_STATES = (_S.PENDING, _S.QUEUED)  # its task is on the queue, or was lost with it
# not yet sent anywhere: a newer revision supersedes it, a retraction cancels it
WAITING_STATES = (_S.PENDING, _S.QUEUED, _S.RETRYING, _S.WAITING)
# rows that wait for a time the channel may bring forward (a callback's result)
WAKEABLE_STATES = (_S.RETRYING, _S.WAITING, _S.UNCONFIRMED)
# on the channel, or may be: a retraction goes after it
MAY_BE_OUT_STATES = (_S.DELIVERED, _S.SENDING, _S.UNCONFIRMED, _S.IN_DOUBT)
RETRYABLE_STATES = (_S.DEAD, _S.RETRYING, _S.WAITING)  # an operator may send it again now
SKIPPABLE_STATES = (*WAITING_STATES, _S.HELD, _S.IN_DOUBT, _S.DEAD)  # never what went out
# never sent: a newer revision supersedes it, a retraction cancels it (held included)
SUPERSEDABLE_STATES = (*WAITING_STATES, _S.HELD)
