"""What a ``govpub`` command works on, made once per invocation and passed in.

As Flask's ``with_appcontext``/``pass_script_info``: a command that needs the
installation takes it as its first argument (``@pass_services``) instead of loading
settings and building services itself. A bad configuration ends the command with the
key, the value and a hint (a ``ClickException``), never a traceback.

This module is the CLI's small API for channel packages (``govpub archive …``): it
imports nothing of the entry module, so a channel's commands do not import the
command line that lists them.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import update_wrapper
from typing import TYPE_CHECKING, Concatenate, ParamSpec, TypeVar, overload

import click

from pipeline.errors import ConfigError

if TYPE_CHECKING:
    from pipeline.config import Settings
    from pipeline.services import Services

P = ParamSpec("P")
R = TypeVar("R")

LOCAL_URL = "http://127.0.0.1:8000"
url_option = click.option("--url", default=LOCAL_URL, show_default=True, help="A running govpub instance.")
token_option = click.option("--token", envvar="GOVPUB_TOKEN", help="Source token (or GOVPUB_TOKEN).")


class Installation:
    """The settings and services of one invocation, made on first use (tests may hand
    ready ones in: ``runner.invoke(main, args, obj=Installation(services=…))``)."""

    def __init__(self, settings: Settings | None = None, services: Services | None = None) -> None:
        self._settings = services.settings if services is not None else settings
        self._services = services
        self._prepared = False

    def settings(self) -> Settings:
        if self._settings is None:
            from pipeline.config import load_settings

            try:
                self._settings = load_settings()
            except ConfigError as exc:
                raise click.ClickException(str(exc)) from exc
        return self._settings

    def services(self, migrate: bool = True) -> Services:
        """The services; with ``migrate`` the embedded database brought up to date first."""
        if self._services is None:
            from pipeline.services import build_services

            self._services = build_services(self.settings())
        if migrate and not self._prepared:
            prepare_database(self._services)
            self._prepared = True
        return self._services


def installation() -> Installation:
    """The current invocation's installation (a fresh one outside a click command)."""
    ctx = click.get_current_context(silent=True)
    return ctx.ensure_object(Installation) if ctx is not None else Installation()


def settings_or_exit() -> Settings:
    return installation().settings()


def services_or_exit() -> Services:
    """The services of the configured installation, its database up to date (for the
    commands that work on it directly)."""
    return installation().services()


def settings_to_run() -> Settings:
    """The settings of a long-running role (serve, worker, beat): every enabled channel
    must be able to work, or the role does not start."""
    from pipeline.channel_checks import channel_problems

    settings = settings_or_exit()
    problems = channel_problems(settings)
    if problems:
        lines = [f"channel {name!r} cannot work: {why}" for name, why in sorted(problems.items())]
        raise click.ClickException("\n".join(lines))
    return settings


def prepare_database(services: Services) -> None:
    """The embedded SQLite database migrates itself (PostgreSQL uses ``govpub db
    upgrade``); then the agencies govpub.toml declares are written (the file wins) and
    every agency's channel overlays are checked. A database still to be upgraded gets
    only the check (the upgrade writes the agencies)."""
    from pipeline.schema import pending

    if services.settings.database_url.startswith("sqlite"):
        migrate(services)
    elif not pending(services.engine):
        follow_agencies_file(services)
    else:
        from pipeline.overlays import check_overlays

        try:
            check_overlays(services.settings)
        except ConfigError as exc:
            raise click.ClickException(str(exc)) from exc


def migrate(services: Services) -> None:
    """Bring the database to this release's schema, then to the configured agencies."""
    from pipeline.schema import configured_agency_paths, configured_kinds, upgrade

    settings = services.settings
    upgrade(
        services.engine,
        channel_kinds=configured_kinds(settings),
        agency_paths=configured_agency_paths(settings),
    )
    follow_agencies_file(services)


def follow_agencies_file(services: Services) -> None:
    """``[agencies.*]`` of govpub.toml into the registry, and their overlays checked
    (a bad key stops the command, naming ``agencies.CODE.channels.NAME.KEY``)."""
    from pipeline.agencies import sync_toml
    from pipeline.overlays import check_all

    try:
        if sync_toml(services.engine, services.settings, services.clock()):
            services.registry.forget()
        check_all(services.settings, services.registry)
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from exc


Command = Callable[Concatenate["Services", P], R]


@overload
def pass_services(command: Command[P, R]) -> Callable[P, R]: ...


@overload
def pass_services(*, migrate: bool = True) -> Callable[[Command[P, R]], Callable[P, R]]: ...


def pass_services(
    command: Command[P, R] | None = None, *, migrate: bool = True
) -> Callable[P, R] | Callable[[Command[P, R]], Callable[P, R]]:
    """Call the command with the installation's services first. The embedded database
    is migrated first unless ``migrate=False`` (``govpub db check`` must see it as it is)."""

    def decorate(f: Command[P, R]) -> Callable[P, R]:
        def with_services(*args: P.args, **kwargs: P.kwargs) -> R:
            return f(installation().services(migrate), *args, **kwargs)

        return update_wrapper(with_services, f)

    return decorate if command is None else decorate(command)


def pass_settings(command: Callable[Concatenate[Settings, P], R]) -> Callable[P, R]:
    """Call the command with the installation's settings first (nothing is connected)."""

    def with_settings(*args: P.args, **kwargs: P.kwargs) -> R:
        return command(settings_or_exit(), *args, **kwargs)

    return update_wrapper(with_settings, command)
