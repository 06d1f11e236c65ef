"""What ``govpub report`` does, apart from parsing its options (pipeline/cli/report.py).

Without ``--out`` the report goes to stdout in one text format. With ``--out DIR``
every chosen format (all of them when none is chosen) is written into DIR with the
chart beside it, and the text report is printed. Progress goes to stderr.
"""

from __future__ import annotations

from pathlib import Path
from time import perf_counter
from zoneinfo import ZoneInfo

import click
import httpx

from pipeline.config import Settings
from pipeline.report.build import build_report, figures_for
from pipeline.report.figures import TEMPLATE
from pipeline.report.output import BINARY, FORMATS, render, write_files


def machine_warnings() -> list[str]:
    """What this machine lacks for the report's outputs (a CJK font for the chart). Asked
    here rather than in ``build_report``: the JSON API draws no chart and need not load
    matplotlib to find out."""
    from pipeline.report.chart import font_warning

    return [w for w in (font_warning(),) if w]


def figures_template(year: int) -> str:
    return TEMPLATE.read_text("utf-8").replace("year = 2017", f"year = {year}", 1)


def run_report(
    settings: Settings,
    year: int,
    agency: str | None,
    formats: list[str],
    figures_path: Path | None,
    out: Path | None,
) -> None:
    def say(message: str) -> None:
        click.echo(f"report {year}: {message}", err=True)

    if out is None and len(formats) > 1:
        raise click.UsageError("several --format need --out DIR")
    if out is None and formats and formats[0] in BINARY:
        raise click.UsageError(f"--format {formats[0]} writes a file: add --out DIR")
    from pipeline.services import build_services

    started = perf_counter()
    services = build_services(settings)
    figures, source = figures_for(settings, year, agency, figures_path)
    say(f"figures from {source}" if source else "no figures file; tables 三 and 四 are zero")
    report = build_report(
        services.engine, settings, year, agency=agency, figures=figures, figures_source=source, progress=say
    )
    services.engine.dispose()
    report.warnings += machine_warnings()
    if out is None:
        click.echo(render(report, formats[0] if formats else "text"), nl=False)
    else:
        for path in write_files(report, formats or list(FORMATS), out, agency, say):
            say(f"wrote {path}")
        click.echo(render(report, "text"), nl=False)
    for warning in report.warnings:
        say(f"warning: {warning}")
    say(f"done in {perf_counter() - started:.2f}s")


def publish_report(
    settings: Settings,
    year: int,
    agency: str,
    figures_path: Path | None,
    approval: Path,
    server: str,
    token: str | None,
    item_id: str | None,
    category: tuple[str, str | None] | None,
) -> None:
    """Build the agency's report, submit it as its item (pipeline.report.submission)
    through the intake at ``server``, and record the publication."""
    from pipeline.client import GovpubClient
    from pipeline.report import submission
    from pipeline.report.publication import record
    from pipeline.services import build_services

    def say(message: str) -> None:
        click.echo(f"report {year}: {message}", err=True)

    services = build_services(settings)
    try:
        registered = services.registry.require(agency)
        figures, source = figures_for(settings, year, agency, figures_path)
        say(f"figures from {source}" if source else "no figures file; tables 三 and 四 are zero")
        report = build_report(
            services.engine,
            settings,
            year,
            agency=agency,
            figures=figures,
            figures_source=source,
            progress=say,
        )
        chosen = submission.target(services.engine, agency, year, item_id)
        now = services.clock()
        today = now.astimezone(ZoneInfo(settings.timezone)).date()
        taxonomy = registered.taxonomy_or(settings.taxonomy)
        approved = submission.read_approval(approval)
        item = submission.report_item(report, registered, taxonomy, approved, chosen, today, category)
        say(f"submitting {chosen.item_id} revision {chosen.revision} to {server}")
        try:
            with GovpubClient(server, token, timeout=120) as client:
                receipt = client.submit(item)
        except httpx.TransportError as exc:
            raise click.ClickException(f"cannot reach {server} ({exc}); is govpub serve running?") from exc
        done = record(
            services.engine, agency, year, by="cli", now=services.clock(), index_no=receipt["index_no"]
        )
    finally:
        services.engine.dispose()
    click.echo(
        f"annual report {year} of {agency}: item {receipt['source']}/{receipt['id']} revision "
        f"{receipt['revision']} {receipt['status']} ({done.index_no}); recorded as published"
    )
