"""Health checks of the long-running roles, for container and orchestrator probes.

``govpub health serve|worker|beat|port`` exits 0 when the role on this host is
healthy and 1 (with the reason on stderr) when it is not, so Docker's
``HEALTHCHECK``, compose's ``healthcheck`` and Kubernetes' exec probes all use
the same command:

- serve: an HTTP GET of ``/readyz`` (``/healthz`` where there is none) answers 2xx;
- worker: a Celery worker whose node name ends in ``@<this host>`` answers a
  broadcast ping through the broker (so it is alive *and* connected);
- beat: the sweeper wrote its heartbeat into Redis within the last
  :func:`heartbeat_ttl` seconds (the key expires by itself, so a hung or dead
  beat is seen even though nothing deletes it);
- port: something accepts TCP connections (the sandboxes).
"""

from __future__ import annotations

import socket
from datetime import UTC, datetime

import httpx
import redis

from pipeline.config import Settings

HEARTBEAT_KEY = "govpub:beat:heartbeat"


class Unhealthy(Exception):
    """The reason a role is not healthy, printed by the CLI."""


def heartbeat_ttl(settings: Settings) -> int:
    """Seconds a heartbeat stays valid: several sweeps, and never under half a minute."""
    return max(30, int(settings.sweep_interval_seconds * 10))


def write_heartbeat(settings: Settings) -> None:
    """Called by the beat after every successful sweep."""
    client = _redis(settings)
    try:
        now = datetime.now(UTC).isoformat()
        client.set(HEARTBEAT_KEY, now, ex=heartbeat_ttl(settings))
    finally:
        client.close()


def check_beat(settings: Settings) -> str:
    client = _redis(settings)
    try:
        value = client.get(HEARTBEAT_KEY)
    except Exception as exc:
        raise Unhealthy(f"Redis does not answer: {exc}") from exc
    finally:
        client.close()
    if value is None:
        raise Unhealthy(f"no beat heartbeat within {heartbeat_ttl(settings)}s (is `govpub beat` sweeping?)")
    return f"beat swept at {value.decode()}"


def check_worker(settings: Settings, timeout: float = 3.0) -> str:
    from celery import Celery

    if settings.broker_url is None:
        raise Unhealthy("no broker configured: the embedded mode has no separate workers")
    host = socket.gethostname()
    app = Celery("govpub-health", broker=settings.broker_url, set_as_current=False)
    try:
        replies = app.control.ping(timeout=timeout)
    except Exception as exc:
        raise Unhealthy(f"broker does not answer: {exc}") from exc
    finally:
        app.close()
    here = sorted(node for reply in replies for node in reply if node.endswith(f"@{host}"))
    if not here:
        raise Unhealthy(f"no worker on {host} answered a ping within {timeout}s")
    return "answered: " + ", ".join(here)


def check_serve(port: int, timeout: float = 5.0) -> str:
    """``/readyz`` (the database and the broker answer); a server without that endpoint
    (an older release during a rolling upgrade) is asked for ``/healthz`` instead."""
    base = f"http://127.0.0.1:{port}"
    try:
        answer = httpx.get(f"{base}/readyz", timeout=timeout)
        if answer.status_code == 404:
            answer = httpx.get(f"{base}/healthz", timeout=timeout)
    except httpx.HTTPError as exc:
        raise Unhealthy(f"{base}: {exc}") from exc
    if not answer.is_success:
        raise Unhealthy(f"{answer.url} answered {answer.status_code}: {answer.text[:200]}")
    return f"{answer.url} answered {answer.status_code}"


def check_port(port: int, host: str = "127.0.0.1", timeout: float = 3.0) -> str:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return f"{host}:{port} accepts connections"
    except OSError as exc:
        raise Unhealthy(f"{host}:{port}: {exc}") from exc


def _redis(settings: Settings) -> redis.Redis:
    url = settings.redis
    if url is None:
        raise Unhealthy("no Redis configured (GOVPUB_BROKER_URL or GOVPUB_REDIS_URL)")
    return redis.Redis.from_url(url, socket_timeout=3, socket_connect_timeout=3)
