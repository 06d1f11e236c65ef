"""``govpub site rebuild|check`` and ``govpub sandbox cms``: the disclosure column from the shell."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import click

from pipeline.cli.context import pass_services

if TYPE_CHECKING:
    from channels.website.channel import WebsiteChannel
    from pipeline.services import Services


@click.group()
def site() -> None:
    """The static disclosure column (website channel, static adapter)."""


def _static_channel(services: Services, name: str) -> WebsiteChannel:
    from channels.website.channel import WebsiteChannel

    if name not in services.settings.channels:
        raise click.ClickException(f"no channel {name!r}; configured: {sorted(services.settings.channels)}")
    channel = services.channel(name)
    if not isinstance(channel, WebsiteChannel) or channel.files_dir is None:
        raise click.ClickException(f"channel {name!r} does not render a static site")
    return channel


@site.command("rebuild")
@click.option("--channel", "name", default="website", show_default=True, help="The website channel.")
@click.option("--agency", "code", default=None, help="Only this agency's column (then the portal's indexes).")
@click.option("--portal", "portal_only", is_flag=True, help="Only the portal's pages and indexes.")
@click.option(
    "--pages", "item_pages", is_flag=True, help="Item pages too (after the footer or a template changed)."
)
@pass_services
def site_rebuild(
    services: Services, name: str, code: str | None, portal_only: bool, item_pages: bool
) -> None:
    """Rebuild listings, search indexes and sitemaps from the database: every agency's
    column and the portal (moving the pages of before platform mode into their columns),
    one agency's column, or the portal alone; with --pages every shown item's page too."""
    if code is not None and portal_only:
        raise click.UsageError("--agency and --portal: one or the other")
    channel = _static_channel(services, name)
    if code is not None and services.registry.get(code) is None:
        raise click.ClickException(f"no agency {code} is registered (govpub agencies list)")
    channel.rebuild(code, portal_only, lambda line: click.echo(line, err=True), item_pages)
    click.echo(f"rebuilt the listings in {channel.files_dir}")


@site.command("check")
@click.option("--channel", "name", default="website", show_default=True, help="The website channel.")
@click.option("--json", "as_json", is_flag=True, help="As JSON.")
@pass_services
def site_check(services: Services, name: str, as_json: bool) -> None:
    """What each agency's column still lacks for inspections: a 政府信息公开指南 or
    政府信息公开制度 of its own (else govpub's default text), the footer's 主办单位,
    网站标识码, ICP 备案号 and 公安机关备案号; and the years of its recorded annual
    reports. Exits 1 when any column lacks something."""
    channel = _static_channel(services, name)
    reviews = channel.review()
    if as_json:
        rows = [
            {**r.__dict__, "guide": _path(r.guide), "rules": _path(r.rules), "notes": r.notes}
            for r in reviews
        ]
        click.echo(json.dumps(rows, ensure_ascii=False, indent=2))
    for review in [] if as_json else reviews:
        years = "、".join(str(y) for y in review.report_years) or "none recorded"
        click.echo(f"{review.code} {review.name} (/{review.path}/): annual reports {years}")
        for note in review.notes or ["complete"]:
            click.echo(f"  {note}")
    if any(r.notes for r in reviews):
        raise SystemExit(1)


def _path(path: Path | None) -> str | None:
    return str(path) if path is not None else None


@click.command("cms")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8780, show_default=True, type=int)
@click.option("--token", envvar="GOVPUB_CMS_TOKEN", default="sandbox-token", show_default=True)
@click.option("--secret", envvar="GOVPUB_CMS_SECRET", default="sandbox-secret", show_default=True)
def sandbox(host: str, port: int, token: str, secret: str) -> None:
    """An agency CMS that takes signed document pushes (the website channel's http adapter)."""
    from channels.website.sandbox import serve

    click.echo(f"CMS sandbox on http://{host}:{port}/documents (token and secret from the options or env)")
    click.echo(f'misbehave on purpose: POST http://{host}:{port}/control, e.g. {{"fail": 2}}')
    serve(host, port, token, secret)
