"""``govpub``: run the pipeline, submit and follow items, administer sources."""

from __future__ import annotations

import json
import os
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from channels.archive.cli import archive as archive_commands
from channels.wechat.cli import wechat as wechat_commands
from pipeline.config import Settings, load_settings
from pipeline.errors import ConfigError, GovpubError

LOCAL_URL = "http://127.0.0.1:8000"
url_option = click.option("--url", default=LOCAL_URL, show_default=True, help="A running govpub instance.")
token_option = click.option("--token", envvar="GOVPUB_TOKEN", help="Source token (or GOVPUB_TOKEN).")


def settings_or_exit() -> Settings:
    try:
        return load_settings()
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from exc


def settings_to_run() -> Settings:
    """The settings of a long-running role (serve, worker, beat): every enabled channel
    must be able to work, or the role does not start."""
    from pipeline.channel_checks import channel_problems

    settings = settings_or_exit()
    problems = channel_problems(settings)
    if problems:
        lines = [f"channel {name!r} cannot work: {why}" for name, why in sorted(problems.items())]
        raise click.ClickException("\n".join(lines))
    return settings


@click.group()
@click.version_option(package_name="govpub")
def main() -> None:
    """govpub: approved disclosure items in, every channel delivered and logged."""
    from pipeline.logs import configure

    configure(os.environ.get("GOVPUB_LOG_FORMAT", "console"))


@main.command()
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


def services_or_exit() -> Any:
    """The services of the configured installation, its database up to date (for the
    commands that work on it directly)."""
    from pipeline.services import build_services

    services = build_services(settings_or_exit())
    prepare_database(services)
    return services


def prepare_database(services: Any) -> None:
    """The embedded SQLite database migrates itself; PostgreSQL uses ``govpub db upgrade``."""
    if services.settings.database_url.startswith("sqlite"):
        from pipeline.schema import upgrade

        upgrade(services.engine)


@main.command()
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


@main.command()
def beat() -> None:
    """The sweeper and periodic jobs; run exactly one (needs GOVPUB_BROKER_URL)."""
    from pipeline.health import write_heartbeat
    from pipeline.queue import CeleryDispatcher, create_celery
    from pipeline.services import build_services
    from pipeline.sweeper import run_forever

    settings = settings_to_run()
    if settings.embedded:
        raise click.ClickException("the embedded mode sweeps in-process; beat needs a broker")
    services = build_services(settings)
    click.echo(f"govpub beat: sweeping every {settings.sweep_interval_seconds}s")
    stop = threading.Event()
    try:
        heartbeat = [lambda s: write_heartbeat(s.settings)]  # for `govpub health beat`
        run_forever(services, CeleryDispatcher(create_celery(services)), stop, heartbeat)
    except KeyboardInterrupt:
        stop.set()


@main.command()
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@url_option
@token_option
@click.option("--batch", default=500, show_default=True, type=click.IntRange(1, 500))
def submit(file: Path, url: str, token: str | None, batch: int) -> None:
    """Submit the items of a JSON Lines file; prints one result per item."""
    from pipeline.submit_file import submit_file

    failed = submit_file(file, url, token, batch)
    if failed:
        raise SystemExit(1)


@main.command()
@click.argument("source")
@click.argument("item_id")
@click.option("--reason", required=True, help="Why the item is withdrawn (kept in the record).")
@url_option
@token_option
def retract(source: str, item_id: str, reason: str, url: str, token: str | None) -> None:
    """Retract (撤回) an item from every channel."""
    from pipeline.client import GovpubClient

    with GovpubClient(url, token) as client:
        click.echo(json.dumps(client.retract(source, item_id, reason), ensure_ascii=False))


