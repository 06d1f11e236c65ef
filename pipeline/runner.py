"""Run delivery attempts: claim, call the channel, classify, record.

This is the one place that wraps every channel: claims and leases (renewed by a
heartbeat while the channel works, :mod:`pipeline.lease`), retries with backoff, the
delivery log, metrics and logs. Celery tasks and the in-process
worker both call :func:`run_delivery`; neither holds any logic of its own.

A task is a wake-up for its channel: the worker claims up to N due deliveries of the
channel in one statement (N from :mod:`pipeline.batchsize`: 1 when idle, more when the
queue is deep), commits the claims before any call, works through them and records
their outcomes in one transaction. The database decides who does what; a message only
says "look". A claim that came back full sends one more wake-up first, so that other
worker processes join in and one message can start the draining of any backlog.
"""

from __future__ import annotations

import time
from datetime import datetime, timedelta
from typing import Any

import structlog

from pipeline import metrics
from pipeline.batchlock import batch_lock
from pipeline.channel import BatchEntry, Channel, DeliveryContext, Ref
from pipeline.deliveries import Claim, Outcome, backoff
from pipeline.errors import AwaitingConfirmation, InDoubt, NotDue, PermanentError, TransientError, Unconfirmed
from pipeline.lease import LeaseKeeper
from pipeline.services import Services

log = structlog.get_logger("govpub.runner")

POLL_SECONDS = 30.0
Answer = Ref | Exception | None


def run_delivery(services: Services, delivery_id: int, channel_name: str) -> str:
    """One task: a batch of the channel, ``delivery_id`` first (0: none in particular);
    for a ``batched`` channel everything due. Answers the outcome of ``delivery_id``
    when it was claimed, else what the batch did."""
    if channel_name in services.settings.channels and services.channel(channel_name).batched:
        return run_batch(services, channel_name)
    cfg = services.settings.channels.get(channel_name)
    size = services.batch_sizes.size(channel_name, limited=bool(cfg and cfg.rate_limit))
    batch = services.deliveries.claim_batch(
        channel_name,
        delivery_id,
        size,
        services.worker_name,
        services.clock(),
        services.settings.lease_seconds,
    )
    services.batch_sizes.saw(channel_name, batch.more)
    if batch.more:
        _wake(services, channel_name)
    if not batch.claims:
        return "not-claimed"
    results = work_through(services, services.channel(channel_name), batch.claims)
    return results.get(delivery_id) or f"batch of {len(batch.claims)}"


def _wake(services: Services, channel: str) -> None:
    """One more wake-up for ``channel`` (no delivery in particular): another worker joins
    in. Lost, it costs only time: the sweeper sends what stays due."""
    if services.dispatcher is None:
        return
    try:
        services.dispatcher.send([(0, channel)])
    except Exception as exc:
        log.warning("waking another worker failed; the sweeper sends what is due", error=str(exc))


def work_through(services: Services, channel: Channel, claims: list[Claim]) -> dict[int, str]:
    """Call the channel for every claim and record the outcomes; answers each claim's
    result. Two deliveries of one item on this channel (a publication and its retraction,
    two revisions) never share a call: the first goes with the batch, the others after
    it, one by one in order, each reading again what the one before left live."""
    first, later = _one_per_item(claims)
    results: dict[int, str] = {}
    with LeaseKeeper(services, claims) as keeper:
        started = time.perf_counter()
        answers = _answers(channel, first, [_context(services, c) for c in first])
        services.batch_sizes.took(channel.name, time.perf_counter() - started, len(first))
        with keeper.writing:
            results |= _record(services, first, answers)
            keeper.forget([c.id for c in first])
        for claim in later:
            services.deliveries.refresh(claim)
            answer = _answers(channel, [claim], [_context(services, claim)])
            with keeper.writing:
                results |= _record(services, [claim], answer)
                keeper.forget([claim.id])
    return results


def _one_per_item(claims: list[Claim]) -> tuple[list[Claim], list[Claim]]:
    """The first claim of each item (lowest revision, a publication before a retraction),
    and the rest in the order they must go."""
    ordered = sorted(claims, key=lambda c: (c.item_pk, c.revision, c.action != "publish", c.id))
    seen: set[int] = set()
    first: list[Claim] = []
    later: list[Claim] = []
    for claim in ordered:
        (later if claim.item_pk in seen else first).append(claim)
        seen.add(claim.item_pk)
    return first, later


