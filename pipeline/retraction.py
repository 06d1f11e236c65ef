"""Retracting an item (撤回): the one path the API, the CLI (which calls the API) and the
console take, so every channel hears of a retraction the same way whoever asked.

The reason follows the intake's text rule (it goes into archive packages, feeds and
notices); archives keep records, so what waits for them is not cancelled and they
get the retraction too; the queue is told through the same ``enqueue`` the intake
uses (a lost message is recovered by the sweeper).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from pipeline.errors import ValidationFailed
from pipeline.services import Services
from pipeline.store import Work
from pipeline.tenancy import Reach
from pipeline.text import text_problem

REASON_LENGTH = (2, 500)


def checked_reason(reason: str) -> str:
    """The reason as it will be recorded, or ValidationFailed saying what is wrong."""
    reason = reason.strip()
    shortest, longest = REASON_LENGTH
    problem = text_problem(reason)
    if problem is None and not shortest <= len(reason) <= longest:
        problem = f"between {shortest} and {longest} characters"
    if problem is not None:
        raise ValidationFailed("retraction refused", [f"reason: {problem}"])
    return reason


def retract(
    services: Services,
    enqueue: Callable[[list[Work]], None],
    source: str,
    item_id: str,
    reason: str,
    now: datetime | None = None,
    reach: Reach = Reach.PLATFORM,
) -> list[Work]:
    """Withdraw the item everywhere; returns the retraction deliveries queued (none
    when it was retracted already). Raises NotFound (none, or out of ``reach``) /
    ValidationFailed."""
    work = services.store.retract(
        source,
        item_id,
        checked_reason(reason),
        now or services.clock(),
        keep=services.record_keeping_channels(),
        reach=reach,
    )
    if work:
        enqueue(work)
    return work
