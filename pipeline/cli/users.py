"""``govpub users``: operator console accounts (roles: operator acts, auditor reads)."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

import click

from pipeline.cli.context import pass_services

if TYPE_CHECKING:
    from pipeline.console.auth import Accounts
    from pipeline.services import Services


def _accounts(services: Services) -> Accounts:
    from pipeline.console.auth import Accounts

    return Accounts(services.engine, services.clock)


@click.group()
def users() -> None:
    """Operator console accounts (roles: operator acts, auditor reads)."""


@users.command("add")
@click.argument("name")
@click.option("--role", type=click.Choice(["operator", "auditor"]), required=True)
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input instead.")
@pass_services
def users_add(services: Services, name: str, role: str, password_stdin: bool) -> None:
    """Create (or reset) an account; prints a generated password once, alone on the last line."""
    given = sys.stdin.readline().rstrip("\r\n") if password_stdin else None
    try:
        password = _accounts(services).add(name, role, given)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"console user {name} ({role}) saved; other sessions of {name} ended", err=True)
    if given is None:
        click.echo("its password (shown only now):", err=True)
        click.echo(password)


@users.command("list")
@pass_services
def users_list(services: Services) -> None:
    """Accounts and their roles."""
    for name, role, created in _accounts(services).list():
        click.echo(f"{name}\t{role}\t{created.isoformat()}")


@users.command("remove")
@click.argument("name")
@pass_services
def users_remove(services: Services, name: str) -> None:
    """Delete an account and end its sessions."""
    if not _accounts(services).remove(name):
        raise click.ClickException(f"no console user {name}")
    click.echo(f"console user {name} removed")