def _answers(channel: Channel, claims: list[Claim], contexts: list[DeliveryContext]) -> dict[int, Answer]:
    """The channel's answer for every claim: one call per item, or calls of up to
    ``max_batch`` entries for a channel that takes several at once."""
    answers: dict[int, Answer] = {}
    if channel.max_batch <= 1:
        for claim, ctx in zip(claims, contexts, strict=True):
            started = time.perf_counter()
            try:
                answers[claim.id] = _call(channel, claim, ctx)
            except Exception as exc:  # classified when recorded; anything unknown is transient
                answers[claim.id] = exc
            finally:
                metrics.observe_attempt(claim.channel, time.perf_counter() - started)
        return answers
    for start in range(0, len(claims), channel.max_batch):
        chunk = claims[start : start + channel.max_batch]
        entries = [_entry(c, ctx) for c, ctx in zip(chunk, contexts[start : start + len(chunk)], strict=True)]
        started = time.perf_counter()
        try:
            answers |= channel.publish_batch(entries)
        except Exception as exc:  # the call failed as a whole: so did each of its entries
            answers |= {c.id: exc for c in chunk}
        each = (time.perf_counter() - started) / len(chunk)
        for claim in chunk:
            metrics.observe_attempt(claim.channel, each)
    return answers


def _entry(claim: Claim, ctx: DeliveryContext) -> BatchEntry:
    return BatchEntry(
        item=claim.item, ctx=ctx, action=claim.action, previous=claim.previous, reason=claim.reason
    )


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
    entries = [_entry(c, _context(services, c)) for c in claims]
    try:
        with LeaseKeeper(services, claims):
            answers = channel.publish_batch(entries)
    except Exception as exc:
        answers = {c.id: exc for c in claims}
    _record(services, claims, answers)
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


def _record(services: Services, claims: list[Claim], answers: dict[int, Answer]) -> dict[int, str]:
    """Record the claims' outcomes in one transaction, then count and log each."""
    now = services.clock()
    missing = TransientError("the batch gave no answer for it")
    outcomes = [_outcome(services, c, answers.get(c.id, missing), now) for c in claims]
    written = services.deliveries.record(outcomes, services.worker_name, now)
    for outcome in outcomes:
        if outcome.claim.id in written and _went_out(outcome):
            _wake_interpretations(services, outcome.claim)
    return {o.claim.id: _report(o, o.claim.id in written, answers.get(o.claim.id, missing)) for o in outcomes}


def _went_out(outcome: Outcome) -> bool:
    """The channel holds the item from now on (delivered, or sent for good the first time)."""
    fresh = outcome.state == "delivered" or (outcome.state == "unconfirmed" and not outcome.claim.sent)
    return fresh and outcome.set_ref


def _wake_interpretations(services: Services, claim: Claim) -> None:
    """A policy is out: its interpretations waiting for it go now, not at the next sweep
    (a lost message costs nothing: they are due, the sweeper sends them)."""
    woken = services.deliveries.wake_interpretations(claim, services.clock())
    if woken and services.dispatcher is not None:
        try:
            services.dispatcher.send(woken)
        except Exception as exc:
            log.warning("waking interpretations failed; the sweeper sends them", error=str(exc))


def _outcome(services: Services, claim: Claim, answer: Answer, now: datetime) -> Outcome:
    """What the channel's answer makes of the delivery."""
    if not isinstance(answer, Exception):
        return Outcome.success(claim, answer)
    if _is_waiting(claim, answer):
        return _waiting(services, claim, answer, now)
    if isinstance(answer, InDoubt):
        return Outcome.doubt(claim, answer)
    retry_at, counts = _next_attempt(services, claim, answer, now)
    return Outcome.failure(claim, answer, retry_at=retry_at, counts=counts)


def _is_waiting(claim: Claim, exc: BaseException) -> bool:
    """Waiting for a window or a result is no failure; and once the channel took the item
    for good (``claim.sent``), nothing short of the channel saying it does not hold it
    (a permanent error) can undo that: any other error only delays the confirmation."""
    if isinstance(exc, NotDue | AwaitingConfirmation):
        return True
    return claim.sent and not isinstance(exc, PermanentError | InDoubt)


def _waiting(services: Services, claim: Claim, exc: BaseException, now: datetime) -> Outcome:
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
    return Outcome.wait(claim, message, retry_at=retry_at, ref=ref)


def _report(outcome: Outcome, written: bool, answer: Answer) -> str:
    """Count and log one recorded outcome; answers the task's word for it."""
    claim, state = outcome.claim, outcome.state
    about = {
        "id": claim.id,
        "channel": claim.channel,
        "action": claim.action,
        "index_no": claim.item.index_no,
    }
    if not isinstance(answer, Exception):
        result = ("delivered" if answer is not None else "skipped") if written else "lost-lease"
        metrics.count_outcome(claim.channel, result)
        log.info("delivery", **about, revision=claim.revision, outcome=result, ref=answer)
        return result
    metrics.count_outcome(claim.channel, state)
    if state in ("waiting", "unconfirmed"):
        event = "delivery unconfirmed" if state == "unconfirmed" else "delivery waiting"
        until = outcome.next_attempt_at.isoformat() if outcome.next_attempt_at else None
        log.info(event, **about, until=until, why=outcome.message)
    elif state == "in_doubt":
        log.warning("delivery in doubt: an operator must check the channel", **about, error=str(answer))
    else:
        log.warning(
            "delivery failed",
            **about,
            attempt=claim.attempts,
            state=state,
            error_class=type(answer).__name__,
            error=str(answer),
        )
    return str(state)


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
