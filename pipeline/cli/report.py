"""``govpub report``: the annual report (政府信息公开工作年度报告), see :mod:`pipeline.report`;
``report publish``/``mark-published``/``withdraw`` record whether an agency published it,
``report summary`` is the platform's summary of every agency."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, time
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import click

from pipeline.cli.context import settings_or_exit, token_option
from pipeline.errors import GovpubError, IntakeError

YEARS = click.IntRange(1990, 2999)


class _YearFirst(click.Group):
    """``govpub report 2017 …`` is ``govpub report --year 2017 …`` (both work)."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if args and args[0].isdigit():
            args = ["--year", args[0], *args[1:]]
        return super().parse_args(ctx, args)


@click.group(cls=_YearFirst, invoke_without_command=True)
@click.option("--year", type=YEARS, default=None, help="The year, in local time (or give it first).")
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
    help="The operator's figures (TOML); default: <data_dir>/reports/figures-YEAR[-AGENCY].toml if present.",
)
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), help="Write the files here.")
@click.option("--figures-template", is_flag=True, help="Print a blank figures file for the year and stop.")
@click.option(
    "--publish",
    "publish_it",
    is_flag=True,
    help="Submit the agency's report as its item (to every channel) and record it as published.",
)
@click.option(
    "--approval",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=None,
    help="With --publish: the report's approval record (TOML or JSON, the item's approval object).",
)
@click.option("--server", default=None, help="With --publish: the running instance (default: public_url).")
@token_option
@click.option(
    "--id", "item_id", default=None, help="With --publish: the item's id (default: annual-report-YEAR)."
)
@click.option(
    "--category", default=None, help="With --publish: its 主题分类 (default: a 年报 class, else 其他信息)."
)
@click.option("--subcategory", default=None, help="With --publish and --category: its sub-class.")
@click.pass_context
def report(
    ctx: click.Context,
    year: int | None,
    agency: str | None,
    formats: tuple[str, ...],
    figures_path: Path | None,
    out: Path | None,
    figures_template: bool,
    publish_it: bool,
    approval: Path | None,
    server: str | None,
    token: str | None,
    item_id: str | None,
    category: str | None,
    subcategory: str | None,
) -> None:
    """The annual report (政府信息公开工作年度报告) counted from the delivery log:
    ``govpub report 2017 [--agency CODE]``. With --agency only that agency's items
    and deliveries count (each agency publishes its own). With --publish the agency's
    report is submitted as its item through the intake (a new revision when published
    again) and recorded as published."""
    if ctx.invoked_subcommand is not None:
        return
    if year is None:
        raise click.UsageError("name the year: govpub report 2017 (or --year 2017), or a subcommand")
    from pipeline.report.command import figures_template as template
    from pipeline.report.command import publish_report, run_report

    if figures_template:
        click.echo(template(year), nl=False)
        return
    settings = settings_or_exit()
    if agency is not None:
        _require_agency(settings, agency)
    try:
        if publish_it:
            if agency is None or approval is None:
                raise click.UsageError("--publish needs --agency CODE and --approval FILE (一事一审查)")
            filed = (category, subcategory) if category else None
            server = server or settings.public_url
            publish_report(settings, year, agency, figures_path, approval, server, token, item_id, filed)
            return
        run_report(settings, year, agency, list(formats), figures_path, out)
    except IntakeError as exc:
        raise click.ClickException(f"{exc.message}{''.join(f'; {d}' for d in exc.details)}") from exc
    except GovpubError as exc:
        raise click.ClickException(str(exc)) from exc


def _require_agency(settings: Any, code: str) -> None:
    from sqlalchemy import select

    from pipeline import db
    from pipeline.db import make_engine

    engine = make_engine(settings.database_url)
    try:
        with engine.connect() as conn:
            found = conn.execute(select(db.agencies.c.code).where(db.agencies.c.code == code)).first()
            found = (
                found
                or conn.execute(select(db.items.c.pk).where(db.items.c.agency_code == code).limit(1)).first()
            )
    finally:
        engine.dispose()
    if found is None:
        raise click.ClickException(f"no agency {code} is registered (govpub agencies list)")


def _record(year: int, agency: str, url: str | None, index_no: str | None, on: datetime | None) -> None:
    from pipeline.report.publication import record
    from pipeline.services import build_services

    services = build_services(settings_or_exit())
    try:
        done = record(
            services.engine,
            agency,
            year,
            by="cli",
            now=services.clock(),
            url=url,
            index_no=index_no,
            published_at=on,
        )
    except IntakeError as exc:
        raise click.ClickException(f"{exc.message}{''.join(f'; {d}' for d in exc.details)}") from exc
    finally:
        services.engine.dispose()
    where = done.index_no or done.url or "no address recorded"
    click.echo(f"annual report {year} of {agency}: published ({where})")


def _local_day(value: date | None) -> datetime | None:
    if value is None:
        return None
    zone = ZoneInfo(settings_or_exit().timezone)
    return datetime.combine(value, time(12), zone).astimezone(UTC)


DAY = click.DateTime(formats=["%Y-%m-%d"])


