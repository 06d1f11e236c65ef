"""``govpub serve``, ``worker`` and ``beat``: the long-running roles of an installation."""

from __future__ import annotations

import threading

import click

from pipeline.cli.context import prepare_database, settings_to_run


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
def serve(host: str, port: int) -> None:
    """Intake, status, site and feeds; in embedded mode the workers too."""
    import uvicorn

    from pipeline.app import create_app
    from pipeline.services import build_services

    settings = settings_to_run()
    services = build_services(settings)
    prepare_database(services)
    mode = "embedded (in-process worker)" if settings.embedded else f"broker {settings.broker_url}"
    click.echo(f"govpub serving on http://{host}:{port}/ — {mode}, db {settings.database_url}")
    app = create_app(settings, services)  # reads X-Forwarded-For itself (trusted_proxies)
    uvicorn.run(app, host=host, port=port, log_level="warning", proxy_headers=False)


@click.command()
@click.option("--queues", "-Q", default="", help="Comma-separated queues (default: every channel).")
@click.option("--concurrency", "-c", type=int, default=None)
@click.option("--pool", default=None, help="Celery pool: prefork (default), threads, solo.")
def worker(queues: str, concurrency: int | None, pool: str | None) -> None:
    """A Celery worker for some channel queues (needs GOVPUB_BROKER_URL)."""
    from pipeline.queue import all_queues, create_celery, worker_argv
    from pipeline.services import build_services

    settings = settings_to_run()
    if settings.embedded:
        raise click.ClickException("set GOVPUB_BROKER_URL (redis://…) to run separate workers")
    services = build_services(settings)
    app = create_celery(services)
    chosen = [q.strip() for q in queues.split(",") if q.strip()] or all_queues(services)
    app.worker_main(worker_argv(chosen, concurrency, pool))


@click.command()
def beat() -> None:
    """The sweeper and periodic jobs; run exactly one (needs GOVPUB_BROKER_URL)."""
    from pipeline.freshness.job import FreshnessJob
    from pipeline.health import write_heartbeat
    from pipeline.queue import CeleryDispatcher, create_celery
    from pipeline.services import build_services
    from pipeline.sweeper import PeriodicJob, run_forever

    settings = settings_to_run()
    if settings.embedded:
        raise click.ClickException("the embedded mode sweeps in-process; beat needs a broker")
    services = build_services(settings)
    click.echo(f"govpub beat: sweeping every {settings.sweep_interval_seconds}s")
    stop = threading.Event()
    try:
        # the heartbeat `govpub health beat` reads; columns' and accounts' freshness
        jobs: list[PeriodicJob] = [lambda s: write_heartbeat(s.settings), FreshnessJob()]
        run_forever(services, CeleryDispatcher(create_celery(services)), stop, jobs)
    except KeyboardInterrupt:
        stop.set()
