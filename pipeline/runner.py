"""Run one delivery attempt: claim, call the channel, classify, record.

This is the one place that wraps every channel: claims and leases (renewed by a
heartbeat while the channel works, :mod:`pipeline.lease`), retries with backoff, the
delivery log, metrics and logs. Celery tasks and the in-process
worker both call :func:`run_delivery`; neither holds any logic of its own.
"""

from __future__ import annotations

import time
from datetime import datetime, timedelta
from typing import Any

import structlog

from pipeline import metrics
from pipeline.batchlock import batch_lock
from pipeline.channel import BatchEntry, Channel, DeliveryContext, Ref
from pipeline.deliveries import Claim, backoff
from pipeline.errors import AwaitingConfirmation, InDoubt, NotDue, PermanentError, TransientError, Unconfirmed
from pipeline.lease import LeaseKeeper
from pipeline.services import Services

log = structlog.get_logger("govpub.runner")

POLL_SECONDS = 30.0


def run_delivery(services: Services, delivery_id: int, channel_name: str) -> str:
    """One task: a per-item delivery, or for a batched channel everything due."""
    if channel_name in services.settings.channels and services.channel(channel_name).batched:
        return run_batch(services, channel_name)
    settings = services.settings
    claim = services.deliveries.claim(
        delivery_id, services.worker_name, services.clock(), settings.lease_seconds
    )
    if claim is None:
        return "not-claimed"
    channel = services.channel(claim.channel)
    ctx = _context(services, claim)
    started = time.perf_counter()
    try:
        with LeaseKeeper(services, [claim]):
            ref = _call(channel, claim, ctx)
    except Exception as exc:  # classified below; anything unknown is transient
        return _record_failure(services, claim, exc)
    finally:
        metrics.observe_attempt(claim.channel, time.perf_counter() - started)
    return _record_success(services, claim, ref)


def _call(channel: Channel, claim: Claim, ctx: DeliveryContext) -> Ref | None:
    if claim.action == "retract":
        return channel.retract(claim.item, claim.previous, claim.reason, ctx)
    if claim.previous is not None:
        return channel.update(claim.item, claim.previous, ctx)
    return channel.publish(claim.item, ctx)


def run_batch(services: Services, channel_name: str) -> str:
    """Everything due of a batched channel, one batch of the channel at a time
    (:mod:`pipeline.batchlock`): two would split one day's send in two."""
    with batch_lock(services.engine, channel_name) as held:
        if not held:
            return "busy"
        return _run_batch(services, channel_name)


def _run_batch(services: Services, channel_name: str) -> str:
    channel = services.channel(channel_name)
    now = services.clock()
    claims = [
        c
        for c in (
            services.deliveries.claim(i, services.worker_name, now, services.settings.lease_seconds)
            for i in services.deliveries.due_for_channel(channel_name, now)
        )
        if c is not None
    ]
    if not claims:
        return "not-claimed"
    entries = [
        BatchEntry(
            item=c.item, ctx=_context(services, c), action=c.action, previous=c.previous, reason=c.reason
        )
        for c in claims
    ]
    try:
        with LeaseKeeper(services, claims):
            answers = channel.publish_batch(entries)
    except Exception as exc:
        answers = {c.id: exc for c in claims}
    for claim in claims:
        answer = answers.get(claim.id, TransientError("the batch gave no answer for it"))
        if isinstance(answer, Exception):
            _record_failure(services, claim, answer)
        else:
            _record_success(services, claim, answer)
    return f"batch of {len(claims)}"


def _context(services: Services, claim: Claim) -> DeliveryContext:
    return DeliveryContext(
        delivery_id=claim.id,
        attempt=claim.attempts,
        channel=claim.channel,
        now=services.clock(),
        progress=dict(claim.progress),
        checkpoint_to=lambda progress: services.deliveries.checkpoint(claim, progress, services.clock()),
        load_blob=services.store.blob,
    )


def _record_success(services: Services, claim: Claim, ref: Ref | None) -> str:
    ok = services.deliveries.succeeded(claim, services.worker_name, services.clock(), ref)
    if ok and ref is not None:
        _wake_interpretations(services, claim)
    outcome = ("delivered" if ref is not None else "skipped") if ok else "lost-lease"
    metrics.count_outcome(claim.channel, outcome)
    log.info(
        "delivery",
        id=claim.id,
        channel=claim.channel,
        action=claim.action,
        index_no=claim.item.index_no,
        revision=claim.revision,
        outcome=outcome,
        ref=ref,
    )
    return outcome