@report.command("publish")
@click.argument("year", type=YEARS)
@click.option("--agency", required=True, help="The agency whose report it is.")
@click.option("--url", default=None, help="Where it is published (its page on the platform or elsewhere).")
@click.option("--item", "index_no", default=None, help="The agency's item (索引号) that carries the report.")
@click.option("--on", type=DAY, default=None, help="The day it was published (default: now).")
def publish(year: int, agency: str, url: str | None, index_no: str | None, on: datetime | None) -> None:
    """Record that AGENCY published its annual report of YEAR, at --url or as --item."""
    if url is None and index_no is None:
        raise click.UsageError("say where: --url URL or --item 索引号 (or use mark-published)")
    _record(year, agency, url, index_no, _local_day(on.date() if on else None))


@report.command("mark-published")
@click.argument("year", type=YEARS)
@click.option("--agency", required=True, help="The agency whose report it is.")
@click.option("--url", default=None, help="Where it is published, if known.")
@click.option("--on", type=DAY, default=None, help="The day it was published (default: now).")
def mark_published(year: int, agency: str, url: str | None, on: datetime | None) -> None:
    """Record that AGENCY's report of YEAR is published, wherever that was (on paper, on
    a site govpub does not serve)."""
    _record(year, agency, url, None, _local_day(on.date() if on else None))


@report.command("withdraw")
@click.argument("year", type=YEARS)
@click.option("--agency", required=True, help="The agency whose record it is.")
def withdraw(year: int, agency: str) -> None:
    """Forget a publication recorded by mistake."""
    from pipeline.report.publication import withdraw as forget
    from pipeline.services import build_services

    services = build_services(settings_or_exit())
    try:
        gone = forget(services.engine, agency, year)
    except IntakeError as exc:
        raise click.ClickException(exc.message) from exc
    finally:
        services.engine.dispose()
    click.echo(f"annual report {year} of {agency}: " + ("record removed" if gone else "nothing was recorded"))


@report.command("summary")
@click.argument("year", type=YEARS)
@click.option(
    "--sort",
    "sort",
    default=None,
    help="A column (code, name, a channel kind, late, published); -COL descends.",
)
@click.option(
    "--xlsx", "xlsx", type=click.Path(dir_okay=False, path_type=Path), help="Also write it as a workbook."
)
@click.option("--json", "as_json", is_flag=True, help="As JSON.")
def summary(year: int, sort: str | None, xlsx: Path | None, as_json: bool) -> None:
    """The platform's summary of YEAR: per agency, items per channel kind, items over 20
    working days, whether its annual report is published; a total row last."""
    from pipeline.report.summary import build_summary
    from pipeline.services import build_services

    services = build_services(settings_or_exit())
    try:
        made = build_summary(services.engine, services.settings, year)
    finally:
        services.engine.dispose()
    try:
        made = made.sorted_by(sort)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--sort") from exc
    if xlsx is not None:
        from pipeline.report.summary_xlsx import render_summary_xlsx

        xlsx.parent.mkdir(parents=True, exist_ok=True)
        xlsx.write_bytes(render_summary_xlsx(made))
        click.echo(f"wrote {xlsx}", err=True)
    if as_json:
        click.echo(json.dumps(made.as_json(), ensure_ascii=False, indent=2))
        return
    _print_summary(made)


def _print_summary(made: Any) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"govpub platform summary {made.year}")
    for column in made.columns:
        table.add_column(made.label(column), justify="right" if column not in ("code", "name") else "left")
    for row in [*made.rows, made.total]:
        state = "" if row is made.total else ("已发布" if row.published else "未发布")
        if row is made.total:
            state = f"{sum(1 for r in made.rows if r.published)}/{len(made.rows)}"
        table.add_row(
            row.code, row.name, *(str(row.items.get(k, 0)) for k in made.kinds), str(row.late), state
        )
    Console(width=200).print(table)


@report.command("recount")
@click.argument("year", type=YEARS, required=False)
@click.option("--agency", default=None, help="One agency's code (default: every agency).")
@click.option("--fix", is_flag=True, help="Rewrite the counters from the log.")
def recount(year: int | None, agency: str | None, fix: bool) -> None:
    """Count YEAR (default: every year) from the delivery log again and print where the
    counters the report and the overview read differ; exit 1 if they do. --fix rewrites
    them from the log (writers wait meanwhile)."""
    from pipeline.db import make_engine
    from pipeline.recount import Window, differences, rewrite

    window = Window(year, agency)
    engine = make_engine(settings_or_exit().database_url)
    try:
        with engine.begin() as conn:
            found = differences(conn, window)
            if fix and found:
                rewritten = rewrite(conn, window)
    finally:
        engine.dispose()
    what = f"{year if year is not None else 'every year'}" + (f" of {agency}" if agency else "")
    for difference in found:
        click.echo(str(difference))
    if not found:
        click.echo(f"counters of {what}: as the log says")
        return
    if fix:
        click.echo(f"counters of {what}: {len(found)} differed; rewritten from the log ({rewritten} rows)")
        return
    click.echo(f"counters of {what}: {len(found)} differ from the log (--fix rewrites them)", err=True)
    raise SystemExit(1)
