"""What every console page shares: where the console lives, the per-app state its
handlers read (:class:`Console`), and the acting operator's checks.

Kept apart from :mod:`pipeline.console.web` (which mounts the pages) and from the
pages themselves, so a page, the console's own or one a channel's plug-in adds,
imports this module and nothing that imports it back.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import structlog
from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import Environment

from pipeline.console.auth import Accounts, Csrf, Sessions, User
from pipeline.console.throttle import LoginThrottle
from pipeline.services import Services
from pipeline.tenancy import Reach

log = structlog.get_logger("govpub.console")

PREFIX = "/console"
LOGIN = f"{PREFIX}/login"
SECURITY_HEADERS = {
    "content-security-policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    ),
    "x-content-type-options": "nosniff",
    "referrer-policy": "same-origin",
    "cache-control": "no-store",
    "x-frame-options": "DENY",
}


@dataclass
class Console:
    """What the console's handlers share, built once per app."""

    services: Services
    accounts: Accounts
    # logins being checked at once (throttle, argon2id: 64 MiB and a core each); see views.login
    login_slots: threading.BoundedSemaphore
    sessions: Sessions
    throttle: LoginThrottle
    csrf: Csrf
    templates: Environment

    @property
    def secure_cookies(self) -> bool:
        return self.services.settings.public_url.startswith("https://")

    def render(self, request: Request, name: str, status: int = 200, **context: Any) -> HTMLResponse:
        user: User | None = getattr(request.state, "console_user", None)
        html = self.templates.get_template(name).render(
            request=request,
            user=user,
            csrf=self.csrf.token(user.session_hash) if user else "",
            poll_seconds=self.services.settings.console.poll_seconds,
            site_name=self.services.settings.site_name,
            path=request.url.path,
            notice=request.query_params.get("notice", ""),
            **context,
        )
        return HTMLResponse(html, status_code=status, headers=SECURITY_HEADERS)


def console_of(request: Request) -> Console:
    console: Console = request.app.state.console
    return console


def safe_next(target: str) -> str:
    """Only console paths of this site: never an open redirect."""
    if target.startswith(PREFIX + "/") and not target.startswith("//") and "\\" not in target:
        return target
    return PREFIX + "/"


def current_user(request: Request) -> User:
    user: User = request.state.console_user  # set by the login gate
    return user


def reach_of(request: Request, agency: str | None = None) -> Reach:
    """The logged-in user's reach, narrowed to ``?agency=CODE`` when one is asked for
    (OutOfReach when that agency is not the user's: answer it as not found)."""
    return current_user(request).reach.narrow(agency or None)


def serves_within_reach(request: Request, channel: str) -> bool:
    """Whether every agency the channel instance serves is within the user's reach: a
    channel's own page (its queue, its account) shows items of all of them, so a user
    scoped to some agencies sees only the pages of instances serving only theirs."""
    reach = current_user(request).reach
    if reach.platform:
        return True
    services = console_of(request).services
    cfg = services.settings.channels.get(channel)
    if cfg is None or cfg.agencies is None:
        return False
    served = set(cfg.agencies)
    if cfg.include_children:
        served |= {a.code for code in cfg.agencies for a in services.registry.descendants(code)}
    return all(reach.allows(code) for code in served)


def not_found(request: Request, what: str = "") -> Response:
    """The ordinary not-found page: also the answer for another agency's item or delivery."""
    return console_of(request).render(request, "not_found.html", status=404, what=what)


def forbidden(request: Request, why: str) -> Response:
    log.warning(
        "console action refused", username=current_user(request).username, path=request.url.path, why=why
    )
    return console_of(request).render(request, "forbidden.html", status=403, why=why)


def operator(request: Request, csrf: str) -> User | Response:
    """The acting operator, or the 403 answer for an auditor or a forged form."""
    user = current_user(request)
    if not user.may_act:
        return forbidden(request, "审计员账号只能查看，不能执行操作。")
    if not console_of(request).csrf.valid(user.session_hash, csrf):
        return forbidden(request, "表单已过期或来源不可信（CSRF 校验失败），请刷新页面后重试。")
    return user


def back_to(back: str, notice: str) -> Response:
    target = safe_next(back)
    joiner = "&" if "?" in target else "?"
    return RedirectResponse(f"{target}{joiner}{urlencode({'notice': notice})}", status_code=303)
