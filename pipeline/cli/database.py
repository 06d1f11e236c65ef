"""``govpub db``: the schema, migrated once per release and checked by the other roles."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from pipeline.cli.context import migrate, pass_services

if TYPE_CHECKING:
    from pipeline.services import Services


@click.group()
def db() -> None:
    """Database administration."""


@db.command("upgrade")
@pass_services(migrate=False)
def db_upgrade(services: Services) -> None:
    """Apply the migrations (run once per release, before the workers start)."""
    migrate(services)
    click.echo("database at the latest schema")


@db.command("check")
@pass_services(migrate=False)
def db_check(services: Services) -> None:
    """Exit 0 when the database has every migration of this release, 1 when it does not
    (Kubernetes pods wait on this until the migration job has run)."""
    from pipeline.schema import pending

    missing = pending(services.engine)
    if missing:
        click.echo(f"database lacks migrations {', '.join(missing)}: run `govpub db upgrade`", err=True)
        raise SystemExit(1)
    click.echo("database at the latest schema")