@main.command()
@url_option
@click.option("--json", "as_json", is_flag=True, help="{channel: {state: count}} as JSON.")
@click.option("--watch", is_flag=True, help="Keep the tables on screen, refreshed (Ctrl-C ends).")
@click.option("--interval", default=2.0, show_default=True, type=click.FloatRange(0.2), help="Seconds.")
def status(url: str, as_json: bool, watch: bool, interval: float) -> None:
    """The operations overview per channel (counts today/this week/this year, queue
    depth, oldest waiting delivery, failure rate); --watch refreshes it."""
    from pipeline.client import GovpubClient
    from pipeline.status_view import overview_tables

    with GovpubClient(url) as client:
        if as_json:
            click.echo(json.dumps(client.counts(), ensure_ascii=False, sort_keys=True))
            return
        if not watch:
            from rich.console import Console

            Console().print(overview_tables(client.overview()))
            return
        import time

        from rich.live import Live

        with Live(overview_tables(client.overview()), auto_refresh=False) as live:
            try:
                while True:
                    time.sleep(interval)
                    live.update(overview_tables(client.overview()), refresh=True)
            except KeyboardInterrupt:
                pass


@main.group()
def sources() -> None:
    """Upstream systems allowed to submit items."""


@sources.command("add")
@click.argument("name")
def sources_add(name: str) -> None:
    """Create (or re-key) a source; prints its token once, alone on the last line."""
    import re

    from pipeline.services import build_services

    if not re.fullmatch(r"[a-z0-9][a-z0-9_.-]{0,63}", name):
        raise click.ClickException("source names: lower-case letters, digits, '_', '.', '-'")
    services = build_services(settings_or_exit())
    prepare_database(services)
    token = services.store.add_source(name)
    click.echo(f"source {name} created; its token (shown only now):", err=True)
    click.echo(token)


@sources.command("revoke")
@click.argument("name")
def sources_revoke(name: str) -> None:
    """Revoke a source's token."""
    from pipeline.services import build_services

    if not build_services(settings_or_exit()).store.revoke_source(name):
        raise click.ClickException(f"no source {name}")
    click.echo(f"source {name} revoked")


@main.group()
def users() -> None:
    """Operator console accounts (roles: operator acts, auditor reads)."""


@users.command("add")
@click.argument("name")
@click.option("--role", type=click.Choice(["operator", "auditor"]), required=True)
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input instead.")
def users_add(name: str, role: str, password_stdin: bool) -> None:
    """Create (or reset) an account; prints a generated password once, alone on the last line."""
    from pipeline.console.auth import Accounts
    from pipeline.services import build_services

    services = build_services(settings_or_exit())
    prepare_database(services)
    given = sys.stdin.readline().rstrip("\r\n") if password_stdin else None
    try:
        password = Accounts(services.engine, services.clock).add(name, role, given)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"console user {name} ({role}) saved; other sessions of {name} ended", err=True)
    if given is None:
        click.echo("its password (shown only now):", err=True)
        click.echo(password)


@users.command("list")
def users_list() -> None:
    """Accounts and their roles."""
    from pipeline.console.auth import Accounts
    from pipeline.services import build_services

    services = build_services(settings_or_exit())
    for name, role, created in Accounts(services.engine, services.clock).list():
        click.echo(f"{name}\t{role}\t{created.isoformat()}")


@users.command("remove")
@click.argument("name")
def users_remove(name: str) -> None:
    """Delete an account and end its sessions."""
    from pipeline.console.auth import Accounts
    from pipeline.services import build_services

    services = build_services(settings_or_exit())
    if not Accounts(services.engine, services.clock).remove(name):
        raise click.ClickException(f"no console user {name}")
    click.echo(f"console user {name} removed")


@main.group()
def db() -> None:
    """Database administration."""


@db.command("upgrade")
def db_upgrade() -> None:
    """Apply the migrations (run once per release, before the workers start)."""
    from pipeline.schema import upgrade
    from pipeline.services import build_services

    upgrade(build_services(settings_or_exit()).engine)
    click.echo("database at the latest schema")


