"""``govpub report --year Y --agency CODE --publish``: the report as one of the agency's items.

The report goes through the intake like any item (``POST /v1/items`` with a source's
token, the checks, a delivery per channel), so it reaches every channel the agency
has; its page on the website is the report, and the column's 政府信息公开年报 section
lists it. The item carries the report as its body (the HTML page's content, the chart
as an inline PNG) and the Word document as an attachment; the approval record is the
operator's (the report is approved like any disclosure: 一事一审查).

Publishing again makes a new revision of the same item (the one ``annual_reports``
records for the agency and year, else the agency's item ``annual-report-YEAR``), never a
second item; the publication is recorded (or re-recorded) with the item's 索引号.
"""

from __future__ import annotations

import base64
import json
import tomllib
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

from lxml import html as lxml_html
from markupsafe import Markup
from sqlalchemy import Engine, select

from pipeline import db
from pipeline.agencies import Agency
from pipeline.errors import ValidationFailed
from pipeline.report import layout
from pipeline.report.chart import Chart, monthly_chart
from pipeline.report.docx import render_docx
from pipeline.report.model import AnnualReport
from pipeline.report.templating import render

DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
GENRE = "年度报告"


@dataclass(frozen=True)
class Target:
    """The item that carries the report: its id and the revision to submit."""

    item_id: str
    revision: int


def target(engine: Engine, agency: str, year: int, item_id: str | None) -> Target:
    """The report's item: the one recorded for the year (or ``item_id``), one revision on."""
    a, items = db.annual_reports, db.items
    with engine.connect() as conn:
        recorded = conn.execute(
            select(items.c.item_id, items.c.latest_revision)
            .select_from(a.join(items, items.c.pk == a.c.item_pk))
            .where(a.c.agency_code == agency, a.c.year == year)
        ).first()
        if recorded is not None and item_id in (None, recorded.item_id):
            return Target(recorded.item_id, recorded.latest_revision + 1)
        wanted = item_id or f"annual-report-{year}"
        latest = conn.execute(
            select(items.c.latest_revision)
            .where(items.c.agency_code == agency, items.c.item_id == wanted)
            .order_by(items.c.latest_revision.desc())
            .limit(1)
        ).scalar()
    return Target(wanted, (latest or 0) + 1)


def category_for(taxonomy: dict[str, list[str]]) -> tuple[str, str | None]:
    """Where the report is filed in the agency's 主题分类: a class or sub-class named for
    annual reports (…年报 / …年度报告), else 其他信息."""
    for category, subs in taxonomy.items():
        if _annual(category):
            return category, None
        for sub in subs:
            if _annual(sub):
                return category, sub
    if "其他信息" in taxonomy:
        return "其他信息", None
    raise ValidationFailed(
        "no category for the report",
        [f"category: none of {sorted(taxonomy)} is for annual reports; name one with --category"],
    )


def _annual(name: str) -> bool:
    return name.endswith(("年报", "年度报告"))


def read_approval(path: Path) -> dict[str, Any]:
    """The approval record (TOML or JSON, the item's ``approval`` object)."""
    text = path.read_text("utf-8")
    try:
        found = tomllib.loads(text) if path.suffix.lower() == ".toml" else json.loads(text)
    except (tomllib.TOMLDecodeError, json.JSONDecodeError) as exc:
        raise ValidationFailed("unreadable approval record", [f"{path}: {exc}"]) from exc
    if not isinstance(found, dict):
        raise ValidationFailed("unreadable approval record", [f"{path}: not a table"])
    return json.loads(json.dumps(found, default=_iso))  # TOML datetimes as ISO text


def _iso(value: Any) -> str:
    if isinstance(value, datetime | date):
        return value.isoformat()
    raise TypeError(f"not JSON: {value!r}")


def body_html(report: AnnualReport, chart: Chart) -> str:
    """The report page's content, the chart as an inline PNG (the one image form every
    channel's sanitising rule keeps)."""
    png = base64.b64encode(chart.png).decode("ascii")
    picture = Markup('<img src="data:image/png;base64,{}" alt="各渠道每月公开条数">').format(png)
    page = render("report.html.j2", r=report, chart=picture, chart_warning=chart.warning)
    body = lxml_html.document_fromstring(page).body
    return "".join(lxml_html.tostring(child, encoding="unicode") for child in body)


def report_item(
    report: AnnualReport,
    agency: Agency,
    taxonomy: dict[str, list[str]],
    approval: dict[str, Any],
    chosen: Target,
    today: date,
    category: tuple[str, str | None] | None = None,
) -> dict[str, Any]:
    """The item as the intake takes it."""
    chart = monthly_chart(report)
    title = layout.title(report)
    filed, sub = category or category_for(taxonomy)
    docx = base64.b64encode(render_docx(report, chart)).decode("ascii")
    return {
        "id": chosen.item_id,
        "revision": chosen.revision,
        "title": title,
        "agency": {"code": agency.code, "name": agency.name},
        "generated_on": today.isoformat(),
        "category": filed,
        "subcategory": sub,
        "genre": GENRE,
        "keywords": ["政府信息公开", "年度报告"],
        "summary": title,
        "body_html": body_html(report, chart),
        "attachments": [{"name": f"{title}.docx", "media_type": DOCX, "content_base64": docx}],
        "approval": approval,
    }
