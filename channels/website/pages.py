"""Turning items and listings into bytes: HTML pages, the search index, sitemaps.

Jinja2 with autoescaping: every text field (title, summary, names, the retraction
reason) is escaped; only the body is inserted as markup, after a second pass of
the one sanitising rule (:mod:`pipeline.sanitize`: no ``data:`` links, inline
images only as ``data:image/png|jpeg|gif|webp``). Pages carry no render time, so
re-rendering unchanged content gives the same bytes and leaves the file alone.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from xml.sax.saxutils import escape as xml_escape
from zoneinfo import ZoneInfo

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from markupsafe import Markup

from channels.website import sections
from channels.website.catalogue import Entry
from channels.website.layout import IndexSpec, href, item_page
from channels.website.options import Contact, Footer
from pipeline.agencies import Agency
from pipeline.model import Published
from pipeline.sanitize import sanitize_html

Links = Sequence[tuple[str, str]]  # (title, address)
INTERPRETATIONS_START, INTERPRETATIONS_END = "<!--govpub:interpretations-->", "<!--/govpub:interpretations-->"
INVALID = ("废止", "失效")  # 有效性 values that mark an item no longer in force


def clean_body(html: str) -> Markup:
    """The body as markup the page may carry: the one rule of :mod:`pipeline.sanitize`."""
    return Markup(sanitize_html(html))  # nh3 output: the allow-listed subset


def human_size(size: int) -> str:
    if size < 1024:
        return f"{size} B"
    if size < 1024 * 1024:
        return f"{size / 1024:.1f} KB"
    return f"{size / 1024 / 1024:.1f} MB"


@dataclass(frozen=True)
class FileLink:
    name: str
    path: str
    download: str
    media_type: str
    size: str


@dataclass
class SiteInfo:
    """What every page of one site shows around its content."""

    name: str
    column: str
    feeds: list[dict[str, str]]  # title, type (media type), href
    taxonomy: dict[str, list[str]]
    tz: ZoneInfo
    categories: list[dict[str, str]] = field(default_factory=list)
    # the platform's portal page, relative to the column's folder (None: this is the portal)
    portal: str | None = None
    latest: str | None = None  # the portal's district-wide latest list (portal only)
    search: str = "search.html"  # the search page (the portal's is govpub serve's /site/search)
    footer: Footer = field(default_factory=Footer)  # 主办单位, 网站标识码, ICP/公安机关备案号
    sections: bool = False  # an agency's column: the four sections of 国办公开办函〔2019〕61号

    def __post_init__(self) -> None:
        self.categories = [
            {"name": name, "path": IndexSpec("category", category=name).page(None)} for name in self.taxonomy
        ]

    def local(self, moment: datetime) -> str:
        return moment.astimezone(self.tz).strftime("%Y-%m-%d %H:%M")

    def day(self, moment: datetime) -> str:
        return moment.astimezone(self.tz).date().isoformat()

    @property
    def police_code(self) -> str:
        """The digits of the 公安机关备案号: its record's address at beian.mps.gov.cn."""
        return "".join(c for c in self.footer.police or "" if c.isdigit())


