"""``govpub archive``: list the packages per receiver, export a period again (or
for the first time, by hand), verify a package file."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from pipeline.cli.context import pass_services, settings_or_exit

if TYPE_CHECKING:
    from pipeline.services import Services


@click.group()
def archive() -> None:
    """Archive and library packages (档案馆、公共图书馆报送)."""


def _receivers(services: Services) -> list[str]:
    return sorted(name for name, cfg in services.settings.channels.items() if cfg.kind == "archive")


def _receiver(services: Services, name: str) -> Any:
    receivers = _receivers(services)
    if name not in receivers:
        raise click.ClickException(f"no archive receiver {name!r}; configured: {receivers or 'none'}")
    return services.channel(name)


@archive.command("list")
@click.option("--receiver", help="Every package of this receiver, newest first.")
@click.option("--agency", help="Only this agency's packages (its code).")
@click.option("--json", "as_json", is_flag=True, help="As JSON.")
@pass_services
def list_packages(services: Services, receiver: str | None, agency: str | None, as_json: bool) -> None:
    """The last package of each receiver and agency (or every package of one receiver)."""
    from channels.archive.ledger import last_per_receiver, packages

    if agency is not None and services.registry.get(agency) is None:
        raise click.ClickException(f"no agency {agency} is registered (govpub agencies list)")
    if receiver:
        _receiver(services, receiver)
        found = packages(services.engine, receiver, agency=agency)
    else:
        found = last_per_receiver(services.engine, agency)
    rows = [_row(p, services.settings.timezone) for p in found]
    if not receiver and agency is None:
        have = {p.receiver for p in found}
        rows += [
            {"receiver": r, "package_id": "", "state": "no package yet"}
            for r in _receivers(services)
            if r not in have
        ]
    if as_json:
        click.echo(json.dumps(rows, ensure_ascii=False, indent=2))
        return
    _print_table(rows)


def _row(package: Any, timezone: str) -> dict[str, Any]:
    from zoneinfo import ZoneInfo

    tz = ZoneInfo(timezone)
    if package.confirmed:
        state = f"delivered {package.confirmed_at.astimezone(tz):%Y-%m-%d %H:%M}"
    elif package.last_error:
        state = f"failing: {package.last_error}"
    else:
        state = "built" if package.sha256 else "frozen"
    return {
        "receiver": package.receiver,
        "agency": package.agency_code,
        "package_id": package.package_id,
        "period": package.period,
        "items": package.item_count,
        "retractions": package.retraction_count,
        "sha256": package.sha256,
        "size": package.size,
        "receipt": package.receipt,
        "state": state,
    }


def _print_table(rows: list[dict[str, Any]]) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title="govpub archive packages")
    heads = (
        "receiver",
        "agency",
        "package_id",
        "period",
        "items",
        "retractions",
        "sha256",
        "state",
        "receipt",
    )
    for column in heads:
        table.add_column(column)
    for row in rows:
        sha = row.get("sha256") or ""
        table.add_row(
            *(
                str(row.get(k) if row.get(k) is not None else "")
                for k in ("receiver", "agency", "package_id", "period")
            ),
            str(row.get("items", "")),
            str(row.get("retractions", "")),
            sha[:16],
            str(row.get("state", "")),
            str(row.get("receipt") or ""),
        )
    Console(width=200).print(table)


@archive.command("export")
@click.option("--receiver", required=True, help="A configured archive channel, e.g. district-archives.")
@click.option("--period", "label", required=True, help="2017-03 (monthly) or 2017-W09 (weekly).")
@click.option(
    "--agency", "agencies", multiple=True, help="This agency's package (repeatable; default: every agency's)."
)
@click.option("--send/--no-send", default=True, show_default=True, help="Transport it to the receiver.")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), help="Also copy the file here.")
@pass_services
def export(
    services: Services, receiver: str, label: str, agencies: tuple[str, ...], send: bool, out: Path | None
) -> None:
    """Build (again) and send the packages of one receiver and period: one per agency.

    The first export freezes which items a package holds; every later export of the
    same receiver, agency and period rebuilds the same bytes under the same package id."""
    from channels.archive import periods

    channel = _receiver(services, receiver)
    schedule = channel.config.schedule
    try:
        period = periods.parse(label, schedule, channel.tz)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from exc
    now = services.clock()
    if not period.is_over(now):
        raise click.ClickException(
            f"period {label} is not over yet (it ends {period.end.astimezone(channel.tz)})"
        )
    for code in agencies:
        if services.registry.get(code) is None:
            raise click.ClickException(f"no agency {code} is registered (govpub agencies list)")
    chosen = list(agencies) or channel.ledger.agencies_for(period)
    if not chosen:
        raise click.ClickException(
            f"nothing to export: no delivery of {receiver} waits for {label} or earlier"
        )
    made = [agency for agency in chosen if _export_one(channel, receiver, period, agency, now, send, out)]
    if not made:
        raise click.ClickException(
            f"nothing to export: no delivery of {receiver} ({', '.join(chosen)}) waits for {label} or earlier"
        )


def _export_one(
    channel: Any, receiver: str, period: Any, agency: str, now: Any, send: bool, out: Path | None
) -> bool:
    """One agency's package of the period: False when nothing waits for it."""
    from pipeline.errors import DeliveryError

    ledger = channel.ledger
    package = ledger.freeze(ledger.package_id(period.label, agency), period, now, agency)
    if package is None:
        return False
    exporter = channel.exporter_for(agency)
    built = exporter.file_for(package, now, rebuild=True)
    same = (
        "identical to the first build"
        if built.same_as_recorded
        else f"DIFFERS from the recorded {package.sha256}"
    )
    click.echo(
        f"package {package.package_id}: {package.item_count} items, {package.retraction_count} retractions"
    )
    click.echo(f"file {built.path} ({built.size} bytes) sha256 {built.sha256} — {same}")
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(built.path, out / built.path.name)
        click.echo(f"copied to {out / built.path.name}")
    if send:
        try:
            delivered = exporter.deliver(built.package, now)
        except DeliveryError as exc:
            raise click.ClickException(f"not delivered: {exc}") from exc
        click.echo(f"delivered to {receiver}: receipt {delivered.receipt}")
    return True


