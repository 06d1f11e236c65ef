"""What an operator may do to a delivery or an item, written once for every route: the
console's forms (:mod:`pipeline.console.actions`), the operator API
(:mod:`pipeline.opsapi`) and ``govpub ops`` (which calls that API).

Each operation takes the acting :class:`~pipeline.console.auth.User` (its reach says
which agencies it may act on) and checks, in this order: the user may act at all
(:class:`ReadOnly`, 403), the delivery or item is within reach (:class:`OutOfReach`,
answered like a thing that does not exist), the input (:class:`ValidationFailed`), the
state allows it (:class:`NotPossible`, 409). Only then does anything change; the change
is written to the audit log with the item's agency and handed to the queue through
``enqueue`` (the intake's path, so the sweeper covers a lost message).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar

from sqlalchemy import Engine, select

from pipeline import db, doubt, retraction
from pipeline.console import audit
from pipeline.console.auth import User
from pipeline.errors import Conflict, Forbidden, IntakeError, ValidationFailed
from pipeline.services import Services
from pipeline.tenancy import OutOfReach
from pipeline.text import text_problem

Enqueue = Callable[[list[tuple[int, str]]], None]
D, It = db.deliveries, db.items


class ReadOnly(Forbidden):
    code = "read_only"


class Unseen(OutOfReach):
    """A delivery or item elsewhere or nowhere. It names which, so each front end says
    so in its own words (the console in Chinese, the API in English) without parsing
    the message."""

    WORDS: ClassVar[dict[str, str]] = {"delivery": "投递", "item": "信息"}

    def __init__(self, thing: str, ident: int) -> None:
        super().__init__(f"no {thing} {ident}")
        self.thing, self.ident = thing, ident

    @property
    def in_chinese(self) -> str:
        return f"{self.WORDS[self.thing]} {self.ident}"


class NotPossible(Conflict):
    code = "not_possible"


@dataclass(frozen=True)
class Done:
    """What an operation did: the notice shown to the operator, and what it touched."""

    notice: str
    item_pk: int
    delivery_id: int | None = None
    queued: list[tuple[int, str]] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return {
            "ok": True,
            "message": self.notice,
            "item_pk": self.item_pk,
            "delivery_id": self.delivery_id,
            "queued": [d for d, _ in self.queued],
        }


def _may_act(user: User) -> None:
    if not user.may_act:
        raise ReadOnly("审计员账号只能查看，不能执行操作。")


def delivery_in_reach(engine: Engine, user: User, delivery_id: int) -> dict[str, Any]:
    """The delivery with its item's pk, or OutOfReach whether it is elsewhere or nowhere."""
    with engine.connect() as conn:
        row = conn.execute(
            select(D.c.id, D.c.channel, D.c.state, D.c.agency_code, It.c.pk, It.c.source, It.c.item_id)
            .join(It, It.c.pk == D.c.item_pk)
            .where(D.c.id == delivery_id)
        ).first()
    if row is None or not user.reach.allows(row.agency_code):
        raise Unseen("delivery", delivery_id)
    return dict(row._mapping)


def item_in_reach(engine: Engine, user: User, item_pk: int) -> dict[str, Any]:
    with engine.connect() as conn:
        row = conn.execute(select(It).where(It.c.pk == item_pk)).first()
    if row is None or not user.reach.allows(row.agency_code):
        raise Unseen("item", item_pk)
    return dict(row._mapping)


def _checked_text(what: str, value: str, shortest: int) -> str:
    value = value.strip()[:500]
    if len(value) < shortest:
        raise ValidationFailed(f"{what}需要填写", [f"{what}: at least {shortest} characters"])
    if text_problem(value):
        raise ValidationFailed(f"{what}里有不允许的字符（控制字符），请重新填写", [text_problem(value)])
    return value


def retry(services: Services, enqueue: Enqueue, user: User, delivery_id: int) -> Done:
    """A failed or retrying delivery goes again now."""
    _may_act(user)
    found = delivery_in_reach(services.engine, user, delivery_id)
    now = services.clock()
    if not services.deliveries.retry_now(delivery_id, f"console:{user.username}", now):
        raise NotPossible(f"投递 {delivery_id} 当前状态不能重试（只有失败或等待重试的投递可以）")
    work = [(delivery_id, found["channel"])]
    enqueue(work)
    _audit(services, user, "retry", found, delivery_id=delivery_id)
    return Done(f"投递 {delivery_id} 已重新排队", found["pk"], delivery_id, work)


