"""The platform's own pages at the top of the site folder, above the agencies' columns.

    index.html               every active agency's column, grouped by kind; retired ones apart
    latest/index.html        the district-wide latest list (newest items of every column)
    sitemap.xml              a sitemap index of every column's yearly sitemaps
    assets/                  style sheet and script

Written under the lock of the top folder, after (never inside) a column's own work: a
new item rewrites the latest list when it enters it, the sitemap index when its column
gained or lost a year, the front page when the registry changed. Nothing here grows
with the number of items; the sitemap index and the front page grow with the agencies.

The cross-agency search is not a file: ``/site/search?q=…&agency=CODE`` is answered by
``govpub serve`` from the database (:meth:`Portal.search`), newest first, at most
``pages.SEARCH_LIMIT`` items. A static index of every column would cost nothing to
render but would send a browser every item of the platform (a million at 1 M items);
each column keeps its own static search (``{path}/search.html``).
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Engine

from channels.kit.files import folder_lock, write_if_changed
from channels.website import catalogue, layout, pages
from channels.website.catalogue import Catalogue, Entry
from channels.website.layout import IndexSpec
from pipeline.agencies import Agency, Registry

ASSETS = Path(__file__).parent / "assets"
LABELS = {"government": "区政府", "department": "政府部门", "town": "镇", "subdistrict": "街道"}
# Names at the top of the site folder that are the portal's (or were the single column's
# before platform mode, now redirected): no agency's column may take them.
RESERVED = frozenset({"assets", "latest", "search", "items", "category", "year", "sitemaps", "withdrawn"})
LEGACY_LISTINGS = ("category", "year", "sitemaps", "search")


@dataclass
class Portal:
    channel: str
    folder: Path
    url: str
    render: pages.Renderer
    engine: Engine
    agencies: Registry
    latest_size: int
    lock_timeout: float
    _seen_version: int = -1
    _linked: frozenset[str] = frozenset()  # the columns the front page links to

    def lock(self) -> AbstractContextManager[None]:
        return folder_lock(self.folder, self.lock_timeout)

    def column_path(self, code: str) -> str:
        found = self.agencies.get(code)
        return found.path if found is not None else code.lower()

    # -- after items -----------------------------------------------------------------
    def after_items(
        self, columns: Collection[str], items: Collection[int], news: list[Entry], shards_changed: bool
    ) -> None:
        """What rendering ``items`` (one, or a batch's) in ``columns`` (their paths)
        changes here, written once (the caller holds no column lock): the latest list
        (``news`` merged in), the front page when the registry changed or a column is
        new, the sitemap index when a column's shards changed."""
        with self.lock():
            if self.agencies.version() != self._seen_version or not set(columns) <= self._linked:
                self.write_front()
            self.write_latest(items, news)
            if shards_changed:
                self.write_manifests()

    # -- the pages -------------------------------------------------------------------
    def write_front(self) -> None:
        """The front page, the search page and the assets (once per registry version)."""
        version = self.agencies.version()
        for asset in ("site.css", "site.js"):
            write_if_changed(self.folder / "assets" / asset, (ASSETS / asset).read_bytes())
        built = {a.path for a in self.agencies.all() if (self.folder / a.path / "index.html").exists()}
        groups = [
            (LABELS[kind], [_link(a, built) for a in members])
            for kind, members in self.agencies.groups().items()
        ]
        retired = [_link(a, built) for a in self.agencies.all() if not a.active]
        write_if_changed(self.folder / "index.html", self.render.portal(groups, retired))
        self._seen_version, self._linked = version, frozenset(built)

    def write_latest(self, items: Collection[int], news: list[Entry]) -> bool:
        """The newest ``latest_size`` items of every column (the items being rendered,
        ``items``, merged in as ``news``, or left out when they were retracted)."""
        cat = Catalogue(self.engine, self.channel, items, self._sending_ok(items))
        entries = cat.window(IndexSpec("all"), 0, self.latest_size)
        if news:
            entries = sorted([*entries, *news], key=lambda e: e.sort_key, reverse=True)[: self.latest_size]
        return write_if_changed(self.folder / "latest/index.html", self.render.latest(self._rows(entries)))

    def _rows(self, entries: Iterable[Entry]) -> list[dict[str, Any]]:
        rows = []
        for e in entries:
            agency = self.agencies.get(e.agency_code)
            path = self.column_path(e.agency_code)
            rows.append(
                {
                    **self.render.row(e),
                    "agency": agency.name if agency else e.agency_code,
                    "path": f"{path}/{layout.item_page(e.key)}",
                    "column": f"{path}/index.html",
                }
            )
        return rows

    def _sending_ok(self, items: Collection[int]) -> list[int]:
        """Items another worker is publishing whose page is already in their column."""
        found = []
        for pk, index_no in catalogue.being_sent(self.engine, self.channel):
            key = index_no.replace("/", "-")
            column = self.folder / self.column_path(index_no.split("/", 1)[0])
            if (
                pk not in items
                and (column / layout.item_page(key)).exists()
                and not (column / layout.withdrawn_marker(key)).exists()
            ):
                found.append(pk)
        return found

    def search(self, text: str, agency: str | None) -> bytes:
        """The cross-agency search's page: listed items of every column (or of ``agency``)
        whose title holds ``text`` or whose 索引号 it is."""
        found: list[Entry] = []
        if text:
            found = Catalogue(self.engine, self.channel, (), [], agency).search(text, pages.SEARCH_LIMIT)
        choices = [(a.code, a.name) for a in self.agencies.all(include_retired=False)]
        return self.render.found(text, agency or "", choices, self._rows(found))

    def write_manifests(self) -> None:
        """The sitemap index, from the columns' own sitemaps on disk."""
        maps = sorted(self.folder.glob("*/sitemaps/*.xml"))
        locations = [f"{self.url}/{p.parent.parent.name}/sitemaps/{p.name}" for p in maps]
        write_if_changed(self.folder / "sitemap.xml", pages.sitemap_index(locations))

    def rebuild(self, progress: Callable[[str], None]) -> None:
        with self.lock():
            self.write_front()
            progress("portal: front page")
            self.write_latest((), [])
            progress("portal: latest list")
            self.write_manifests()
            progress("portal: sitemap index")


def _link(agency: Agency, built: set[str]) -> dict[str, str]:
    """A column on the front page; one with nothing published yet is named, not linked."""
    return {"title": agency.column_title, "path": f"{agency.path}/index.html" if agency.path in built else ""}


def reserved(agency: Agency) -> bool:
    return agency.path in RESERVED
