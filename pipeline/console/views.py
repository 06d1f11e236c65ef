"""The console's pages: login, overview, deliveries, item search and timeline.

Pages that change while an operator looks at them (overview, deliveries, an item's
timeline) render their live part as a fragment too (``?fragment=1``); a few lines
of script in ``console.js`` fetch it every ``console.poll_seconds``.
"""

from __future__ import annotations

import asyncio
import secrets
from datetime import date
from typing import Annotated, Any

import structlog
from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from pipeline import metrics
from pipeline.agencies import Agency
from pipeline.console import audit, queries
from pipeline.console.auth import LOGIN_COOKIE, SESSION_COOKIE, USERNAME, User
from pipeline.console.pages import (
    LOGIN,
    PREFIX,
    Console,
    console_of,
    current_user,
    forbidden,
    not_found,
    reach_of,
    safe_next,
)
from pipeline.console.words import FAILING
from pipeline.freshness.record import summary as freshness_summary
from pipeline.overview import build_overview
from pipeline.tenancy import OutOfReach, Reach

log = structlog.get_logger("govpub.console")
router = APIRouter(prefix=PREFIX, include_in_schema=False)
REFUSAL_SECONDS = 1.0
LOGIN_BODY_BYTES = 16 * 1024  # the login form is read before anyone is known: a few fields


@router.get("/login", response_class=HTMLResponse)
def login_page(request: Request, next: str = PREFIX + "/") -> Response:
    console = console_of(request)
    if console.sessions.user(request.cookies.get(SESSION_COOKIE, "")):
        return RedirectResponse(safe_next(next), status_code=303)
    return _login_form(request, console, next, error="", status=200)


def _login_form(request: Request, console: Console, next: str, error: str, status: int) -> Response:
    nonce = request.cookies.get(LOGIN_COOKIE) or secrets.token_urlsafe(24)
    response = console.render(
        request,
        "login.html",
        status=status,
        login_csrf=console.csrf.token(f"login:{nonce}"),
        next=safe_next(next),
        error=error,
    )
    response.set_cookie(
        LOGIN_COOKIE,
        nonce,
        max_age=3600,
        path=LOGIN,
        httponly=True,
        samesite="strict",
        secure=console.secure_cookies,
    )
    return response


@router.post("/login", max_body_size=LOGIN_BODY_BYTES)
async def login(
    request: Request,
    username: Annotated[str, Form()] = "",
    password: Annotated[str, Form()] = "",
    csrf: Annotated[str, Form()] = "",
    next: Annotated[str, Form()] = PREFIX + "/",
) -> Response:
    """At most ``console.password_checks_at_once`` logins are checked at once, each in a
    thread (the throttle, then argon2id); one beyond them is refused here on the event
    loop without a thread. Every refusal (429) is answered after ``REFUSAL_SECONDS``, held
    on the event loop, so a guesser's connection cannot come back faster than that: a flood
    of guesses occupies neither threads, memory nor cores."""
    console = console_of(request)
    nonce = request.cookies.get(LOGIN_COOKIE, "")
    if not nonce or not console.csrf.valid(f"login:{nonce}", csrf):
        return _login_form(request, console, next, "页面已过期或来源不可信，请重新登录。", status=403)
    if not console.login_slots.acquire(blocking=False):
        metrics.count_login("busy")
        answer = _too_many(request, console, next, 1, "登录请求过多，请稍后再试。")
    else:
        try:
            answer = await run_in_threadpool(_check_login, request, console, username.strip(), password, next)
        finally:
            console.login_slots.release()
    if answer.status_code == 429:  # held without a thread: a guesser's next try waits for it
        await asyncio.sleep(REFUSAL_SECONDS)
    return answer


def _check_login(request: Request, console: Console, username: str, password: str, next: str) -> Response:
    """The throttle first (no hashing for a try that must wait), then the password."""
    host = request.client.host if request.client else "unknown"
    # A name no account can have (a control character, a NUL PostgreSQL would refuse)
    # is looked up as one placeholder that matches no account: a failure like any other.
    name = username if USERNAME.fullmatch(username) else "?"
    wait = console.throttle.wait_seconds(name, host)
    if wait:
        metrics.count_login("throttled")
        return _too_many(request, console, next, wait, "密码错误次数过多，该账号或地址已被暂时限制登录。")
    user = console.accounts.verify(name, password)
    if user is None:
        metrics.count_login("failed")
        console.throttle.failed(name, host)
        log.warning("console login refused", username=username[:64], address=host)
        return _login_form(request, console, next, "用户名或密码错误。", status=401)
    metrics.count_login("ok")
    console.throttle.succeeded(name)
    return _logged_in(request, console, user, next)


