"""``govpub site rebuild`` and ``govpub sandbox cms``: the disclosure column from the shell."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from pipeline.cli.context import pass_services

if TYPE_CHECKING:
    from pipeline.services import Services


@click.group()
def site() -> None:
    """The static disclosure column (website channel, static adapter)."""


@site.command("rebuild")
@click.option("--channel", "name", default="website", show_default=True, help="The website channel.")
@click.option("--agency", "code", default=None, help="Only this agency's column (then the portal's indexes).")
@click.option("--portal", "portal_only", is_flag=True, help="Only the portal's pages and indexes.")
@pass_services
def site_rebuild(services: Services, name: str, code: str | None, portal_only: bool) -> None:
    """Rebuild listings, search indexes and sitemaps from the database: every agency's
    column and the portal (moving the pages of before platform mode into their columns),
    one agency's column, or the portal alone."""
    from channels.website.channel import WebsiteChannel

    if code is not None and portal_only:
        raise click.UsageError("--agency and --portal: one or the other")
    if name not in services.settings.channels:
        raise click.ClickException(f"no channel {name!r}; configured: {sorted(services.settings.channels)}")
    channel = services.channel(name)
    if not isinstance(channel, WebsiteChannel) or channel.files_dir is None:
        raise click.ClickException(f"channel {name!r} does not render a static site")
    if code is not None and services.registry.get(code) is None:
        raise click.ClickException(f"no agency {code} is registered (govpub agencies list)")
    channel.rebuild(code, portal_only, progress=lambda line: click.echo(line, err=True))
    click.echo(f"rebuilt the listings in {channel.files_dir}")


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
