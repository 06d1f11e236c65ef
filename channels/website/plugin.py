"""The website channel's declaration (``govpub.channels`` entry point ``website``): the
agency's disclosure column, counted as 政府网站 in the annual report, served under
``/site/`` when it renders a folder."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from pipeline.plugin import ChannelPlugin, DemoPart, DemoSetup, ReportRole

if TYPE_CHECKING:
    import click
    from fastapi import APIRouter


def _channel() -> type[Any]:
    from channels.website.channel import WebsiteChannel

    return WebsiteChannel


def _routes() -> APIRouter:
    from channels.website.routes import router

    return router


def _cli() -> click.Command:
    from channels.website.cli import site

    return site


def _sandbox() -> click.Command:
    from channels.website.cli import sandbox

    return sandbox


def _demo(setup: DemoSetup) -> DemoPart:
    from pipeline.config import ChannelConfig

    return DemoPart({"website": ChannelConfig(kind="website")})


plugin = ChannelPlugin(
    kind="website",
    label="政府网站",
    report_role=ReportRole.PORTAL,
    channel=_channel,
    migrations=Path(__file__).with_name("migrations"),
    routes=_routes,
    public_links={"政府信息公开专栏": "/site/"},
    cli=_cli,
    sandbox=_sandbox,
    demo=_demo,
    pages_path="/site",
    served_paths=("/site",),
    default_options={},
)
