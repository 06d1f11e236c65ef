"""Assemble the annual report: the log's counts, the operator's figures, the words.

Every query of one report reads the same snapshot (REPEATABLE READ on PostgreSQL;
SQLite's transaction is one already), so totals and lists cannot disagree when
deliveries land while the report is being made. The transaction is never committed:
the scratch tables (:mod:`.scratch`) go with it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from time import perf_counter
from zoneinfo import ZoneInfo

from sqlalchemy import Engine

from pipeline.report.counts import (
    LIST_LIMIT,
    agency_name,
    category_counts,
    channel_counts,
    collect_portal,
    log_outcomes,
    retractions,
    role_totals,
)
from pipeline.report.documents import document_rows
from pipeline.report.figures import Figures, load_figures
from pipeline.report.model import AnnualReport, CategoryCount, Counts
from pipeline.report.scope import ChannelRoles, Role, Scope
from pipeline.report.scratch import PORTAL, scratch
from pipeline.report.timeliness import timeliness
from pipeline.report.uninterpreted import uninterpreted
from pipeline.report.workdays import WorkdayCalendar

Progress = Callable[[str], None]


def default_figures_path(data_dir: Path, year: int, agency: str | None = None) -> Path:
    """Where the figures of a year are looked for when none are named:
    ``<data_dir>/reports/figures-<year>[-<agency>].toml``."""
    suffix = f"-{agency}" if agency else ""
    return Path(data_dir) / "reports" / f"figures-{year}{suffix}.toml"


def figures_for(
    settings: object, year: int, agency: str | None, path: Path | None
) -> tuple[Figures, str | None]:
    """The named figures file, else the default one if it exists, else empty figures."""
    chosen = path or default_figures_path(getattr(settings, "data_dir", Path("var")), year, agency)
    if path is None and not chosen.is_file():
        return Figures.empty(year), None
    return load_figures(chosen, year), str(chosen)


def build_report(
    engine: Engine,
    settings: object,
    year: int,
    *,
    agency: str | None = None,
    figures: Figures | None = None,
    figures_source: str | None = None,
    progress: Progress | None = None,
    now: datetime | None = None,
) -> AnnualReport:
    """The report of ``year``, counted by the kind each delivery stored and the role the
    installed plug-ins give it; ``progress`` hears what is being counted."""
    say = progress or (lambda _: None)
    tz_name = str(getattr(settings, "timezone", "Asia/Shanghai"))
    scope = Scope(year, ZoneInfo(tz_name), agency)
    roles = ChannelRoles.installed()
    figures = figures or Figures.empty(year)
    calendar = WorkdayCalendar()
    warnings: list[str] = []
    started = perf_counter()
    with engine.connect() as conn:
        if conn.dialect.name == "postgresql":
            conn = conn.execution_options(isolation_level="REPEATABLE READ")
            # For this transaction only: sorting a year's deliveries by item and channel
            # fits in 64 MB (the default 4 MB sorts on disk), and compiling each of
            # these one-off aggregations (JIT) costs more than it saves.
            conn.exec_driver_sql("SET LOCAL work_mem = '64MB'")
            conn.exec_driver_sql("SET LOCAL jit = off")
        say("counting first deliveries per channel and month")
        channels = channel_counts(conn, scope, roles)
        with scratch(conn, PORTAL):
            say("counting items per role and category")
            collect_portal(conn, scope, roles)
            totals = role_totals(conn, scope, roles)
            categories = in_taxonomy_order(category_counts(conn, scope), getattr(settings, "taxonomy", {}))
            say("measuring working days to publication on the portal")
            timely = timeliness(conn, scope, roles, calendar)
        say("listing retractions, table 二 documents and the log's outcomes")
        retracted = retractions(conn, scope)
        documents, document_warnings = document_rows(conn, scope, roles, figures.table2.last_year_in_force)
        log = log_outcomes(conn, scope)
        without_interpretation = uninterpreted(conn, scope, roles)
        code, name = agency_name(conn, scope)
    say(f"counted in {perf_counter() - started:.2f}s")
    counts = Counts(
        channels=channels,
        totals=totals,
        categories=categories,
        timeliness=timely,
        retractions=retracted,
        documents=documents,
        log=log,
        uninterpreted=without_interpretation,
    )
    warnings += document_warnings
    warnings += _warnings(counts, roles, figures_source, timely.assumed_years)
    title_name = figures.report.agency or name or str(getattr(settings, "site_name", ""))
    report = AnnualReport(
        year=year,
        agency_code=code,
        agency_name=title_name,
        timezone=tz_name,
        generated_at=(now or datetime.now(UTC)).astimezone(scope.tz),
        counts=counts,
        figures=figures,
        figures_source=figures_source,
        narrative="",
        warnings=warnings,
    )
    report.narrative = narrative(report)
    return report


def in_taxonomy_order(rows: list[CategoryCount], taxonomy: Mapping[str, list[str]]) -> list[CategoryCount]:
    """Categories and sub-classes in the order the agency's taxonomy lists them
    (政策法规, 规划计划, 业务工作, 其他信息 …), anything else after them."""
    categories = list(taxonomy)

    def place(row: CategoryCount) -> tuple[int, str, int, str]:
        subs = list(taxonomy.get(row.category, []))
        return (
            categories.index(row.category) if row.category in categories else len(categories),
            row.category,
            subs.index(row.subcategory) if row.subcategory in subs else len(subs),
            row.subcategory or "",
        )

    return sorted(rows, key=place)


def _warnings(
    counts: Counts, roles: ChannelRoles, figures_source: str | None, assumed: list[int]
) -> list[str]:
    found = []
    if figures_source is None:
        found.append(
            "no figures file: tables 三 and 四 and table 二's 许可/处罚/强制/收费 rows are zero "
            "(govpub report --figures-template prints one to fill in)"
        )
    for channel in counts.channels:
        if channel.kind not in roles.roles:
            found.append(
                f"channel {channel.channel!r} is of kind {channel.kind!r}, which no installed plug-in "
                f"declares; its deliveries count as {channel.role.label}"
            )
    if assumed:
        found.append(
            f"no State Council holiday calendar for {assumed}: Monday to Friday assumed as working days"
        )
    if counts.uninterpreted:
        found.append(
            f"{len(counts.uninterpreted)} 件本年公开的规范性文件没有政策解读 (no item interprets them: "
            "inspections ask for both, linked; the list follows the retractions)"
        )
    for what, shown, total in (
        ("late items", len(counts.timeliness.late_items), counts.timeliness.late),
        ("retractions", len(counts.retractions.items), counts.retractions.count),
    ):
        if shown < total:
            found.append(f"{what}: the first {LIST_LIMIT} of {total} are listed")
    return found


def narrative(report: AnnualReport) -> str:
    """The counts in the words of the older, free-text reports: "4 categories, 308
    items; 153 via WeChat; 137 delivered to libraries and archives"."""
    counts = report.counts
    categories = report.category_totals()
    parts = [
        f"{report.year}年，通过政府网站主动公开政府信息{len(categories)}类{counts.totals.portal}条"
        + ("（" + "、".join(f"{c}{n}条" for c, n in categories) + "）" if categories else "")
    ]
    others = report.channels_of(Role.OTHER)
    if others:
        labels = [(c.label if c.label != c.kind else c.channel, c.items) for c in others]
        ways = "、".join(f"{label}{' ' if label[-1].isascii() else ''}{n}条" for label, n in labels)
        parts.append(f"通过其他渠道公开{counts.totals.other}条（{ways}）")
    else:
        parts.append("通过其他渠道公开0条")
    parts.append(f"向档案馆、图书馆报送{counts.totals.deposit}条")
    sentence = "；".join(parts) + "。"
    timely = counts.timeliness
    if timely.published:
        sentence += (
            f"自信息形成之日起{timely.limit_workdays}个工作日内公开{timely.published - timely.late}条，"
            f"超过{timely.limit_workdays}个工作日公开{timely.late}条。"
        )
    if counts.retractions.count:
        sentence += f"撤回已公开信息{counts.retractions.count}条。"
    return sentence
