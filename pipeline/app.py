"""The web application factory: the same ``create_app`` serves tests, the embedded
mode and production; only the settings differ."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse
from sqlalchemy.exc import OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from pipeline import __version__, intake, ops, opsapi, registry
from pipeline.config import Settings
from pipeline.console.web import ASSETS as CONSOLE_ASSETS
from pipeline.console.web import install as install_console
from pipeline.dispatch import Dispatcher
from pipeline.errors import IntakeError
from pipeline.intake import validation_details
from pipeline.queue import CeleryDispatcher, create_celery
from pipeline.redact import HidePaths, PathRedactor, installation_roots
from pipeline.report import router as report_router
from pipeline.services import Services, build_services
from pipeline.text import CleanUrls

log = structlog.get_logger("govpub.app")


def create_app(
    settings: Settings, services: Services | None = None, dispatcher: Dispatcher | None = None
) -> FastAPI:
    services = services or build_services(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        local = None
        if app.state.dispatcher is None:
            if settings.embedded:
                from pipeline.embedded import LocalDispatcher

                local = LocalDispatcher(services, settings.embedded_workers)
                local.start()
                app.state.dispatcher = local
            else:
                app.state.dispatcher = CeleryDispatcher(create_celery(services))
        yield
        if local is not None:
            local.close()

    app = FastAPI(
        title="govpub",
        version=__version__,
        lifespan=lifespan,
        description="Intake and operations API of govpub, the 主动公开 publishing pipeline.",
        # Counted while the body streams in (chunked bodies too): 413 at the first byte over.
        max_body_size=settings.max_body_bytes,
    )
    app.state.services = services
    app.state.dispatcher = dispatcher
    app.state.enqueue = lambda work: _enqueue(app, services, work)
    app.include_router(intake.router)
    for declared in registry.plugins().values():  # each installed kind's public routes
        if declared.routes is not None:
            app.include_router(declared.routes())
    app.include_router(report_router.router)
    ops.install(app, services)
    app.include_router(opsapi.router)
    install_console(app, services)
    # outermost: every handler sees the client's own address (the login throttle counts by it)
    app.add_middleware(ProxyHeadersMiddleware, trusted_hosts=settings.trusted_proxies)
    _error_handlers(app)
    app.add_middleware(CleanUrls)  # the text rule for URLs, before any route or gate
    # Outermost: whatever any handler or middleware answers, no path of ours goes out.
    published = (*registry.served_paths(), CONSOLE_ASSETS)
    app.add_middleware(HidePaths, redactor=PathRedactor(installation_roots(settings)), published=published)

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    def home() -> str:
        return _status_page(services.store.counts(), _public_links(settings))

    @app.get("/healthz", tags=["operations"])
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    return app


def _enqueue(app: FastAPI, services: Services, work: list[tuple[int, str]]) -> None:
    """Tell the queue; a failure here loses nothing (the sweeper re-sends pending rows)."""
    try:
        app.state.dispatcher.send(work)
    except Exception as exc:
        log.warning("enqueue failed; the sweeper will send it", error=str(exc), count=len(work))
        return
    services.deliveries.mark_queued([d for d, _ in work], services.clock())


def _error_handlers(app: FastAPI) -> None:
    @app.exception_handler(IntakeError)
    async def intake_error(_: Request, exc: IntakeError) -> JSONResponse:
        return JSONResponse(exc.to_json(), status_code=exc.status)

    @app.exception_handler(OperationalError)
    async def database_down(_: Request, exc: OperationalError) -> JSONResponse:
        """The database is unreachable or restarting: nothing was accepted, try again."""
        log.warning("database unavailable", error=str(exc.orig)[:200])
        body = {
            "error": "unavailable",
            "message": "the database is unavailable; retry shortly",
            "details": [],
        }
        return JSONResponse(body, status_code=503, headers={"retry-after": "2"})

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        """Starlette's own refusals (unparseable body, unknown path, a body over
        ``max_body_bytes``) in our error shape."""
        code = {400: "malformed_request", 404: "not_found", 405: "method_not_allowed", 413: "too_large"}.get(
            exc.status_code, f"http_{exc.status_code}"
        )
        message = str(exc.detail)
        if exc.status_code == 413:
            message = f"body over {request.app.state.services.settings.max_body_bytes} bytes"
        body = {"error": code, "message": message, "details": []}
        return JSONResponse(body, status_code=exc.status_code, headers=exc.headers)

    @app.exception_handler(RequestValidationError)
    async def invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        errors: list[dict[str, Any]] = list(exc.errors())
        if any(e.get("type") == "json_invalid" for e in errors):
            body = {
                "error": "malformed_json",
                "message": "the body is not valid JSON",
                "details": validation_details(exc),
            }
            return JSONResponse(body, status_code=400)
        body = {"error": "invalid_item", "message": "item refused", "details": validation_details(exc)}
        return JSONResponse(body, status_code=422)


def _public_links(settings: Settings) -> dict[str, str]:
    """What the public may follow (text → path): the links the plug-ins of the enabled
    channels declare."""
    running = {cfg.kind for cfg in settings.enabled_channels().values()}
    return {
        text: path
        for kind, declared in registry.plugins().items()
        if kind in running
        for text, path in declared.public_links.items()
    }


def _status_page(counts: dict[str, dict[str, int]], links: dict[str, str]) -> str:
    from html import escape

    rows = "".join(
        f"<tr><th scope='row'>{escape(ch)}</th>"
        + "".join(f"<td>{escape(st)}: {n}</td>" for st, n in sorted(states.items()))
        + "</tr>"
        for ch, states in sorted(counts.items())
    )
    public = "".join(f"<a href='{escape(path)}'>{escape(text)}</a> · " for text, path in links.items())
    return (
        "<!doctype html><html lang='zh-CN'><meta charset='utf-8'><title>govpub</title>"
        "<h1>govpub 投递状态</h1><table><caption>各渠道投递状态</caption>"
        f"{rows}</table><p>{public}<a href='/console/'>运维控制台</a> · <a href='/docs'>API</a></p></html>"
    )
