"""``govpub users``: console accounts and their scope.

Roles: ``operator`` acts within its agencies, ``auditor`` reads within its agencies (or
every agency with ``--platform``), ``admin`` (the platform administrator) sees and acts
on all. ``users token NAME`` issues the account's operator API token (``govpub ops``).
"""

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
    """Console accounts (operator acts in its agencies, auditor reads, admin: all)."""


@users.command("add")
@click.argument("name")
@click.option("--role", type=click.Choice(["operator", "auditor", "admin"]), required=True)
@click.option(
    "--agency",
    "agencies",
    multiple=True,
    help="An agency the user is scoped to (repeat for more). An operator or auditor needs one, "
    "unless the platform has exactly one active agency (then it is that one).",
)
@click.option("--platform", is_flag=True, help="An auditor who reads every agency.")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input instead.")
@pass_services
def users_add(
    services: Services, name: str, role: str, agencies: tuple[str, ...], platform: bool, password_stdin: bool
) -> None:
    """Create (or reset) an account; prints a generated password once, alone on the last line."""
    given = sys.stdin.readline().rstrip("\r\n") if password_stdin else None
    try:
        password = _accounts(services).add(name, role, given, agencies=agencies, platform=platform)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(
        f"console user {name} ({_scope_words(services, name)}) saved; other sessions of {name} ended",
        err=True,
    )
    if given is None:
        click.echo("its password (shown only now):", err=True)
        click.echo(password)


@users.command("scope")
@click.argument("name")
@click.option("--agency", "agencies", multiple=True, required=True, help="An agency (repeat for more).")
@pass_services
def users_scope(services: Services, name: str, agencies: tuple[str, ...]) -> None:
    """Scope an operator or auditor to these agencies (replacing its scope); its sessions end."""
    try:
        _accounts(services).scope(name, list(agencies))
    except ValueError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"console user {name}: {_scope_words(services, name)}; its sessions ended")


@users.command("token")
@click.argument("name")
@pass_services
def users_token(services: Services, name: str) -> None:
    """Issue NAME's operator API token (replacing any earlier one); printed once, alone.

    Give it to ``govpub ops`` in GOVPUB_OPS_TOKEN or a file (--token-file)."""
    try:
        token = _accounts(services).issue_token(name)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"operator API token of {name} ({_scope_words(services, name)}); shown only now:", err=True)
    click.echo(token)


@users.command("list")
@pass_services
def users_list(services: Services) -> None:
    """Accounts, their roles and scope, whether they hold an API token."""
    for account in _accounts(services).list():
        scope = (
            "all agencies"
            if account.role == "admin" or account.platform
            else ",".join(account.agencies) or "no agency"
        )
        token = "token" if account.has_token else "-"
        click.echo(f"{account.username}\t{account.role}\t{scope}\t{token}\t{account.created_at.isoformat()}")


@users.command("remove")
@click.argument("name")
@pass_services
def users_remove(services: Services, name: str) -> None:
    """Delete an account and end its sessions."""
    if not _accounts(services).remove(name):
        raise click.ClickException(f"no console user {name}")
    click.echo(f"console user {name} removed")


def _scope_words(services: Services, name: str) -> str:
    for account in _accounts(services).list():
        if account.username == name:
            if account.role == "admin":
                return "admin, every agency"
            if account.platform:
                return "auditor, every agency"
            return f"{account.role} of {', '.join(account.agencies)}"
    return name
