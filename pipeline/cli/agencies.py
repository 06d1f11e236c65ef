"""``govpub agencies``: the agencies publishing through this installation.

Run with the platform's reach: whoever holds the configuration holds the installation.
An agency govpub.toml declares (``[agencies.CODE]`` with a ``name``) is the file's: the
commands that change it stop, naming the key to edit there.
"""

from __future__ import annotations

import json
import tomllib
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click
from sqlalchemy import select

from pipeline import agencies as registry_rows
from pipeline.agencies import KINDS, Agency
from pipeline.cli.context import pass_services
from pipeline.errors import ConfigError, IntakeError

if TYPE_CHECKING:
    from pipeline.services import Services


@click.group()
def agencies() -> None:
    """The agencies publishing through this installation (the platform's tenants)."""


def _taxonomy(path: Path | None) -> dict[str, list[str]] | None:
    if path is None:
        return None
    table = tomllib.loads(path.read_text("utf-8"))
    if not all(isinstance(v, list) and all(isinstance(s, str) for s in v) for v in table.values()):
        raise click.ClickException(f'{path}: category = ["sub-class", …] lines only')
    return {str(k): list(v) for k, v in table.items()}


def _written(services: Services, write: Any) -> Agency:
    """Run a registry write; a refusal ends the command with its key and reason."""
    try:
        agency: Agency = write()
    except (ConfigError, IntakeError) as exc:
        raise click.ClickException(str(exc) if isinstance(exc, ConfigError) else _intake(exc)) from exc
    services.registry.forget()
    return agency


def _intake(exc: IntakeError) -> str:
    return "; ".join([exc.message, *map(str, exc.details)])


@agencies.command("add")
@click.argument("code")
@click.option("--name", required=True, help="发布机构, as published.")
@click.option("--parent", help="The parent agency's code.")
@click.option("--kind", type=click.Choice(KINDS), default="department", show_default=True)
@click.option("--path", help="Its column's path (default: the code in lower case).")
@click.option("--column-name", help="The column's title (default: NAME信息公开).")
@click.option("--position", type=int, default=0, help="Order within its group on the portal.")
@click.option(
    "--taxonomy",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="A TOML file of its own 主题分类 (category = [sub-classes]).",
)
@pass_services
def agencies_add(
    services: Services,
    code: str,
    name: str,
    parent: str | None,
    kind: str,
    path: str | None,
    column_name: str | None,
    position: int,
    taxonomy: Path | None,
) -> None:
    """Register an agency."""
    wanted = Agency(code, name, parent, kind, path or "", (), column_name, _taxonomy(taxonomy), position)
    agency = _written(services, lambda: registry_rows.add(services.engine, wanted, services.clock()))
    click.echo(f"agency {agency.code} ({agency.name}) added; its column's path: {agency.path}")


@agencies.command("edit")
@click.argument("code")
@click.option("--name")
@click.option("--parent")
@click.option("--kind", type=click.Choice(KINDS))
@click.option("--path", help="A new column path; the old one redirects to it.")
@click.option("--column-name")
@click.option("--position", type=int)
@click.option("--taxonomy", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@pass_services
def agencies_edit(services: Services, code: str, taxonomy: Path | None, **given: Any) -> None:
    """Change an agency's fields (only those given)."""
    changes = {key: value for key, value in given.items() if value is not None}
    if taxonomy is not None:
        changes["taxonomy"] = _taxonomy(taxonomy)
    if not changes:
        raise click.UsageError("nothing to change: give at least one option")
    agency = _written(
        services, lambda: registry_rows.edit(services.engine, code, services.clock(), **changes)
    )
    click.echo(f"agency {agency.code} changed: {', '.join(sorted(changes))}")


@agencies.command("retire")
@click.argument("code")
@pass_services
def agencies_retire(services: Services, code: str) -> None:
    """No new items from this agency; its items, pages and reports stay."""
    agency = _written(services, lambda: registry_rows.retire(services.engine, code, services.clock()))
    click.echo(f"agency {agency.code} retired")


def _listed(agency: Agency) -> dict[str, Any]:
    return {
        "code": agency.code,
        "name": agency.name,
        "parent": agency.parent,
        "kind": agency.kind,
        "path": agency.path,
        "former_paths": list(agency.former_paths),
        "column_name": agency.column_title,
        "position": agency.position,
        "managed_by": agency.managed_by,
        "retired_at": agency.retired_at.isoformat() if agency.retired_at else None,
    }


@agencies.command("list")
@click.option("--json", "as_json", is_flag=True, help="One JSON array.")
@click.option("--retired", is_flag=True, help="Retired agencies too.")
@pass_services
def agencies_list(services: Services, as_json: bool, retired: bool) -> None:
    """Every agency, grouped by kind."""
    rows = services.registry.all(include_retired=retired)
    if as_json:
        click.echo(json.dumps([_listed(a) for a in rows], ensure_ascii=False, indent=2))
        return
    for agency in rows:
        marks = [agency.managed_by] + (["retired"] if not agency.active else [])
        click.echo(f"{agency.code}\t{agency.kind}\t{agency.path}\t{agency.name}\t({', '.join(marks)})")


@agencies.command("show")
@click.argument("code")
@pass_services
def agencies_show(services: Services, code: str) -> None:
    """An agency: its row, parent chain, sources, users and the options each channel
    instance serves it with (secrets only as the variable that holds them)."""
    from pipeline.overlays import resolve

    registry = services.registry
    agency = registry.get(code)
    if agency is None:
        raise click.ClickException(f"no agency {code}")
    shown: dict[str, Any] = _listed(agency)
    shown["taxonomy"] = agency.taxonomy_or(services.settings.taxonomy)
    shown["parents"] = [f"{a.code} {a.name}" for a in registry.ancestors(code)]
    shown["children"] = [f"{a.code} {a.name}" for a in registry.children(code)]
    shown["sources"], shown["users"] = _bound(services, code)
    channels: dict[str, Any] = {}
    for name in services.settings.enabled_channels():
        found = resolve(services.settings, registry, name, code)
        channels[name] = (
            "not served"
            if found is None
            else {"account": found.account or "platform", "options": _hidden(found.options)}
        )
    shown["channels"] = channels
    click.echo(json.dumps(shown, ensure_ascii=False, indent=2, default=str))


SECRET_WORDS = ("secret", "token", "password", "aes_key")


def _hidden(options: dict[str, Any]) -> dict[str, Any]:
    """Options with written secrets hidden (names of variables and files stay shown)."""
    return {
        key: _hidden(value)
        if isinstance(value, dict)
        else "***"
        if any(w in key for w in SECRET_WORDS) and not key.endswith(("_env", "_file"))
        else value
        for key, value in options.items()
    }


def _bound(services: Services, code: str) -> tuple[list[str], list[str]]:
    from pipeline import db
    from pipeline.console.tables import console_user_agencies

    with services.engine.connect() as conn:
        sources = conn.execute(
            select(db.source_agencies.c.source).where(db.source_agencies.c.agency_code == code)
        ).scalars()
        users = conn.execute(
            select(console_user_agencies.c.username).where(console_user_agencies.c.agency_code == code)
        ).scalars()
        return sorted(sources), sorted(users)
