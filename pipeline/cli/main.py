"""``govpub``: run the pipeline, submit and follow items, administer sources.

The entry module: the root group with the core's commands (one module per group) and
the installed channel plug-ins' commands (``plugin.cli`` as ``govpub <name> …``,
``plugin.sandbox`` under ``govpub sandbox``), looked up when asked for, so a core
command imports no channel.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

import click

from pipeline import registry
from pipeline.cli.agencies import agencies
from pipeline.cli.database import db
from pipeline.cli.demo import demo
from pipeline.cli.freshness import freshness
from pipeline.cli.health import health
from pipeline.cli.items import retract, status, submit
from pipeline.cli.ops import ops
from pipeline.cli.report import report
from pipeline.cli.roles import beat, serve, worker
from pipeline.cli.sources import sources
from pipeline.cli.users import users
from pipeline.plugin import ChannelPlugin

Offered = Callable[[ChannelPlugin], Callable[[], click.Command] | None]


class WithPlugins(click.Group):
    """A group of its own commands plus one from each installed plug-in that offers one
    (``offered(plugin)``: its factory, or None). Its own commands come first on a clash."""

    def __init__(self, *args: Any, offered: Offered, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.offered = offered

    def plugin_commands(self) -> dict[str, click.Command]:
        made = (factory() for p in registry.plugins().values() if (factory := self.offered(p)))
        return {command.name: command for command in made if command.name}

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *self.plugin_commands()})

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        return super().get_command(ctx, name) or self.plugin_commands().get(name)


@click.group(cls=WithPlugins, offered=lambda p: p.cli)
@click.version_option(package_name="govpub")
def main() -> None:
    """govpub: approved disclosure items in, every channel delivered and logged."""
    from pipeline.logs import configure

    configure(os.environ.get("GOVPUB_LOG_FORMAT", "console"))


@main.group(cls=WithPlugins, offered=lambda p: p.sandbox)
def sandbox() -> None:
    """Loopback stand-ins for the services govpub talks to."""


for command in (
    serve,
    worker,
    beat,
    submit,
    retract,
    status,
    sources,
    agencies,
    users,
    ops,
    db,
    demo,
    report,
    freshness,
    health,
):
    main.add_command(command)