def _too_many(request: Request, console: Console, next: str, wait: int, why: str) -> Response:
    later = (
        f"请 {wait} 秒后再试" if wait < 120 else f"请 {round(wait / 60)} 分钟后再试，或请其他操作员解除限制"
    )
    response = _login_form(request, console, next, f"{why}{later}。", status=429)
    response.headers["retry-after"] = str(wait)
    return response


def _logged_in(request: Request, console: Console, user: User, next: str) -> Response:
    token = console.sessions.start(user)
    address = request.client.host if request.client else "unknown"
    audit.record(console.services.engine, user, "login", console.services.clock(), detail=f"来自 {address}")
    log.info("console login", username=user.username, role=user.role, address=address)
    response = RedirectResponse(safe_next(next), status_code=303)
    response.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=int(console.sessions.max_age.total_seconds()),
        path=PREFIX,
        httponly=True,
        samesite="lax",
        secure=console.secure_cookies,
    )
    response.delete_cookie(LOGIN_COOKIE, path=LOGIN)
    return response


@router.post("/logout")
def logout(request: Request, csrf: Annotated[str, Form()] = "") -> Response:
    console, user = console_of(request), current_user(request)
    if not console.csrf.valid(user.session_hash, csrf):
        return forbidden(request, "表单已过期或来源不可信（CSRF 校验失败），请刷新页面后重试。")
    console.sessions.end(request.cookies.get(SESSION_COOKIE, ""))
    audit.record(console.services.engine, user, "logout", console.services.clock())
    response = RedirectResponse(LOGIN, status_code=303)
    response.delete_cookie(SESSION_COOKIE, path=PREFIX)
    return response


def _agencies(console: Console, reach: Reach) -> list[Agency]:
    """The agencies a user may pick in a filter (more than one within its reach)."""
    return [a for a in console.services.registry.all() if reach.allows(a.code)]


def _narrowed(request: Request, agency: str) -> Reach | Response:
    """The user's reach, or ``?agency=CODE`` within it; another agency: not found."""
    try:
        return reach_of(request, agency.strip() or None)
    except OutOfReach:
        return not_found(request, f"机构 {agency[:32]}")


@router.get("/", response_class=HTMLResponse)
async def overview_page(request: Request, fragment: bool = False, agency: str = "") -> Response:
    console = console_of(request)
    reach = _narrowed(request, agency)
    if isinstance(reach, Response):
        return reach
    data = await run_in_threadpool(build_overview, console.services, request.app.state.dispatcher, reach)
    fresh = await run_in_threadpool(freshness_summary, console.services.engine, data.generated_at, reach)
    template = "_overview.html" if fragment else "overview.html"
    return console.render(
        request,
        template,
        overview=data,
        freshness=fresh,
        agency=agency,
        agencies=_agencies(console, current_user(request).reach),
    )


@router.get("/deliveries", response_class=HTMLResponse)
async def deliveries_page(
    request: Request,
    channel: str = "",
    state: str = "",
    source: str = "",
    date_from: Annotated[date | None, Query()] = None,
    date_to: Annotated[date | None, Query()] = None,
    before: int | None = None,
    fragment: bool = False,
    agency: str = "",
) -> Response:
    console = console_of(request)
    services = console.services
    reach = _narrowed(request, agency)
    if isinstance(reach, Response):
        return reach
    chosen = queries.DeliveryFilter(channel, state, source, date_from, date_to, before, agency.strip())
    rows, next_before = await run_in_threadpool(
        queries.list_deliveries, services.engine, chosen, services.settings.timezone, reach
    )
    context: dict[str, Any] = {
        "rows": rows,
        "filter": chosen,
        "next_before": next_before,
        "channels": sorted(services.settings.channels),
        "sources": await run_in_threadpool(queries.sources, services.engine, reach),
        "agencies": _agencies(console, current_user(request).reach),
        "failing": FAILING,
    }
    return console.render(request, "_deliveries.html" if fragment else "deliveries.html", **context)


@router.get("/items", response_class=HTMLResponse)
async def items_page(request: Request, q: str = "", before: int | None = None, agency: str = "") -> Response:
    console = console_of(request)
    reach = _narrowed(request, agency)
    if isinstance(reach, Response):
        return reach
    q = q.strip()[:200]
    rows, next_before = await run_in_threadpool(
        queries.search_items, console.services.engine, q, reach, before
    )
    agencies = _agencies(console, current_user(request).reach)
    return console.render(
        request, "items.html", q=q, rows=rows, next_before=next_before, agency=agency, agencies=agencies
    )


@router.get("/items/{item_pk}", response_class=HTMLResponse)
async def item_page(request: Request, item_pk: int, fragment: bool = False) -> Response:
    console = console_of(request)
    reach = current_user(request).reach
    data = await run_in_threadpool(queries.item_timeline, console.services.engine, item_pk, reach)
    if data is None:  # none, or another agency's: the same page
        return not_found(request, f"信息 {item_pk}")
    return console.render(request, "_item_live.html" if fragment else "item.html", 200, **data)
