"""Wiring of the console into the app: the login gate, templates, static files.

The gate is one ASGI middleware in front of every ``/console`` URL (pages, actions,
fragments, and URLs that do not exist): without a live session the answer is a
redirect to the login page, so no route can forget to check. Pages are rendered
with Jinja2 (autoescaped) under a strict Content-Security-Policy: scripts and
styles only from ``/console-assets/``.
"""

from __future__ import annotations

import threading
from datetime import datetime
from importlib.resources import files
from pathlib import Path
from urllib.parse import quote, urlencode
from zoneinfo import ZoneInfo

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles
from jinja2 import BaseLoader, ChoiceLoader, Environment, FileSystemLoader, PackageLoader, select_autoescape
from sqlalchemy.exc import OperationalError
from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Receive, Scope, Send

from pipeline.console import words
from pipeline.console.auth import SESSION_COOKIE, Accounts, Csrf, Sessions, load_secret_key
from pipeline.console.pages import LOGIN, PREFIX, Console
from pipeline.console.throttle import LoginThrottle
from pipeline.overview import coarse_age
from pipeline.services import Services

ASSETS = "/console-assets"


def build_console(services: Services) -> Console:
    settings = services.settings
    env = Environment(
        loader=_template_loader(),
        autoescape=select_autoescape(default=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    zone = ZoneInfo(settings.timezone)
    env.filters.update(
        local=lambda dt: dt.astimezone(zone).strftime("%Y-%m-%d %H:%M:%S") if dt else "",
        duration=duration,
        state=words.state,
        kind=words.kind,
        outcome=lambda o: words.OUTCOMES.get(o, o),
        action=lambda a: words.ACTIONS.get(a, a),
        audit=lambda a: words.AUDIT.get(a, a),
        explain=words.error_explained,
        refs=words.ref_links,
        percent=lambda r: "—" if r is None else f"{r * 100:.1f}%",
        urlquote=lambda s: quote(str(s), safe=""),
    )
    env.globals.update(STATES=words.STATES, ROLES=words.ROLES, urlencode=urlencode)

    def agency_name(code: str | None) -> str:
        """An agency's name (its code when it is not registered), as the lists show it."""
        found = services.registry.get(code) if code else None
        return found.name if found else (code or "—")

    env.globals["agency_name"] = agency_name

    def clock() -> datetime:  # looked up at each call, so a test may move the services' clock
        return services.clock()

    return Console(
        services=services,
        accounts=Accounts(services.engine, clock),
        login_slots=threading.BoundedSemaphore(settings.console.password_checks_at_once),
        sessions=Sessions(services.engine, settings, clock),
        throttle=LoginThrottle(services.engine, settings.console, clock),
        csrf=Csrf(load_secret_key(settings)),
        templates=env,
    )


def _template_loader() -> BaseLoader:
    """The console's templates, then those of the pages the installed kinds add."""
    from pipeline import registry

    folders = [
        str(page.templates)
        for declared in registry.plugins().values()
        for page in declared.console_pages
        if page.templates is not None
    ]
    return ChoiceLoader([PackageLoader("pipeline.console", "templates"), FileSystemLoader(folders)])


def duration(seconds: float | None) -> str:
    if seconds is None:
        return "—"
    amount, unit = coarse_age(seconds)
    return f"{amount} {dict(d='天', h='小时', m='分钟', s='秒')[unit]}"


class LoginGate:
    """Every ``/console`` URL but the login page needs a live session."""

    def __init__(self, app: ASGIApp, console: Console) -> None:
        self.app, self.console = app, console

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if scope["type"] != "http" or not (path == PREFIX or path.startswith(PREFIX + "/")) or path == LOGIN:
            await self.app(scope, receive, send)
            return
        request = Request(scope)
        token = request.cookies.get(SESSION_COOKIE, "")
        try:
            user = await run_in_threadpool(self.console.sessions.user, token) if token else None
        except OperationalError:  # the database restarts: say so rather than fail with a 500
            unavailable = HTMLResponse(
                "<!doctype html><meta charset='utf-8'><title>暂不可用</title>"
                "<p>数据库暂不可用，请稍后刷新。</p>",
                status_code=503,
                headers={"retry-after": "2"},
            )
            await unavailable(scope, receive, send)
            return
        if user is None:
            target = path + (f"?{scope['query_string'].decode()}" if scope.get("query_string") else "")
            response = RedirectResponse(f"{LOGIN}?{urlencode({'next': target})}", status_code=303)
            if token:
                response.delete_cookie(SESSION_COOKIE, path=PREFIX)
            await response(scope, receive, send)
            return
        scope.setdefault("state", {})["console_user"] = user
        await self.app(scope, receive, send)


def install(app: FastAPI, services: Services) -> None:
    from pipeline import registry
    from pipeline.console import actions, security, views

    console = build_console(services)
    app.state.console = console
    app.add_middleware(LoginGate, console=console)
    app.include_router(views.router)
    app.include_router(actions.router)
    app.include_router(security.router)
    for declared in registry.plugins().values():  # pages the installed kinds add
        for page in declared.console_pages:
            app.include_router(page.router())
    static = Path(str(files("pipeline.console").joinpath("static")))
    app.mount(ASSETS, StaticFiles(directory=static), name="console-assets")