@db.command("check")
def db_check() -> None:
    """Exit 0 when the database has every migration of this release, 1 when it does not
    (Kubernetes pods wait on this until the migration job has run)."""
    from pipeline.schema import pending
    from pipeline.services import build_services

    missing = pending(build_services(settings_or_exit()).engine)
    if missing:
        click.echo(f"database lacks migrations {', '.join(missing)}: run `govpub db upgrade`", err=True)
        raise SystemExit(1)
    click.echo("database at the latest schema")


@main.command()
@click.option("--url", default=None, help="Submit to a running instance instead of an embedded one.")
@token_option
@click.option("--port", default=8000, show_default=True, type=int)
@click.option(
    "--serve/--no-serve",
    default=True,
    show_default=True,
    help="Keep the embedded instance running after the demo items are delivered.",
)
def demo(url: str | None, token: str | None, port: int, serve: bool) -> None:
    """Submit the demo items and follow them until every channel has them."""
    from pipeline.demo_run import run_demo

    run_demo(settings_or_exit(), url, token, port, serve)


@main.command()
@click.option("--year", type=click.IntRange(1990, 2999), required=True, help="The year, in local time.")
@click.option("--agency", default=None, help="One agency's code (default: every agency).")
@click.option(
    "--format",
    "formats",
    multiple=True,
    type=click.Choice(["text", "json", "md", "html", "docx", "xlsx"]),
    help="Output format; repeatable with --out (default: text, or every format with --out).",
)
@click.option(
    "--figures",
    "figures_path",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=None,
    help="The operator's figures (TOML); default: <data_dir>/reports/figures-YEAR.toml if present.",
)
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), help="Write the files here.")
@click.option("--figures-template", is_flag=True, help="Print a blank figures file for the year and stop.")
def report(
    year: int,
    agency: str | None,
    formats: tuple[str, ...],
    figures_path: Path | None,
    out: Path | None,
    figures_template: bool,
) -> None:
    """The annual report (政府信息公开工作年度报告) counted from the delivery log."""
    from pipeline.report.command import figures_template as template
    from pipeline.report.command import run_report

    if figures_template:
        click.echo(template(year), nl=False)
        return
    try:
        run_report(settings_or_exit(), year, agency, list(formats), figures_path, out)
    except GovpubError as exc:
        raise click.ClickException(str(exc)) from exc


@main.group()
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
def health_worker() -> None:
    """A Celery worker on this host answers a ping through the broker."""
    from pipeline.health import check_worker

    _report_health(check_worker, settings_or_exit())


@health.command("beat")
def health_beat() -> None:
    """The beat swept recently (its heartbeat in Redis has not expired)."""
    from pipeline.health import check_beat

    _report_health(check_beat, settings_or_exit())


@health.command("port")
@click.argument("port", type=int)
def health_port(port: int) -> None:
    """Something accepts connections on 127.0.0.1:PORT (the sandboxes)."""
    from pipeline.health import check_port

    _report_health(check_port, port)


@main.group()
def sandbox() -> None:
    """Loopback stand-ins for the services govpub talks to."""


@sandbox.command("wechat")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8090, show_default=True, type=int)
@click.option("--appid", default="wxsandbox0000001", show_default=True)
@click.option("--secret", envvar="GOVPUB_WECHAT_SECRET", default="sandbox-secret", show_default=True)
@click.option("--account-type", type=click.Choice(["subscription", "service"]), default="subscription")
@click.option("--callback-url", default="", help="Where to POST PUBLISHJOBFINISH/MASSSENDJOBFINISH events.")
@click.option("--callback-token", default="", help="The token the callback is signed with.")
@click.option("--encoding-aes-key", default="", help="Safe mode: encrypt callbacks with this key.")
@click.option("--publish-delay", default=1.0, show_default=True, type=float, help="Seconds until a result.")
def sandbox_wechat(
    host: str,
    port: int,
    appid: str,
    secret: str,
    account_type: str,
    callback_url: str,
    callback_token: str,
    encoding_aes_key: str,
    publish_delay: float,
) -> None:
    """A WeChat official-account API (tokens, drafts, publish, mass send) on loopback."""
    from channels.sandboxes.wechat import serve
    from channels.sandboxes.wechat_account import Config

    config = Config(
        appid=appid,
        secret=secret,
        account_type=account_type,
        callback_url=callback_url,
        callback_token=callback_token,
        encoding_aes_key=encoding_aes_key,
        publish_delay=publish_delay,
    )
    click.echo(f"WeChat sandbox on http://{host}:{port}/cgi-bin/ (appid {appid}); control at /sandbox/")
    serve(host, port, config)


