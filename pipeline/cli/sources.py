"""``govpub sources``: the upstream systems allowed to submit items."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

import click

from pipeline.cli.context import pass_services

if TYPE_CHECKING:
    from pipeline.services import Services

SOURCE_NAME = re.compile(r"[a-z0-9][a-z0-9_.-]{0,63}")


def _valid_name(ctx: click.Context, param: click.Parameter, name: str) -> str:
    if not SOURCE_NAME.fullmatch(name):
        raise click.ClickException("source names: lower-case letters, digits, '_', '.', '-'")
    return name


@click.group()
def sources() -> None:
    """Upstream systems allowed to submit items."""


@sources.command("add")
@click.argument("name", callback=_valid_name)
@pass_services
def sources_add(services: Services, name: str) -> None:
    """Create (or re-key) a source; prints its token once, alone on the last line."""
    token = services.store.add_source(name)
    click.echo(f"source {name} created; its token (shown only now):", err=True)
    click.echo(token)


@sources.command("revoke")
@click.argument("name")
@pass_services
def sources_revoke(services: Services, name: str) -> None:
    """Revoke a source's token."""
    if not services.store.revoke_source(name):
        raise click.ClickException(f"no source {name}")
    click.echo(f"source {name} revoked")