def _wake_interpretations(services: Services, claim: Claim) -> None:
    """A policy is out: its interpretations waiting for it go now, not at the next sweep
    (a lost message costs nothing: they are due, the sweeper sends them)."""
    woken = services.deliveries.wake_interpretations(claim, services.clock())
    if woken and services.dispatcher is not None:
        try:
            services.dispatcher.send(woken)
        except Exception as exc:
            log.warning("waking interpretations failed; the sweeper sends them", error=str(exc))


def _record_failure(services: Services, claim: Claim, exc: BaseException) -> str:
    if _is_waiting(claim, exc):
        return _record_waiting(services, claim, exc)
    if isinstance(exc, InDoubt):
        return _record_in_doubt(services, claim, exc)
    now = services.clock()
    retry_at, counts = _next_attempt(services, claim, exc, now)
    state = services.deliveries.failed(
        claim, services.worker_name, now, exc, retry_at=retry_at, counts=counts
    )
    metrics.count_outcome(claim.channel, state)
    log.warning(
        "delivery failed",
        id=claim.id,
        channel=claim.channel,
        action=claim.action,
        index_no=claim.item.index_no,
        attempt=claim.attempts,
        state=state,
        error_class=type(exc).__name__,
        error=str(exc),
    )
    return state


def _is_waiting(claim: Claim, exc: BaseException) -> bool:
    """Waiting for a window or a result is no failure; and once the channel took the item
    for good (``claim.sent``), nothing short of the channel saying it does not hold it
    (a permanent error) can undo that: any other error only delays the confirmation."""
    if isinstance(exc, NotDue | AwaitingConfirmation):
        return True
    return claim.sent and not isinstance(exc, PermanentError | InDoubt)


def _record_waiting(services: Services, claim: Claim, exc: BaseException) -> str:
    now = services.clock()
    retry_at = exc.retry_at if isinstance(exc, TransientError) else None
    if retry_at is None:
        retry_at = now + timedelta(seconds=POLL_SECONDS)
    message = str(exc)
    if not isinstance(exc, NotDue | AwaitingConfirmation):  # a sent row whose poll failed
        delay = backoff(
            claim.attempts, services.settings.retry_base_seconds, services.settings.retry_max_seconds
        )
        retry_at = max(retry_at, now + timedelta(seconds=delay))
        message = f"sent; its confirmation could not be had yet ({type(exc).__name__}: {exc})"
    ref = exc.ref if isinstance(exc, Unconfirmed) else None
    state = services.deliveries.waiting(claim, services.worker_name, now, message, retry_at=retry_at, ref=ref)
    if ref is not None and not claim.sent:
        _wake_interpretations(services, claim)
    metrics.count_outcome(claim.channel, state)
    log.info(
        "delivery unconfirmed" if state == "unconfirmed" else "delivery waiting",
        id=claim.id,
        channel=claim.channel,
        action=claim.action,
        index_no=claim.item.index_no,
        until=retry_at.isoformat(),
        why=message,
    )
    return state


def _record_in_doubt(services: Services, claim: Claim, exc: InDoubt) -> str:
    state = services.deliveries.in_doubt(claim, services.worker_name, services.clock(), exc)
    metrics.count_outcome(claim.channel, state)
    log.warning(
        "delivery in doubt: an operator must check the channel",
        id=claim.id,
        channel=claim.channel,
        index_no=claim.item.index_no,
        error=str(exc),
    )
    return state


def _next_attempt(
    services: Services, claim: Claim, exc: BaseException, now: datetime
) -> tuple[datetime | None, bool]:
    """When to try again (None: never) and whether this attempt counts."""
    if isinstance(exc, PermanentError):
        return None, True
    settings = services.settings
    cfg: Any = settings.channels.get(claim.channel)
    limit = (cfg.max_attempts if cfg and cfg.max_attempts else None) or settings.max_attempts
    if claim.attempts >= limit:
        return None, True
    if isinstance(exc, TransientError) and exc.retry_at is not None:
        return exc.retry_at, True
    delay = backoff(claim.attempts, settings.retry_base_seconds, settings.retry_max_seconds)
    return now + timedelta(seconds=delay), True