@sandbox.command("archive")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8790, show_default=True, type=int)
@click.option(
    "--dir", "folder", default="var/archive-sandbox", show_default=True, type=click.Path(path_type=Path)
)
@click.option("--token", default=None, help="Require this bearer token.")
def sandbox_archive(host: str, port: int, folder: Path, token: str | None) -> None:
    """An archive receiver that checks uploaded packages and answers receipts."""
    from channels.sandboxes.archive import serve

    click.echo(f"archive receiver sandbox on http://{host}:{port}/ — packages in {folder}")
    serve(host, port, folder, token)


@main.group()
def site() -> None:
    """The static disclosure column (website channel, static adapter)."""


@site.command("rebuild")
@click.option("--channel", "name", default="website", show_default=True, help="The website channel.")
def site_rebuild(name: str) -> None:
    """Rebuild every listing, search index and sitemap from the database."""
    from pipeline.services import build_services

    services = build_services(settings_or_exit())
    if name not in services.settings.channels:
        raise click.ClickException(f"no channel {name!r}; configured: {sorted(services.settings.channels)}")
    folder = getattr(services.channel(name), "site_dir", None)
    if folder is None:
        raise click.ClickException(f"channel {name!r} does not render a static site")
    services.channel(name).rebuild()  # type: ignore[attr-defined]
    click.echo(f"rebuilt the listings in {folder}")


@sandbox.command("cms")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8780, show_default=True, type=int)
@click.option("--token", envvar="GOVPUB_CMS_TOKEN", default="sandbox-token", show_default=True)
@click.option("--secret", envvar="GOVPUB_CMS_SECRET", default="sandbox-secret", show_default=True)
def sandbox_cms(host: str, port: int, token: str, secret: str) -> None:
    """An agency CMS that takes signed document pushes (the website channel's http adapter)."""
    from channels.sandboxes.cms import serve

    click.echo(f"CMS sandbox on http://{host}:{port}/documents (token and secret from the options or env)")
    click.echo(f'misbehave on purpose: POST http://{host}:{port}/control, e.g. {{"fail": 2}}')
    serve(host, port, token, secret)


@sandbox.command("websub")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8091, show_default=True, type=int)
@click.option("--fetch/--no-fetch", default=True, show_default=True, help="Fetch each pinged feed.")
def sandbox_websub(host: str, port: int, fetch: bool) -> None:
    """A WebSub hub that records the feed channel's publish pings."""
    from channels.sandboxes.websub import serve

    click.echo(f"WebSub hub sandbox on http://{host}:{port}/ — pings listed at /sandbox/pings")
    serve(host, port, fetch)


@main.group()
def feeds() -> None:
    """The feed channel's RSS and Atom files."""


@feeds.command("build")
def feeds_build() -> None:
    """Regenerate every feed (after changing a feed option such as ``entries``)."""
    from pipeline.feeds import feed_channel
    from pipeline.services import build_services

    services = build_services(settings_or_exit())
    prepare_database(services)
    channel = feed_channel(services)
    if channel is None:
        raise click.ClickException("no enabled channel of kind feed is configured")
    names = channel.rebuild()
    click.echo(f"{len(names)} feeds regenerated in {channel.folder}: {', '.join(names)}")


main.add_command(archive_commands)
main.add_command(wechat_commands)


def run() -> None:
    try:
        main()
    except GovpubError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(2)


if __name__ == "__main__":
    main()
