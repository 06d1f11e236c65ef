"""``govpub feeds build`` and ``govpub sandbox websub``: the feed channel from the shell."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from pipeline.cli.context import pass_services

if TYPE_CHECKING:
    from pipeline.services import Services


@click.group()
def feeds() -> None:
    """The feed channel's RSS and Atom files."""


@feeds.command("build")
@pass_services
def feeds_build(services: Services) -> None:
    """Regenerate every feed (after changing a feed option such as ``entries``)."""
    from channels.feed.channel import FeedChannel

    channel = next(services.channels_of_kind("feed"), None)
    if not isinstance(channel, FeedChannel):
        raise click.ClickException("no enabled channel of kind feed is configured")
    names = channel.rebuild()
    click.echo(f"{len(names)} feeds regenerated in {channel.folder}: {', '.join(names)}")


@click.command("websub")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8091, show_default=True, type=int)
@click.option("--fetch/--no-fetch", default=True, show_default=True, help="Fetch each pinged feed.")
def sandbox(host: str, port: int, fetch: bool) -> None:
    """A WebSub hub that records the feed channel's publish pings."""
    from channels.feed.sandbox import serve

    click.echo(f"WebSub hub sandbox on http://{host}:{port}/ — pings listed at /sandbox/pings")
    serve(host, port, fetch)
