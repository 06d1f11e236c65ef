"""``govpub freshness``: per agency, how long each column and 政务新媒体 account has gone
without a new publication, against its limit (pipeline.freshness, docs/checks.md)."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

import click

from pipeline.cli.context import pass_services

if TYPE_CHECKING:
    from pipeline.services import Services

WORDS = {"ok": "正常", "warn": "即将超期", "overdue": "已超期", "empty": "无信息"}


@click.command()
@click.option("--agency", default=None, help="One agency's code (default: every agency).")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line instead of the table.")
@click.option("--problems", is_flag=True, help="Only what is near or past its limit, or empty.")
@pass_services
def freshness(services: Services, agency: str | None, as_json: bool, problems: bool) -> None:
    """The columns and accounts of every agency (or one): last publication, days since,
    limit, state (ok, warn, overdue, empty). Worked out now from the delivery log; exit
    status 1 when something is overdue."""
    from pipeline.freshness.watch import DAY, watched

    if agency is not None and services.registry.get(agency) is None:
        raise click.ClickException(f"no agency {agency} is registered (govpub agencies list)")
    now, tz = services.clock(), services.settings.timezone
    names = {a.code: a.name for a in services.registry.all()}
    rows = [w for w in watched(services, agency) if not problems or w.state(now) != "ok"]
    for w in rows:
        age = w.age_seconds(now)
        days = None if age is None else round(age / DAY, 1)
        if as_json:
            line = {
                "agency": w.agency,
                "agency_name": names.get(w.agency, w.agency),
                "kind": w.kind,
                "subject": w.subject,
                "label": w.label,
                "last_published_at": w.last_at.isoformat() if w.last_at else None,
                "days_since": days,
                "limit_days": w.limit_days,
                "state": w.state(now),
            }
            click.echo(json.dumps(line, ensure_ascii=False))
            continue
        last = w.last_at.astimezone(ZoneInfo(tz)).strftime("%Y-%m-%d %H:%M") if w.last_at else "—"
        since = "—" if days is None else f"{days:g} 天"
        what = "栏目" if w.kind == "column" else "账号"
        click.echo(
            f"{names.get(w.agency, w.agency)}\t{what}\t{w.label}\t{last}\t{since}\t"
            f"期限 {w.limit_days:g} 天\t{WORDS[w.state(now)]}"
        )
    if not as_json:
        counts = {s: sum(w.state(now) == s for w in rows) for s in WORDS}
        click.echo(
            f"共 {len(rows)} 项：即将超期 {counts['warn']}，已超期 {counts['overdue']}，"
            f"无信息 {counts['empty']}",
            err=True,
        )
    if any(w.state(now) == "overdue" for w in rows):
        raise SystemExit(1)
