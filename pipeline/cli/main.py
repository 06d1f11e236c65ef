"""``govpub``: run the pipeline, submit and follow items, administer sources.

The entry module: the root group and the core's command groups, one module each.
"""

from __future__ import annotations

import os

import click

from channels.archive.cli import archive
from channels.archive.cli import sandbox as archive_sandbox
from channels.feed.cli import feeds
from channels.feed.cli import sandbox as websub_sandbox
from channels.website.cli import sandbox as cms_sandbox
from channels.website.cli import site
from channels.wechat.cli import sandbox as wechat_sandbox
from channels.wechat.cli import wechat
from pipeline.cli.database import db
from pipeline.cli.demo import demo
from pipeline.cli.health import health
from pipeline.cli.items import retract, status, submit
from pipeline.cli.report import report
from pipeline.cli.roles import beat, serve, worker
from pipeline.cli.sources import sources
from pipeline.cli.users import users


@click.group()
@click.version_option(package_name="govpub")
def main() -> None:
    """govpub: approved disclosure items in, every channel delivered and logged."""
    from pipeline.logs import configure

    configure(os.environ.get("GOVPUB_LOG_FORMAT", "console"))


@main.group()
def sandbox() -> None:
    """Loopback stand-ins for the services govpub talks to."""


for command in (serve, worker, beat, submit, retract, status, sources, users, db, demo, report, health):
    main.add_command(command)
for command in (site, feeds, archive, wechat):
    main.add_command(command)
for command in (wechat_sandbox, archive_sandbox, cms_sandbox, websub_sandbox):
    sandbox.add_command(command)
