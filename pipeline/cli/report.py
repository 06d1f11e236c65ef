"""``govpub report``: the annual report (政府信息公开工作年度报告), see :mod:`pipeline.report`."""

from __future__ import annotations

from pathlib import Path

import click

from pipeline.cli.context import settings_or_exit
from pipeline.errors import GovpubError


@click.command()
@click.option("--year", type=click.IntRange(1990, 2999), required=True, help="The year, in local time.")
@click.option("--agency", default=None, help="One agency's code (default: every agency).")
@click.option(
    "--format",
    "formats",
    multiple=True,
    type=click.Choice(["text", "json", "md", "html", "docx", "xlsx"]),
    help="Output format; repeatable with --out (default: text, or every format with --out).",
)
@click.option(
    "--figures",
    "figures_path",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=None,
    help="The operator's figures (TOML); default: <data_dir>/reports/figures-YEAR.toml if present.",
)
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), help="Write the files here.")
@click.option("--figures-template", is_flag=True, help="Print a blank figures file for the year and stop.")
def report(
    year: int,
    agency: str | None,
    formats: tuple[str, ...],
    figures_path: Path | None,
    out: Path | None,
    figures_template: bool,
) -> None:
    """The annual report (政府信息公开工作年度报告) counted from the delivery log."""
    from pipeline.report.command import figures_template as template
    from pipeline.report.command import run_report

    if figures_template:
        click.echo(template(year), nl=False)
        return
    try:
        run_report(settings_or_exit(), year, agency, list(formats), figures_path, out)
    except GovpubError as exc:
        raise click.ClickException(str(exc)) from exc
