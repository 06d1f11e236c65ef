"""The operator console's pages of a WeChat channel's daily mass send (群发):
``/console/wechat/{channel}`` is the instance's own account, ``/console/wechat/{channel}/
{account path}`` an agency's own account (platform mode, :mod:`.accounts`). Each shows the
coming send (:func:`.plan.coming_send`: which articles in which order, when it is
gathered, previewed and sent, what waits for the next window and why) and the accounts
the user reaches; an operator may send it now (``POST …/send-now``, with the session's
CSRF token, written to the audit log), as ``govpub wechat broadcast --now``.

Scoped: a user sees (and acts on) an agency's account only when the agency is within
reach (:mod:`pipeline.tenancy`), the instance's own only when a head of the tree (an
agency without a parent) is, or the user is the platform's. Out of reach is not found.
"""

from __future__ import annotations

from typing import Annotated, Any

import structlog
from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response
from starlette.concurrency import run_in_threadpool

from pipeline.console import audit
from pipeline.console.pages import PREFIX, back_to, console_of, current_user, not_found, operator
from pipeline.tenancy import Reach

log = structlog.get_logger("govpub.console")
router = APIRouter(prefix=PREFIX, include_in_schema=False)


def _served(channel: Any) -> dict[str, list[str]]:
    """The registered agencies publishing on each account of the channel (each agency
    resolved once)."""
    env = channel.env
    found: dict[str, list[str]] = {}
    for agency in env.agencies.all():
        resolved = env.options_for(channel.name, agency.code)
        if resolved is not None:
            found.setdefault(resolved.account, []).append(agency.code)
    return found


def _visible(code: str, served: dict[str, list[str]], reach: Reach) -> bool:
    """Whether every agency publishing on account ``code`` is within reach."""
    if reach.platform:
        return True
    agencies = served.get(code, [])
    return bool(agencies) and all(reach.allows(a) for a in agencies)


def _channel(request: Request, name: str) -> Any:
    services = console_of(request).services
    cfg = services.settings.channels.get(name)
    if cfg is None or cfg.kind != "wechat":
        return None
    return services.channel(name)


def _account(request: Request, name: str, path: str | None) -> Any:
    """The account the URL names, when the user reaches it (else None)."""
    channel = _channel(request, name)
    if channel is None:
        return None
    account = channel.own if path is None else channel.account_by_path(path)
    if account is None or not _visible(account.code, _served(channel), current_user(request).reach):
        return None
    return account


def _listing(request: Request, channel: Any) -> list[dict[str, Any]]:
    """The accounts of the channel the user reaches, with their mode and quota use."""
    reach, served = current_user(request).reach, _served(channel)
    found = []
    for account in channel.accounts():
        if _visible(account.code, served, reach):
            quota = channel.quota(account.code)
            found.append({"path": account.path, "label": account.label, **quota})
    return found


def _page(request: Request, name: str, path: str | None) -> Response:
    console = console_of(request)
    account = _account(request, name, path)
    what = f"微信渠道 {name}" + (f" 的账号 {path}" if path else "")
    if account is None:
        return not_found(request, what)
    channel = _channel(request, name)
    listing = _listing(request, channel)
    view = channel.coming_send(account.code) if account.opts.mode == "broadcast" else None
    if view is None and len(listing) < 2:
        return not_found(request, what)
    here = {
        "channel": name,
        "account_label": account.label,
        "account_path": account.path,
        "mode": account.opts.mode,
    }
    return console.render(request, "wechat_send.html", view=view, here=here, accounts=listing)


@router.get("/wechat/{name}", response_class=HTMLResponse)
async def coming_send_page(request: Request, name: str) -> Response:
    return await run_in_threadpool(_page, request, name, None)


@router.get("/wechat/{name}/{path}", response_class=HTMLResponse)
async def account_page(request: Request, name: str, path: str) -> Response:
    return await run_in_threadpool(_page, request, name, path)


@router.post("/wechat/{name}/send-now")
def send_now(request: Request, name: str, csrf: Annotated[str, Form()] = "") -> Response:
    return _send_now(request, name, None, csrf)


@router.post("/wechat/{name}/{path}/send-now")
def account_send_now(request: Request, name: str, path: str, csrf: Annotated[str, Form()] = "") -> Response:
    return _send_now(request, name, path, csrf)


def _send_now(request: Request, name: str, path: str | None, csrf: str) -> Response:
    from channels.wechat.channel import SendNowRefused

    user = operator(request, csrf)
    if isinstance(user, Response):
        return user
    back = f"{PREFIX}/wechat/{name}" + (f"/{path}" if path else "")
    account = _account(request, name, path)
    if account is None or account.opts.mode != "broadcast":
        return not_found(request, f"群发模式的微信渠道 {name}" + (f" 的账号 {path}" if path else ""))
    services = console_of(request).services
    try:
        channel: Any = services.channel(name)
        woken = channel.send_now(f"console:{user.username}", account.code)
    except SendNowRefused as exc:
        return back_to(back, f"不能立即群发：{exc}")
    request.app.state.enqueue([(d, name) for d in woken])
    detail = name + (f" {account.code}" if account.code else "")
    audit.record(services.engine, user, "broadcast_now", services.clock(), detail=detail)
    log.info("console send now", username=user.username, channel=name, account=account.code, woken=len(woken))
    return back_to(back, "已下令立即群发：已就绪的文章按顺序组成今日群发，稍后刷新查看结果")