@archive.command("verify")
@click.argument("file", type=click.Path(exists=True, path_type=Path))
@click.option(
    "--offline", is_flag=True, help="Check the package on its own, without this installation's database."
)
def verify(file: Path, offline: bool) -> None:
    """Check a package as an archive does at receipt: bag completeness, every manifest
    (SHA-256, SHA-512, SM3) and tag manifest, bag-info, metadata against its schema and
    against the payload (SM3, size, 索引号); then, unless --offline, against what this
    installation's database recorded of the package (checksum, counts, members)."""
    from channels.archive.verify import verify as verify_package

    engine, why_not = (None, "not compared with any database (--offline)") if offline else _database()
    try:
        report = verify_package(file, database=engine)
    finally:
        if engine is not None:
            engine.dispose()
    report.database = report.database or why_not
    click.echo(report.text())
    if not report.ok:
        raise SystemExit(1)


def _database() -> tuple[Any, str]:
    """This installation's database, or (None, why there is none): a SQLite file that
    does not exist is not created just to find nothing in it."""
    from sqlalchemy.exc import SQLAlchemyError

    from pipeline.db import make_engine

    url = settings_or_exit().database_url
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if not path or path == ":memory:" or not Path(path).is_file():
            return None, f"no database at {url}: not compared with any record"
    engine = make_engine(url)
    try:
        with engine.connect():
            pass
    except SQLAlchemyError as exc:
        engine.dispose()
        raise click.ClickException(
            f"cannot reach the database ({exc}); use --offline to check without it"
        ) from exc
    return engine, ""


@click.command("archive")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8790, show_default=True, type=int)
@click.option(
    "--dir", "folder", default="var/archive-sandbox", show_default=True, type=click.Path(path_type=Path)
)
@click.option("--token", default=None, help="Require this bearer token.")
def sandbox(host: str, port: int, folder: Path, token: str | None) -> None:
    """An archive receiver that checks uploaded packages and answers receipts."""
    from channels.archive.sandbox import serve

    click.echo(f"archive receiver sandbox on http://{host}:{port}/ — packages in {folder}")
    serve(host, port, folder, token)
