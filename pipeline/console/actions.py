"""What operators may do from the console: retry a delivery now, skip it with a
reason, settle a delivery in doubt (confirm it with its link, or resubmit it), retract
an item with a reason (confirmed).

Every action is a POST with the session's CSRF token, refused with 403 for an
auditor or a wrong token before anything changes, recorded in the audit log
together with its effect, and handed to the queue through ``app.state.enqueue``
(the same path the intake uses, so the sweeper covers a lost message).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

import structlog
from fastapi import APIRouter, Form, Request
from fastapi.responses import Response

from pipeline import doubt, retraction
from pipeline.console import audit, queries
from pipeline.console.auth import User
from pipeline.console.pages import PREFIX, back_to, console_of, operator
from pipeline.errors import IntakeError
from pipeline.text import text_problem

log = structlog.get_logger("govpub.console")
router = APIRouter(prefix=PREFIX, include_in_schema=False)
Text = Annotated[str, Form()]


def acting_on(
    request: Request, csrf: str, delivery_id: int, back: str
) -> tuple[User, Any, dict[str, Any]] | Response:
    """(the operator, the services, the delivery's item) for an action on a delivery, or
    the answer that refuses it (an auditor, a forged form, no such delivery)."""
    user = operator(request, csrf)
    if isinstance(user, Response):
        return user
    services = console_of(request).services
    found = queries.delivery_item(services.engine, delivery_id)
    if found is None:
        return back_to(back, f"没有投递 {delivery_id}")
    return user, services, found


@router.post("/deliveries/{delivery_id}/retry")
def retry(request: Request, delivery_id: int, csrf: Text = "", back: Text = "") -> Response:
    acting = acting_on(request, csrf, delivery_id, back)
    if isinstance(acting, Response):
        return acting
    user, services, found = acting
    now = services.clock()
    if not services.deliveries.retry_now(delivery_id, f"console:{user.username}", now):
        return back_to(back, f"投递 {delivery_id} 当前状态不能重试（只有失败或等待重试的投递可以）")
    request.app.state.enqueue([(delivery_id, found["channel"])])
    audit.record(services.engine, user, "retry", now, item_pk=found["pk"], delivery_id=delivery_id)
    log.info("console retry", username=user.username, delivery=delivery_id, channel=found["channel"])
    return back_to(back, f"投递 {delivery_id} 已重新排队")


@router.post("/deliveries/{delivery_id}/skip")
def skip(request: Request, delivery_id: int, csrf: Text = "", reason: Text = "", back: Text = "") -> Response:
    user = operator(request, csrf)
    if isinstance(user, Response):
        return user
    reason = reason.strip()[:500]
    if len(reason) < 2:
        return back_to(back, "跳过需要填写原因")
    if text_problem(reason):
        return back_to(back, "原因里有不允许的字符（控制字符），请重新填写")
    services = console_of(request).services
    found = queries.delivery_item(services.engine, delivery_id)
    if found is None:
        return back_to(back, f"没有投递 {delivery_id}")
    now = services.clock()
    if not services.deliveries.skip(delivery_id, f"console:{user.username}", f"操作员跳过：{reason}", now):
        return back_to(back, f"投递 {delivery_id} 当前状态不能跳过")
    audit.record(
        services.engine, user, "skip", now, item_pk=found["pk"], delivery_id=delivery_id, detail=reason
    )
    log.info("console skip", username=user.username, delivery=delivery_id, reason=reason)
    return back_to(back, f"投递 {delivery_id} 已跳过")


@router.post("/deliveries/{delivery_id}/confirm")
def confirm(
    request: Request, delivery_id: int, csrf: Text = "", url: Text = "", ident: Text = "", back: Text = ""
) -> Response:
    """A delivery in doubt is on the channel: the operator gives its link."""

    def settle(services: Any, user: User) -> str:
        doubt.confirm(services, delivery_id, f"console:{user.username}", url.strip(), ident[:200])
        return f"投递 {delivery_id} 已核实为已发布"

    return _settle(request, delivery_id, csrf, back, "confirm", url, settle)


@router.post("/deliveries/{delivery_id}/resubmit")
def resubmit(
    request: Request, delivery_id: int, csrf: Text = "", note: Text = "", back: Text = ""
) -> Response:
    """A delivery in doubt is not on the channel: send it afresh."""

    def settle(services: Any, user: User) -> str:
        channel = doubt.resubmit(services, delivery_id, f"console:{user.username}", note)
        request.app.state.enqueue([(delivery_id, channel)])
        return f"投递 {delivery_id} 已重新提交"

    return _settle(request, delivery_id, csrf, back, "resubmit", note, settle)


def _settle(
    request: Request,
    delivery_id: int,
    csrf: str,
    back: str,
    action: str,
    detail: str,
    settle: Callable[[Any, User], str],
) -> Response:
    """Settle a delivery in doubt (:mod:`pipeline.doubt`): check the operator and the
    form, act, audit and log it, and say what happened."""
    acting = acting_on(request, csrf, delivery_id, back)
    if isinstance(acting, Response):
        return acting
    user, services, found = acting
    try:
        notice = settle(services, user)
    except doubt.NotInDoubt as exc:
        return back_to(back, f"不能处理：{exc}")
    audit.record(
        services.engine,
        user,
        action,
        services.clock(),
        item_pk=found["pk"],
        delivery_id=delivery_id,
        detail=detail[:500],
    )
    log.info(f"console {action}", username=user.username, delivery=delivery_id, detail=detail)
    return back_to(back, notice)


@router.post("/items/{item_pk}/retract")
def retract(
    request: Request, item_pk: int, csrf: Text = "", reason: Text = "", confirm: Text = "", back: Text = ""
) -> Response:
    user = operator(request, csrf)
    if isinstance(user, Response):
        return user
    reason = reason.strip()
    if len(reason) < 2 or confirm != "yes":
        return back_to(back, "撤回需要填写原因并勾选确认")
    services = console_of(request).services
    head = queries.item_head(services.engine, item_pk)
    if head is None:
        return back_to(back, f"没有信息 {item_pk}")
    if head["retracted_at"] is not None:
        return back_to(back, "这条信息已经撤回过")
    now = services.clock()
    try:
        work = retraction.retract(
            services, request.app.state.enqueue, head["source"], head["item_id"], reason, now
        )
    except IntakeError as exc:
        return back_to(back, f"撤回失败：{exc.message}；{'；'.join(map(str, exc.details))}")
    audit.record(services.engine, user, "retract", now, item_pk=item_pk, detail=reason)
    log.info("console retract", username=user.username, item=head["index_no"], channels=len(work))
    return back_to(back, f"已撤回，{len(work)} 个渠道的撤回已排队")
