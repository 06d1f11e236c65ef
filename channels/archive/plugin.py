"""The archive channel's declaration (``govpub.channels`` entry point ``archive``): one
instance per receiver, counted as 向档案馆、图书馆报送 in the annual report."""

from __future__ import annotations

from pathlib import Path

from pipeline.plugin import ChannelPlugin, DemoPart, DemoSetup, ReportRole, lazy


def _demo(setup: DemoSetup) -> DemoPart:
    from channels.archive.demo import part

    return part(setup)


plugin = ChannelPlugin(
    kind="archive",
    label="档案馆、图书馆",
    report_role=ReportRole.DEPOSIT,
    channel=lazy("channels.archive.channel:ArchiveChannel"),
    cli=lazy("channels.archive.cli:archive"),
    sandbox=lazy("channels.archive.cli:sandbox"),
    demo=_demo,
    tables=lazy("channels.archive.tables:metadata"),
    migrations=Path(__file__).with_name("migrations"),
)
