"""The operator console's page of a WeChat channel's daily mass send (群发):
``/console/wechat/{channel}`` shows the coming send (:func:`.plan.coming_send`: which
articles in which order, when it is gathered, previewed and sent, what waits for the
next window and why); an operator may send it now (``POST …/send-now``, with the
session's CSRF token, written to the audit log), as ``govpub wechat broadcast --now``."""

from __future__ import annotations

from typing import Annotated, Any

import structlog
from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response
from starlette.concurrency import run_in_threadpool

from pipeline.console import audit
from pipeline.console.pages import PREFIX, back_to, console_of, not_found, operator, serves_within_reach

log = structlog.get_logger("govpub.console")
router = APIRouter(prefix=PREFIX, include_in_schema=False)


def _channel(request: Request, name: str) -> Any:
    """The WeChat channel ``name`` in broadcast mode, or None (also when it serves an
    agency outside the user's reach: the same not-found page)."""
    services = console_of(request).services
    cfg = services.settings.channels.get(name)
    if cfg is None or cfg.kind != "wechat" or not serves_within_reach(request, name):
        return None
    channel: Any = services.channel(name)
    return channel if channel.opts.mode == "broadcast" else None


@router.get("/wechat/{name}", response_class=HTMLResponse)
async def coming_send_page(request: Request, name: str) -> Response:
    console = console_of(request)
    channel = _channel(request, name)
    if channel is None:
        return not_found(request, f"群发模式的微信渠道 {name}")
    view = await run_in_threadpool(channel.coming_send)
    return console.render(request, "wechat_send.html", view=view)


@router.post("/wechat/{name}/send-now")
def send_now(request: Request, name: str, csrf: Annotated[str, Form()] = "") -> Response:
    from channels.wechat.channel import SendNowRefused

    user = operator(request, csrf)
    if isinstance(user, Response):
        return user
    back = f"{PREFIX}/wechat/{name}"
    channel = _channel(request, name)
    if channel is None:
        return not_found(request, f"群发模式的微信渠道 {name}")
    services = console_of(request).services
    try:
        woken = channel.send_now(f"console:{user.username}")
    except SendNowRefused as exc:
        return back_to(back, f"不能立即群发：{exc}")
    request.app.state.enqueue([(d, name) for d in woken])
    audit.record(services.engine, user, "broadcast_now", services.clock(), detail=name)
    log.info("console send now", username=user.username, channel=name, woken=len(woken))
    return back_to(back, "已下令立即群发：已就绪的文章按顺序组成今日群发，稍后刷新查看结果")
