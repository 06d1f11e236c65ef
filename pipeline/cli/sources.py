"""``govpub sources``: the upstream systems allowed to submit items, and the agencies
each submits for (a source reaches only the items of its bound agencies)."""

from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING

import click

from pipeline.cli.context import pass_services
from pipeline.errors import IntakeError

if TYPE_CHECKING:
    from pipeline.services import Services

SOURCE_NAME = re.compile(r"[a-z0-9][a-z0-9_.-]{0,63}")
agency_option = click.option(
    "--agency", "codes", multiple=True, metavar="CODE", help="An agency's code (repeat for several)."
)


def _valid_name(ctx: click.Context, param: click.Parameter, name: str) -> str:
    if not SOURCE_NAME.fullmatch(name):
        raise click.ClickException("source names: lower-case letters, digits, '_', '.', '-'")
    return name


def _refused(exc: IntakeError) -> click.ClickException:
    return click.ClickException("; ".join([exc.message, *map(str, exc.details)]))


@click.group()
def sources() -> None:
    """Upstream systems allowed to submit items, and the agencies they submit for."""


@sources.command("add")
@click.argument("name", callback=_valid_name)
@agency_option
@pass_services
def sources_add(services: Services, name: str, codes: tuple[str, ...]) -> None:
    """Create (or re-key) a source bound to --agency CODE…; prints its token once, alone
    on the last line. Without --agency: the only active agency (a single-agency
    installation; with none registered yet, bound to none); re-keying keeps the bindings
    it has and adds those given."""
    from pipeline import bindings

    registry = services.registry
    registry.forget()
    try:
        wanted = bindings.checked_codes(registry, codes)
    except IntakeError as exc:
        raise _refused(exc) from exc
    with services.engine.connect() as conn:
        existing = bindings.exists(conn, name)
    if not wanted and not existing:
        active = [a.code for a in registry.all(include_retired=False)]
        if len(active) > 1:
            raise click.ClickException(
                f"name the agencies source {name} submits for: --agency CODE "
                f"(registered: {', '.join(active)})"
            )
        wanted = active
    token = services.store.add_source(name, wanted)
    with services.engine.connect() as conn:
        now_bound = bindings.bound(conn, name)
    verb = "re-keyed" if existing else "created"
    where = ", ".join(sorted(now_bound)) or (
        "no agency (it can submit nothing until govpub agencies add CODE --name NAME; "
        f"govpub sources bind {name} --agency CODE)"
    )
    click.echo(f"source {name} {verb}, bound to {where}; its token (shown only now):", err=True)
    click.echo(token)


@sources.command("bind")
@click.argument("name")
@agency_option
@pass_services
def sources_bind(services: Services, name: str, codes: tuple[str, ...]) -> None:
    """Let a source submit for more agencies."""
    _change(services, name, codes, ())


@sources.command("unbind")
@click.argument("name")
@agency_option
@pass_services
def sources_unbind(services: Services, name: str, codes: tuple[str, ...]) -> None:
    """Stop a source submitting for agencies (their items stay; it no longer reaches them)."""
    _change(services, name, (), codes)


def _change(services: Services, name: str, add: tuple[str, ...], drop: tuple[str, ...]) -> None:
    from pipeline import bindings

    if not add and not drop:
        raise click.UsageError("give at least one --agency CODE")
    services.registry.forget()
    try:
        now_bound = bindings.change(services.engine, services.registry, name, add, drop)
    except IntakeError as exc:
        raise _refused(exc) from exc
    click.echo(
        f"source {name} bound to {', '.join(sorted(now_bound)) or 'no agency (it can submit nothing)'}"
    )


@sources.command("list")
@click.option("--json", "as_json", is_flag=True, help="One JSON array.")
@pass_services
def sources_list(services: Services, as_json: bool) -> None:
    """Every source with its agencies (revoked ones marked)."""
    from pipeline import bindings

    found = bindings.rows(services.engine)
    if as_json:
        listed = [row.to_json(services.registry) for row in found]
        click.echo(json.dumps(listed, ensure_ascii=False, indent=2))
        return
    for row in found:
        names = [f"{code} {_name(services, code)}" for code in row.agencies] or ["no agency"]
        mark = "\t(revoked)" if row.revoked_at else ""
        click.echo(f"{row.name}\t{'; '.join(names)}{mark}")


def _name(services: Services, code: str) -> str:
    agency = services.registry.get(code)
    if agency is None:
        return "(unknown)"
    return agency.name + ("" if agency.active else " (retired)")


@sources.command("show")
@click.argument("name")
@pass_services
def sources_show(services: Services, name: str) -> None:
    """One source: its agencies, when it was created or revoked, how many items it sent."""
    from pipeline import bindings

    found = bindings.rows(services.engine, name)
    if not found:
        raise click.ClickException(f"no source {name}")
    click.echo(json.dumps(found[0].to_json(services.registry), ensure_ascii=False, indent=2))


@sources.command("revoke")
@click.argument("name")
@pass_services
def sources_revoke(services: Services, name: str) -> None:
    """Revoke a source's token."""
    if not services.store.revoke_source(name):
        raise click.ClickException(f"no source {name}")
    click.echo(f"source {name} revoked")
