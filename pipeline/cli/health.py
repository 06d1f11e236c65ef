"""``govpub health``: container and orchestrator probes for the roles on this host."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import click

from pipeline.cli.context import pass_settings

if TYPE_CHECKING:
    from pipeline.config import Settings


@click.group()
def health() -> None:
    """Exit 0 when a role on this host is healthy (container and orchestrator probes)."""


def _report_health(check: Callable[..., str], *args: Any) -> None:
    from pipeline.health import Unhealthy

    try:
        click.echo(check(*args))
    except Unhealthy as exc:
        click.echo(f"unhealthy: {exc}", err=True)
        raise SystemExit(1) from exc


@health.command("serve")
@click.option("--port", default=8000, show_default=True, type=int)
def health_serve(port: int) -> None:
    """`govpub serve` on 127.0.0.1:PORT is ready (/readyz answers 2xx)."""
    from pipeline.health import check_serve

    _report_health(check_serve, port)


@health.command("worker")
@pass_settings
def health_worker(settings: Settings) -> None:
    """A Celery worker on this host answers a ping through the broker."""
    from pipeline.health import check_worker

    _report_health(check_worker, settings)


@health.command("beat")
@pass_settings
def health_beat(settings: Settings) -> None:
    """The beat swept recently (its heartbeat in Redis has not expired)."""
    from pipeline.health import check_beat

    _report_health(check_beat, settings)


@health.command("port")
@click.argument("port", type=int)
def health_port(port: int) -> None:
    """Something accepts connections on 127.0.0.1:PORT (the sandboxes)."""
    from pipeline.health import check_port

    _report_health(check_port, port)
