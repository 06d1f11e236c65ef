"""The feed channel's declaration (``govpub.channels`` entry point ``feed``): RSS and
Atom files served under ``/feeds/``, counted with the other channels in the report."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from pipeline.plugin import Alternate, ChannelPlugin, DemoPart, DemoSetup, ReportRole

if TYPE_CHECKING:
    import click
    from fastapi import APIRouter


def _channel() -> type[Any]:
    from channels.feed.channel import FeedChannel

    return FeedChannel


def _routes() -> APIRouter:
    from channels.feed.routes import router

    return router


def _cli() -> click.Command:
    from channels.feed.cli import feeds

    return feeds


def _sandbox() -> click.Command:
    from channels.feed.cli import sandbox

    return sandbox


def _demo(setup: DemoSetup) -> DemoPart:
    from pipeline.config import ChannelConfig

    return DemoPart({"feed": ChannelConfig(kind="feed")})


plugin = ChannelPlugin(
    kind="feed",
    label="RSS/Atom 订阅",
    report_role=ReportRole.OTHER,
    channel=_channel,
    migrations=Path(__file__).with_name("migrations"),
    routes=_routes,
    public_links={"RSS 订阅": "/feeds/all.rss", "Atom 订阅": "/feeds/all.atom"},
    cli=_cli,
    sandbox=_sandbox,
    demo=_demo,
    alternates=(
        Alternate("RSS", "application/rss+xml", "/feeds/all.rss"),
        Alternate("Atom", "application/atom+xml", "/feeds/all.atom"),
    ),
    served_paths=("/feeds",),
    default_options={},
)