class Renderer:
    def __init__(self, site: SiteInfo) -> None:
        self.site = site
        self.env = Environment(
            loader=PackageLoader("channels.website", "templates"),
            autoescape=select_autoescape(default=True, default_for_string=True),
            undefined=StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
            keep_trailing_newline=True,
        )

    def _render(self, template: str, page: str, **context: Any) -> bytes:
        link: Callable[[str], str] = lambda target: href(page, target)  # noqa: E731
        html = self.env.get_template(template).render(site=self.site, link=link, **context)
        return html.encode("utf-8")

    def item(
        self,
        item: Published,
        url: str,
        published: datetime,
        files: list[FileLink],
        interprets: Links = (),
        interpretations: Links = (),
        updated: datetime | None = None,
    ) -> bytes:
        """The item's page; ``interprets`` (解读的政策) and ``interpretations`` (相关解读):
        (title, address) of the policies it interprets and of the items interpreting it;
        ``updated``: when this revision came, for a revised item (its 更新日期)."""
        sub = IndexSpec("subcategory", category=item.category, subcategory=item.subcategory)
        return self._render(
            "item.html",
            item_page(item.key),
            page_title=item.title,
            item=item,
            url=url,
            published=self.site.local(published),
            updated=self.site.local(updated) if updated else None,
            invalid=item.validity in INVALID,
            body=clean_body(item.body_html),
            attachments=files,
            category_path=IndexSpec("category", category=item.category).page(None),
            subcategory_path=sub.page(None) if item.subcategory else None,
            interprets=list(interprets),
            interpretations=list(interpretations),
        )

    def with_interpretations(self, page: bytes, interpretations: Links) -> bytes:
        """An item page whose 相关解读 section lists ``interpretations`` now (the rest of
        the page as it is: the policy's own publication wrote it). Markup of the section is
        the template's, between comments that no sanitised body or escaped text can hold."""
        section = self.env.get_template("interpretations.html").render(interpretations=list(interpretations))
        text = page.decode("utf-8")
        start, end = text.find(INTERPRETATIONS_START), text.find(INTERPRETATIONS_END)
        if start < 0 or end < start:
            return page  # a page of before interpretations: its next publication adds the section
        return (text[:start] + section.rstrip("\n") + text[end + len(INTERPRETATIONS_END) :]).encode("utf-8")

    def withdrawn(self, title: str, index_no: str, url: str, when: datetime, reason: str) -> bytes:
        key = index_no.replace("/", "-")
        return self._render(
            "withdrawn.html",
            item_page(key),
            page_title=f"{title}（已撤回）",
            title=title,
            index_no=index_no,
            url=url,
            when=self.site.local(when),
            reason=reason,
        )

    def listing(
        self,
        spec: IndexSpec,
        number: int | None,
        entries: list[Entry],
        pager: list[tuple[str, str]],
        total: int | None = None,
        years: Iterable[int] = (),
        subs: Iterable[str] = (),
    ) -> bytes:
        """One page of a listing; a category's front page links ``subs``, its
        sub-categories that have a page (never an empty one)."""
        span = ""
        if number is not None and entries:
            span = f"{entries[-1].generated_on.isoformat()} 至 {entries[0].generated_on.isoformat()}"
        heading = spec.title if number is None else f"{spec.title}（第 {number} 页）"
        return self._render(
            "index.html",
            spec.page(number),
            page_title=heading,
            heading=heading,
            entries=[self.row(e) for e in entries],
            pager=pager,
            total=total,
            span=span,
            subindexes=self._subindexes(spec, subs) if number is None else [],
            years=[(y, IndexSpec("year", year=y).page(None)) for y in years],
        )

    @staticmethod
    def _subindexes(spec: IndexSpec, subs: Iterable[str]) -> list[tuple[str, str]]:
        if spec.kind != "category" or spec.category is None:
            return []
        specs = [IndexSpec("subcategory", category=spec.category, subcategory=sub) for sub in subs]
        return [(str(s.subcategory), s.page(None)) for s in specs]

    def row(self, entry: Entry) -> dict[str, Any]:
        """One listed item: its catalogue values, its mark when no longer in force, and
        its 更新日期 when revised."""
        return {
            "title": entry.title,
            "index_no": entry.index_no,
            "category": entry.category,
            "subcategory": entry.subcategory,
            "generated_on": entry.generated_on,
            "path": item_page(entry.key),
            "invalid": entry.validity if entry.validity in INVALID else None,
            "updated": self.site.day(entry.updated_at) if entry.updated_at else None,
        }

    # -- the column's sections (channels.website.sections) ----------------------------
    def section(self, page: str, body: Markup) -> bytes:
        """The 政府信息公开指南 or 政府信息公开制度 page."""
        title = sections.TITLES[page]
        return self._render("section.html", page, page_title=title, heading=title, body=body)

    def annual_reports(self, agency: Agency, reports: list[sections.Report]) -> bytes:
        page = sections.REPORTS
        title = sections.TITLES[page]
        context = {"reports": reports, "deadline": _deadline(agency)}
        return self._render("annual_reports.html", page, page_title=title, heading=title, **context)

    def default_guide(self, agency: Agency, contact: Contact) -> Markup:
        """A guide from what the registry and the options know of the agency."""
        fragment = self.env.get_template("guide_default.html")
        return Markup(fragment.render(agency=agency, contact=contact, taxonomy=self.site.taxonomy))

    def default_rules(self, agency: Agency) -> Markup:
        rules = self.env.get_template("rules_default.html")
        return Markup(rules.render(agency=agency, deadline=_deadline(agency)))

    def search_page(self) -> bytes:
        return self._render("search.html", "search.html", page_title="信息检索")

    def portal(self, groups: list[tuple[str, list[dict[str, str]]]], retired: list[dict[str, str]]) -> bytes:
        """The platform's front page: every agency's column, grouped by kind."""
        return self._render(
            "portal.html", "index.html", page_title=self.site.column, groups=groups, retired=retired
        )

    def found(
        self, query: str, agency: str, choices: list[tuple[str, str]], rows: list[dict[str, Any]]
    ) -> bytes:
        """The cross-agency search's answer page (``/site/search``, a page of govpub serve)."""
        context = {
            "query": query,
            "agency": agency,
            "choices": choices,
            "entries": rows,
            "limit": SEARCH_LIMIT,
        }
        return self._render("found.html", "search", page_title="信息检索", **context)

    def latest(self, rows: list[dict[str, Any]]) -> bytes:
        """The district-wide latest list: the newest items of every column."""
        return self._render("latest.html", "latest/index.html", page_title="最新信息", entries=rows)


SEARCH_LIMIT = 50


def _deadline(agency: Agency) -> str:
    """When its annual report is due (Art. 49): a government's by 31 March, others' by
    31 January."""
    return "3月31日" if agency.kind == "government" else "1月31日"


def _json(data: Any) -> bytes:
    """Compact JSON whose text can never read as markup (``<``, ``>``, ``&`` escaped)."""
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026").encode("utf-8")


def search_shard(entries: list[Entry]) -> bytes:
    """One year of the search index: short keys, newest first, data only."""
    rows = [
        {
            "t": e.title,
            "n": e.index_no,
            "d": e.generated_on.isoformat(),
            "c": e.category,
            "s": e.subcategory or "",
            "g": e.genre or "",
            "u": item_page(e.key),
        }
        for e in entries
    ]
    return _json(rows)


def search_manifest(shards: list[str]) -> bytes:
    return _json({"shards": shards})


def sitemap(urls: list[tuple[str, str]]) -> bytes:
    """A ``urlset`` of (absolute URL, lastmod date)."""
    lines = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        '<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">',
    ]
    lines += [f"<url><loc>{xml_escape(u)}</loc><lastmod>{d}</lastmod></url>" for u, d in urls]
    lines.append("</urlset>\n")
    return "\n".join(lines).encode("utf-8")


def sitemap_index(locations: list[str]) -> bytes:
    lines = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        '<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">',
    ]
    lines += [f"<sitemap><loc>{xml_escape(u)}</loc></sitemap>" for u in locations]
    lines.append("</sitemapindex>\n")
    return "\n".join(lines).encode("utf-8")
