"""The console's 登录安全 page: who is locked out now, and every login, wrong password,
lock and unlock from the audit log; the platform's operators (admins) lift a lock from
here. Lockouts and addresses belong to the whole platform, so a user scoped to agencies
sees only its own account's entries and lifts no lock."""

from __future__ import annotations

from typing import Annotated

import structlog
from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response
from starlette.concurrency import run_in_threadpool

from pipeline.console import audit
from pipeline.console.pages import PREFIX, back_to, console_of, current_user, forbidden, operator

log = structlog.get_logger("govpub.console")
router = APIRouter(prefix=PREFIX, include_in_schema=False)
PAGE = f"{PREFIX}/security"


@router.get("/security", response_class=HTMLResponse)
async def security_page(request: Request, before: int | None = None) -> Response:
    console = console_of(request)
    user = current_user(request)
    own = None if user.reach.platform else user.username
    entries = await run_in_threadpool(
        audit.recent_logins, console.services.engine, before, audit.PAGE + 1, own
    )
    more = len(entries) > audit.PAGE
    entries = entries[: audit.PAGE]
    return console.render(
        request,
        "security.html",
        blocked=await run_in_threadpool(console.throttle.blocked) if own is None else [],
        entries=entries,
        next_before=entries[-1]["id"] if more else None,
    )


@router.post("/security/unlock")
def unlock(request: Request, key: Annotated[str, Form()] = "", csrf: Annotated[str, Form()] = "") -> Response:
    """Lift the wait or lock of one account or address (e.g. a colleague locked out)."""
    user = operator(request, csrf)
    if isinstance(user, Response):
        return user
    if not user.reach.platform:
        return forbidden(request, "登录限制涉及整个平台，只有平台管理员可以解除。")
    console = console_of(request)
    if not console.throttle.unlock(key):
        return back_to(PAGE, f"{key} 没有被限制")
    audit.record(console.services.engine, user, "login_unlocked", console.services.clock(), detail=key)
    log.info("console unlock", username=user.username, key=key)
    return back_to(PAGE, f"已解除对 {key} 的登录限制")
