"""The feed channel's declaration (``govpub.channels`` entry point ``feed``): RSS and
Atom files served under ``/feeds/``, counted with the other channels in the report."""

from __future__ import annotations

from pathlib import Path

from pipeline.plugin import Alternate, ChannelPlugin, DemoPart, DemoSetup, ReportRole, lazy


def _demo(setup: DemoSetup) -> DemoPart:
    from pipeline.config import ChannelConfig

    return DemoPart({"feed": ChannelConfig(kind="feed")})


plugin = ChannelPlugin(
    kind="feed",
    label="RSS/Atom 订阅",
    report_role=ReportRole.OTHER,
    channel=lazy("channels.feed.channel:FeedChannel"),
    migrations=Path(__file__).with_name("migrations"),
    routes=lazy("channels.feed.routes:router"),
    public_links={"RSS 订阅": "/feeds/all.rss", "Atom 订阅": "/feeds/all.atom"},
    cli=lazy("channels.feed.cli:feeds"),
    sandbox=lazy("channels.feed.cli:sandbox"),
    demo=_demo,
    alternates=(
        Alternate("RSS", "application/rss+xml", "/feeds/all.rss"),
        Alternate("Atom", "application/atom+xml", "/feeds/all.atom"),
    ),
    served_paths=("/feeds",),
    default_options={},
)