def skip(services: Services, user: User, delivery_id: int, reason: str) -> Done:
    """The delivery is given up, with the operator's reason."""
    _may_act(user)
    found = delivery_in_reach(services.engine, user, delivery_id)
    reason = _checked_text("跳过的原因", reason, 2)
    now = services.clock()
    if not services.deliveries.skip(delivery_id, f"console:{user.username}", f"操作员跳过：{reason}", now):
        raise NotPossible(f"投递 {delivery_id} 当前状态不能跳过")
    _audit(services, user, "skip", found, delivery_id=delivery_id, detail=reason)
    return Done(f"投递 {delivery_id} 已跳过", found["pk"], delivery_id)


def release(services: Services, enqueue: Enqueue, user: User, delivery_id: int, reason: str) -> Done:
    """A delivery held by the checks goes out: the operator read the findings (the reason
    is kept in the delivery log and the audit log)."""
    _may_act(user)
    found = delivery_in_reach(services.engine, user, delivery_id)
    reason = _checked_text("放行的原因", reason, 2)
    if not services.deliveries.release(delivery_id, f"console:{user.username}", reason, services.clock()):
        raise NotPossible(f"投递 {delivery_id} 不是待审（held）状态，不能放行")
    work = [(delivery_id, found["channel"])]
    enqueue(work)
    _audit(services, user, "release", found, delivery_id=delivery_id, detail=reason)
    return Done(f"投递 {delivery_id} 已放行", found["pk"], delivery_id, work)


def release_item(services: Services, enqueue: Enqueue, user: User, item_pk: int, reason: str) -> Done:
    """Every held delivery of the item goes out, with one reason."""
    _may_act(user)
    head = item_in_reach(services.engine, user, item_pk)
    reason = _checked_text("放行的原因", reason, 2)
    held = services.deliveries.held_of(item_pk)
    operator, now = f"console:{user.username}", services.clock()
    work = [(d, channel) for d, channel in held if services.deliveries.release(d, operator, reason, now)]
    if not work:
        raise NotPossible("这条信息没有待审（held）的投递")
    enqueue(work)
    audit.record(
        services.engine, user, "release", now, item_pk=item_pk, detail=reason, agency_code=head["agency_code"]
    )
    return Done(f"已放行 {len(work)} 个投递", item_pk, None, work)


def confirm(services: Services, user: User, delivery_id: int, url: str, ident: str = "") -> Done:
    """A delivery in doubt is on the channel: the operator gives its link."""
    _may_act(user)
    found = delivery_in_reach(services.engine, user, delivery_id)
    try:
        doubt.confirm(services, delivery_id, f"console:{user.username}", url.strip(), ident[:200])
    except doubt.NotInDoubt as exc:
        raise NotPossible(f"不能处理：{exc}") from exc
    _audit(services, user, "confirm", found, delivery_id=delivery_id, detail=url.strip()[:500])
    return Done(f"投递 {delivery_id} 已核实为已发布", found["pk"], delivery_id)


def resubmit(services: Services, enqueue: Enqueue, user: User, delivery_id: int, note: str = "") -> Done:
    """A delivery in doubt is not on the channel: send it afresh."""
    _may_act(user)
    found = delivery_in_reach(services.engine, user, delivery_id)
    try:
        channel = doubt.resubmit(services, delivery_id, f"console:{user.username}", note)
    except doubt.NotInDoubt as exc:
        raise NotPossible(f"不能处理：{exc}") from exc
    work = [(delivery_id, channel)]
    enqueue(work)
    _audit(services, user, "resubmit", found, delivery_id=delivery_id, detail=note[:500])
    return Done(f"投递 {delivery_id} 已重新提交", found["pk"], delivery_id, work)


def retract(services: Services, enqueue: Enqueue, user: User, item_pk: int, reason: str) -> Done:
    """Withdraw the item from every channel, with the operator's reason."""
    _may_act(user)
    head = item_in_reach(services.engine, user, item_pk)
    reason = _checked_text("撤回的原因", reason, 2)
    if head["retracted_at"] is not None:
        raise NotPossible("这条信息已经撤回过")
    try:
        work = retraction.retract(
            services, enqueue, head["source"], head["item_id"], reason, services.clock()
        )
    except IntakeError as exc:
        raise NotPossible(f"撤回失败：{exc.message}；{'；'.join(map(str, exc.details))}") from exc
    audit.record(
        services.engine,
        user,
        "retract",
        services.clock(),
        item_pk=item_pk,
        detail=reason,
        agency_code=head["agency_code"],
    )
    return Done(f"已撤回，{len(work)} 个渠道的撤回已排队", item_pk, None, list(work))


def _audit(services: Services, user: User, action: str, found: dict[str, Any], **about: Any) -> None:
    audit.record(
        services.engine,
        user,
        action,
        services.clock(),
        item_pk=found["pk"],
        agency_code=found["agency_code"],
        **about,
    )
