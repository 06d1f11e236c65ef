"""The archive channel's declaration (``govpub.channels`` entry point ``archive``): one
instance per receiver, counted as 向档案馆、图书馆报送 in the annual report."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from pipeline.plugin import ChannelPlugin, DemoPart, DemoSetup, ReportRole

if TYPE_CHECKING:
    import click
    from sqlalchemy import MetaData


def _channel() -> type[Any]:
    from channels.archive.channel import ArchiveChannel

    return ArchiveChannel


def _cli() -> click.Command:
    from channels.archive.cli import archive

    return archive


def _sandbox() -> click.Command:
    from channels.archive.cli import sandbox

    return sandbox


def _demo(setup: DemoSetup) -> DemoPart:
    from channels.archive.demo import part

    return part(setup)


def _tables() -> MetaData:
    from channels.archive.tables import metadata

    return metadata


plugin = ChannelPlugin(
    kind="archive",
    label="档案馆、图书馆",
    report_role=ReportRole.DEPOSIT,
    channel=_channel,
    cli=_cli,
    sandbox=_sandbox,
    demo=_demo,
    tables=_tables,
    migrations=Path(__file__).with_name("migrations"),
)
