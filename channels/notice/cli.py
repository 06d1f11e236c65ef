"""``govpub notice``: the places of each notice instance, and the weekly bundle of a
reading room (``govpub notice bundle --room NAME --week 2026-W48``)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

import click

from pipeline.cli.context import pass_services

if TYPE_CHECKING:
    from pipeline.services import Services


@click.group()
def notice() -> None:
    """Printed notices (张贴公告、政府信息查阅点)."""


def _places(services: Services) -> dict[str, tuple[str, Any]]:
    """Every place of every notice instance: name → (instance, Place)."""
    from channels.notice.options import parse_options

    found: dict[str, tuple[str, Any]] = {}
    for name, cfg in sorted(services.settings.channels.items()):
        if cfg.kind == "notice":
            for place, spec in parse_options(name, cfg.options).places.items():
                found.setdefault(place, (name, spec))
    return found


@notice.command("places")
@pass_services
def places(services: Services) -> None:
    """The boards and reading rooms, with their folders and printers."""
    for place, (instance, spec) in _places(services).items():
        kind = "查阅点" if spec.kind == "room" else "公告栏"
        printer = f"  printer {spec.printer}" if spec.printer else ""
        click.echo(f"{place}  {kind}  {spec.label}  ({instance})  {spec.folder}{printer}")


@notice.command("bundle")
@click.option("--room", required=True, help="The reading room (a place of kind room).")
@click.option("--week", required=True, help="The ISO week, e.g. 2026-W48.")
@pass_services
def bundle(services: Services, room: str, week: str) -> None:
    """One PDF of the notices posted in the room during the week (bundles/WEEK.pdf)."""
    from channels.notice.bundle import bundle as make

    known = _places(services)
    rooms = sorted(n for n, (_, spec) in known.items() if spec.kind == "room")
    if room not in rooms:
        raise click.ClickException(f"no reading room {room!r}; configured: {', '.join(rooms) or 'none'}")
    try:
        path, notices = make(known[room][1].folder, week, ZoneInfo(services.settings.timezone))
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--week") from exc
    if not notices:
        raise click.ClickException(f"nothing was posted in {room} during {week}: no bundle written")
    click.echo(f"{path}  ({len(notices)} notices)")
