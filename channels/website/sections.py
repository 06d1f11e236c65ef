"""The four sections of an agency's column (国办公开办函〔2019〕61号, 政府信息公开平台):

    guide.html            政府信息公开指南: the agency's file, else a default from its registry data
    rules.html            政府信息公开制度: the agency's file, else the rules govpub itself enforces
    index.html, category/ 法定主动公开内容: the listings, by the agency's 主题分类
    annual-reports.html   政府信息公开年报: the reports recorded in ``annual_reports``

A configured page is Markdown (CommonMark with tables) or HTML; either way the result
passes the one sanitising rule of every output (:mod:`pipeline.sanitize`), so a page
file is held to what an item's body is. A default page is generated so that no section
is ever missing or empty; ``govpub site check`` names each column still on a default.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from markdown_it import MarkdownIt
from markupsafe import Markup
from sqlalchemy import Engine, select

from channels.website import layout
from pipeline import db
from pipeline.sanitize import sanitize_html

GUIDE, RULES, REPORTS = "guide.html", "rules.html", "annual-reports.html"
TITLES = {GUIDE: "政府信息公开指南", RULES: "政府信息公开制度", REPORTS: "政府信息公开年报"}
CONTENT = "法定主动公开内容"


@dataclass(frozen=True)
class Page:
    """A section page's body (sanitised) and whether it is govpub's default text."""

    body: Markup
    default: bool
    source: Path | None = None


def from_file(path: Path) -> Page:
    """A configured page: Markdown (HTML inside it is kept, then sanitised) or HTML.
    The page's own ``h1`` is the section's title, so a file that starts its headings at
    ``h1`` has them moved one level down (the rule keeps ``h2``…``h5``)."""
    text = path.read_text("utf-8")
    if path.suffix.lower() in (".md", ".markdown"):
        text = MarkdownIt("commonmark", {"html": True}).enable("table").render(text)
    if HEADING_1.search(text):
        text = HEADING.sub(lambda m: f"<{m[1]}h{min(int(m[2]) + 1, 5)}", text)
    return Page(Markup(sanitize_html(text)), default=False, source=path)


HEADING_1 = re.compile(r"<h1[\s>]", re.IGNORECASE)
HEADING = re.compile(r"<(/?)h([1-5])(?=[\s>])", re.IGNORECASE)


@dataclass(frozen=True)
class Report:
    """One line of the 年报 section: the year and where the report is."""

    year: int
    title: str
    path: str | None  # the item page carrying it, in the column's folder
    url: str | None  # or where it is published elsewhere
    published_on: str


def annual_reports(engine: Engine, agency: str, agency_name: str, folder: Path, tz: Any) -> list[Report]:
    """The agency's recorded reports, newest year first. A report carried by one of its
    items is listed once the item's page is in the column (not before its website
    delivery, never after its retraction); one recorded by URL links there."""
    a, items = db.annual_reports, db.items
    query = (
        select(a.c.year, a.c.url, a.c.published_at, items.c.index_no)
        .select_from(a.outerjoin(items, items.c.pk == a.c.item_pk))
        .where(a.c.agency_code == agency)
        .order_by(a.c.year.desc())
    )
    with engine.connect() as conn:
        rows = conn.execute(query).all()
    found = []
    for row in rows:
        title = f"{agency_name}{row.year}年政府信息公开工作年度报告"
        day = row.published_at.astimezone(tz).date().isoformat() if row.published_at else ""
        if row.index_no is not None:
            key = row.index_no.replace("/", "-")
            live = (folder / layout.item_page(key)).exists()
            if not live or (folder / layout.withdrawn_marker(key)).exists():
                continue
            found.append(Report(row.year, title, layout.item_page(key), None, day))
        elif row.url:
            found.append(Report(row.year, title, None, row.url, day))
    return found


@dataclass(frozen=True)
class Review:
    """What ``govpub site check`` says of one column: what is still govpub's default or
    missing, and which years' reports are recorded."""

    code: str
    name: str
    path: str
    guide: Path | None  # None: the default text
    rules: Path | None
    footer_missing: list[str]
    report_years: list[int]

    @property
    def notes(self) -> list[str]:
        found = []
        if self.guide is None:
            found.append("政府信息公开指南 is the default text made from the registry (set guide)")
        if self.rules is None:
            found.append("政府信息公开制度 is the default text (set rules)")
        if self.footer_missing:
            found.append(f"the footer lacks {'、'.join(self.footer_missing)} (set footer)")
        return found


def report_years(engine: Engine, agency: str) -> list[int]:
    a = db.annual_reports
    with engine.connect() as conn:
        query = select(a.c.year).where(a.c.agency_code == agency).order_by(a.c.year.desc())
        return list(conn.execute(query).scalars())
