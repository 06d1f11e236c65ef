"""Machine interfaces for operations: ``/metrics`` (Prometheus), ``/readyz`` and
``/v1/overview`` (what ``govpub status`` shows), without receipts or paths.

None of them carries item content: counts, ages and queue depths only, so they
need no login (restrict them at nginx if the figures themselves are sensitive).
``/healthz`` (the process answers) lives in :mod:`pipeline.app`; ``/readyz`` also
says whether the database and the broker answer, so a load balancer stops sending
traffic to an instance that cannot store anything, and whether every enabled channel's
configuration can work (:mod:`pipeline.channel_checks`).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry
from sqlalchemy import text

from pipeline.channel_checks import channel_problems
from pipeline.metrics import PipelineCollector, exposition
from pipeline.overview import build_overview
from pipeline.services import Services

router = APIRouter(tags=["operations"])


def install(app: FastAPI, services: Services) -> None:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(PipelineCollector(services, lambda: app.state.dispatcher))
    app.state.metrics_registry = registry
    app.include_router(router)


@router.get("/metrics", include_in_schema=False)
def metrics(request: Request) -> Response:
    return Response(exposition(request.app.state.metrics_registry), media_type=CONTENT_TYPE_LATEST)


@router.get("/readyz")
def readyz(request: Request) -> JSONResponse:
    """200 when the database and the broker (if any) answer and every enabled channel's
    configuration can work; 503 otherwise, with what failed (``channels``: name → why)."""
    services: Services = request.app.state.services
    checks: dict[str, str] = {"database": _check_database(services)}
    checks["broker"] = (
        _check_broker(services.settings.broker_url) if services.settings.broker_url else "embedded"
    )
    problems = channel_problems(services.settings)
    ready = all(v in ("ok", "embedded") for v in checks.values()) and not problems
    body = {"status": "ready" if ready else "unavailable", **checks, "channels": problems or "ok"}
    return JSONResponse(body, status_code=200 if ready else 503)


def _check_database(services: Services) -> str:
    try:
        with services.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception as exc:
        return f"{type(exc).__name__}: {exc}"[:300]
    return "ok"


def _check_broker(url: str) -> str:
    import redis

    try:
        client = redis.Redis.from_url(url, socket_timeout=1, socket_connect_timeout=1)
        try:
            client.ping()
        finally:
            client.close()
    except redis.RedisError as exc:
        return f"{type(exc).__name__}: {exc}"[:300]
    return "ok"


@router.get("/v1/overview")
def overview(request: Request) -> dict[str, Any]:
    """Per channel: counts by state today / this week / this year, queue depth, oldest
    waiting delivery, failure rate of the last 24 hours, last delivery."""
    return build_overview(request.app.state.services, request.app.state.dispatcher).to_json()
