"""One agency's column of the static site: its listings, search index and sitemap.

The column lives in its own folder (``{site}/{agency.path}/``, the layout of
:mod:`channels.website.layout` inside it) and is rewritten under that folder's lock,
so two agencies render in parallel and one item never touches another agency's
files. Listings are read from the database, filtered to the agency
(:class:`~channels.website.catalogue.Catalogue`); a new item changes only the
affected archive pages and the front page of each listing it was or is in.

A batch of items (:meth:`Column.reindex_many`) writes each affected page once for all
of them: every listing any of them was or is in, from the oldest page one of them
touches up to the newest, and each affected year's search index and sitemap once.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from contextlib import AbstractContextManager, suppress
from dataclasses import dataclass
from datetime import date
from functools import partial
from pathlib import Path

from sqlalchemy import Engine

from channels.kit.files import folder_lock, write_if_changed
from channels.website import catalogue, layout, pages, paging, sections
from channels.website.catalogue import Catalogue, Entry
from channels.website.files import remove
from channels.website.layout import IndexSpec
from pipeline.agencies import Agency

ASSETS = Path(__file__).parent / "assets"
# the changed item's sort key, and how many other listed items are newer than it
Anchor = tuple[tuple[date, int], int]
# one item of a batch: its primary key, the entry listed before, the entry listed after
Change = tuple[int, Entry | None, Entry | None]


@dataclass
class Column:
    """One agency's column: ``folder`` on disk, ``url`` its public address."""

    channel: str
    agency: str
    folder: Path
    url: str
    render: pages.Renderer
    engine: Engine
    size: int
    lock_timeout: float
    registered: Agency
    guide: sections.Page
    rules: sections.Page
    _skeleton_done: bool = False

    @property
    def taxonomy(self) -> dict[str, list[str]]:
        return self.render.site.taxonomy

    def lock(self) -> AbstractContextManager[None]:
        return folder_lock(self.folder, self.lock_timeout)

    def catalogue(self, items: Collection[int]) -> Catalogue:
        """The column's listings without ``items`` (those being rendered)."""
        return Catalogue(self.engine, self.channel, items, self._sending_ok(items), self.agency)

    def reindex(self, item_pk: int, old: Entry | None, new: Entry | None) -> bool:
        """Rewrite what the item changes (the caller holds :meth:`lock`); True when the
        column's set of search shards or sitemaps changed (the portal lists them)."""
        cat = self.catalogue([item_pk])
        self.ensure_skeleton(cat)
        for year in sorted({e.generated_on.year for e in (old, new) if e}):
            self._write_year(cat, year, [new] if new else [])
        specs: list[IndexSpec] = []
        for entry in (old, new):
            if entry:
                specs += [s for s in _indexes(entry) if s not in specs]
        specs.sort(key=_writing_order)  # a front page lists the listings written before it
        self.write_reports()
        if not specs:
            return self._write_manifests()
        olds = [old if old and _in(spec, old) else None for spec in specs]
        news = [new if new and _in(spec, new) else None for spec in specs]
        keys = [[e.sort_key for e in (was, now) if e] for was, now in zip(olds, news, strict=True)]
        counted = cat.census(list(zip(specs, keys, strict=True)))
        for spec, was, now, (others, below) in zip(specs, olds, news, counted, strict=True):
            old_rank = below.pop(0) if was else None
            new_rank = below.pop(0) if now else None
            change = paging.change(self.size, others, old_rank, new_rank)
            anchor = _anchor(others, was, old_rank, now, new_rank)
            self._write_pages(spec, change, partial(_slice, cat, spec, anchor=anchor, new=now))
        return self._write_manifests()

    def reindex_many(self, changes: list[Change]) -> bool:
        """:meth:`reindex` for several items at once (none twice), each page written once."""
        if len(changes) == 1:
            return self.reindex(*changes[0])
        cat = self.catalogue([pk for pk, _, _ in changes])
        self.ensure_skeleton(cat)
        olds = [old for _, old, _ in changes if old]
        news = [new for _, _, new in changes if new]
        for year in sorted({e.generated_on.year for e in (*olds, *news)}):
            self._write_year(cat, year, news)
        specs = list(dict.fromkeys(s for e in (*olds, *news) for s in _indexes(e)))
        specs.sort(key=_writing_order)  # a front page lists the listings written before it
        listed = [([e for e in olds if _in(s, e)], [e for e in news if _in(s, e)]) for s in specs]
        wanted = [(s, [e.sort_key for e in (*o, *n)]) for s, (o, n) in zip(specs, listed, strict=True)]
        for spec, (was, now), (others, below) in zip(specs, listed, cat.census(wanted), strict=True):
            old_ranks = _ranks(was, below[: len(was)])
            new_ranks = _ranks(now, below[len(was) :])
            change = paging.change_many(self.size, others, old_ranks, new_ranks)
            placed = sorted(zip(new_ranks, now, strict=True), key=lambda pair: pair[0], reverse=True)
            self._write_pages(spec, change, partial(_merged, cat, spec, placed=placed, total=change.total))
        self.write_reports()
        return self._write_manifests()

    def _sending_ok(self, items: Collection[int]) -> list[int]:
        """Items another worker is publishing whose page is already on disk."""
        return [
            pk
            for pk, index_no in catalogue.being_sent(self.engine, self.channel, self.agency)
            if pk not in items
            and (self.folder / layout.item_page(index_no.replace("/", "-"))).exists()
            and not (self.folder / layout.withdrawn_marker(index_no.replace("/", "-"))).exists()
        ]

    def _write_pages(
        self, spec: IndexSpec, change: paging.Change, rows: Callable[[int, int], list[Entry]]
    ) -> None:
        """The listing's pages ``change`` names and its front page; ``rows(start, end)``
        answers newest-first positions of the listing after the change."""
        total, size = change.total, self.size
        last = paging.page_count(total, size)
        front: list[Entry] | None = None
        if change.write:
            start, end = paging.newest_first_span(change.write, total, size)
            span = rows(start, end)
            if start == 0 and end >= min(size, total):
                front = span[:size]
            for number in change.write:
                a, b = paging.page_positions(number, total, size)
                entries = span[a - start : b - start]
                write_if_changed(
                    self.folder / spec.page(number),
                    self.render.listing(spec, number, entries, self._pager(spec, number, last)),
                )
        for number in change.delete:
            remove(self.folder / spec.page(number))
        self._write_front(spec, rows(0, size) if front is None else front, total, last)

    def _write_front(self, spec: IndexSpec, entries: list[Entry], total: int, last: int) -> None:
        front = self.folder / spec.page(None)
        if spec.kind in ("year", "subcategory") and total == 0:  # no empty page (空白栏目)
            remove(front)
            with suppress(OSError):  # the folder goes too, unless something else is in it
                front.parent.rmdir()
            return
        years = self._years() if spec.kind == "all" else []
        pager = []
        if last >= 2:
            pager.append(("更早信息", spec.page(last - 1)))
        if last >= 3:
            pager.append(("最早信息", spec.page(1)))
        subs = self._subcategories(spec.category) if spec.kind == "category" and spec.category else []
        listing = self.render.listing(spec, None, entries, pager, total=total, years=years, subs=subs)
        write_if_changed(front, listing)

    @staticmethod
    def _pager(spec: IndexSpec, number: int, last: int) -> list[tuple[str, str]]:
        links = [("最新信息", spec.page(None))]
        if number < last:
            links.append(("较新信息", spec.page(number + 1)))
        if number > 1:
            links.append(("较早信息", spec.page(number - 1)))
        if number > 2:
            links.append(("最早信息", spec.page(1)))
        return links

    def _subcategories(self, category: str) -> list[str]:
        """The category's sub-categories that have a page (the non-empty ones), in the
        taxonomy's order: a category page links no empty one."""
        subs = self.taxonomy.get(category, [])
        return [s for s in subs if (self.folder / _sub(category, s).page(None)).exists()]

    def _years(self) -> list[int]:
        found = [p.parent.name for p in (self.folder / "year").glob("*/index.html")]
        return sorted((int(y) for y in found if y.isdigit()), reverse=True)

    def _write_year(self, cat: Catalogue, year: int, news: list[Entry]) -> None:
        """The year's search index and sitemap: every item of the year, newest first
        (``news``: the entries being rendered, merged in)."""
        spec = IndexSpec("year", year=year)
        entries = cat.everything(spec)
        mine = [e for e in news if _in(spec, e)]
        if mine:
            entries = sorted([*entries, *mine], key=lambda e: e.sort_key, reverse=True)
        search, sitemap = self.folder / f"search/{year}.json", self.folder / f"sitemaps/{year}.xml"
        if not entries:
            remove(search)
            remove(sitemap)
            return
        root, tz = self.url, self.render.site.tz
        urls = [
            (f"{root}/{layout.item_page(e.key)}", e.accepted_at.astimezone(tz).date().isoformat())
            for e in entries
        ]
        write_if_changed(search, pages.search_shard(entries))
        write_if_changed(sitemap, pages.sitemap(urls))

    def shards(self) -> list[str]:
        """The column's search shards, newest year first."""
        found = (p.name for p in (self.folder / "search").glob("*.json") if p.stem.isdigit())
        return sorted(found, reverse=True)

    def sitemaps(self) -> list[str]:
        return sorted(p.name for p in (self.folder / "sitemaps").glob("*.xml"))

    def _write_manifests(self) -> bool:
        changed = write_if_changed(self.folder / "search/index.json", pages.search_manifest(self.shards()))
        maps = [f"{self.url}/sitemaps/{m}" for m in self.sitemaps()]
        return write_if_changed(self.folder / "sitemap.xml", pages.sitemap_index(maps)) or changed

    def ensure_skeleton(self, cat: Catalogue) -> None:
        """Once per process: assets, the search page, and the front page of every listing
        the navigation links to (built from the database when missing)."""
        if self._skeleton_done:
            return
        for asset in ("site.css", "site.js"):
            write_if_changed(self.folder / "assets" / asset, (ASSETS / asset).read_bytes())
        write_if_changed(self.folder / "search.html", self.render.search_page())
        write_if_changed(self.folder / sections.GUIDE, self.render.section(sections.GUIDE, self.guide.body))
        write_if_changed(self.folder / sections.RULES, self.render.section(sections.RULES, self.rules.body))
        self.write_reports()
        for spec in self._navigation():  # an empty sub-category is looked at once, stays absent
            if not (self.folder / spec.page(None)).exists():
                self.rebuild_listing(cat, spec)
        self._write_manifests()
        self._skeleton_done = True

    def _navigation(self) -> list[IndexSpec]:
        """The listings of the taxonomy and the whole column, each before the page that
        links it: a category's sub-categories before the category, the column last."""
        specs: list[IndexSpec] = []
        for category, subs in self.taxonomy.items():
            specs += [_sub(category, s) for s in subs]
            specs.append(IndexSpec("category", category=category))
        return [*specs, IndexSpec("all")]

    def write_reports(self) -> None:
        """The 政府信息公开年报 section, from ``annual_reports`` (one indexed read; the
        page is rewritten only when the list changed)."""
        agency = self.registered
        found = sections.annual_reports(
            self.engine, agency.code, agency.name, self.folder, self.render.site.tz
        )
        write_if_changed(self.folder / sections.REPORTS, self.render.annual_reports(agency, found))

    def rebuild_listing(self, cat: Catalogue, spec: IndexSpec) -> None:
        """Every page of one listing from the database (a repair, and the first build)."""
        [(total, _)] = cat.census([(spec, [])])
        last = paging.page_count(total, self.size)
        folder = self.folder / spec.folder
        extra = [p for p in folder.glob("page-*.html") if not p.stem[5:].isdigit() or int(p.stem[5:]) > last]
        for page in extra:
            remove(page)
        change = paging.Change(total, range(1, last + 1), range(0))
        self._write_pages(spec, change, partial(_merged, cat, spec, placed=[], total=total))

    def rebuild(self) -> None:
        """Every listing, search index and sitemap from the database (item pages stay as
        they are): a repair after a lost or hand-edited folder."""
        with self.lock():
            cat = self.catalogue(())
            self._skeleton_done = False
            self.ensure_skeleton(cat)
            years = cat.years()
            for stale in (self.folder / "year").glob("*/index.html"):
                if not stale.parent.name.isdigit() or int(stale.parent.name) not in years:
                    remove(stale)
            for year in years:
                self._write_year(cat, year, [])
                self.rebuild_listing(cat, IndexSpec("year", year=year))
            for spec in self._navigation():
                self.rebuild_listing(cat, spec)
            self._write_manifests()


def _anchor(
    others: int, was: Entry | None, old_rank: int | None, now: Entry | None, new_rank: int | None
) -> Anchor | None:
    """Where the change happens in a listing: the new position, else the old one."""
    if now is not None and new_rank is not None:
        return (now.sort_key, others - new_rank)
    if was is not None and old_rank is not None:
        return (was.sort_key, others - old_rank)
    return None


def _slice(
    cat: Catalogue, spec: IndexSpec, start: int, end: int, anchor: Anchor | None, new: Entry | None
) -> list[Entry]:
    """Newest-first positions ``start``…``end`` of a listing after the change.

    ``anchor`` is the changed item's key and how many other items are newer; ``new``,
    when given, sits right after those. Rows near the anchor are read by a range walk
    from its key, rows near the top by position, whichever walks fewer rows."""
    if anchor is None:
        return cat.window(spec, start, end - start)
    key, above = anchor
    found: list[Entry] = []
    first, last = start, min(end, above)
    if last > first:
        if last <= above - first:
            found += cat.window(spec, first, last - first)
        else:
            found += reversed(cat.beside(spec, key, True, above - last, last - first))
    if new is not None and start <= above < end:
        found.append(new)
    below = above + (new is not None)
    if end > max(start, below):
        found += cat.beside(spec, key, False, max(start, below) - below, end - max(start, below))
    return found


def _sub(category: str, subcategory: str) -> IndexSpec:
    return IndexSpec("subcategory", category=category, subcategory=subcategory)


_ORDER = {"subcategory": 0, "category": 1, "year": 2, "all": 3}


def _writing_order(spec: IndexSpec) -> int:
    """Sub-category before category (its page lists the non-empty ones), years before
    the column's front (it lists the years)."""
    return _ORDER[spec.kind]


def _ranks(entries: list[Entry], below: list[int]) -> list[int]:
    """Each entry's rank from the oldest in a listing of the other items plus
    ``entries``: the others older than it (``below``) and the entries older than it."""
    return [n + sum(o.sort_key < e.sort_key for o in entries) for e, n in zip(entries, below, strict=True)]


def _merged(
    cat: Catalogue, spec: IndexSpec, start: int, end: int, placed: list[tuple[int, Entry]], total: int
) -> list[Entry]:
    """Newest-first positions ``start``…``end`` of a listing after a batch: the other
    items read from the database, the batch's ``placed`` (rank, entry) merged in."""
    at = [(total - 1 - rank, entry) for rank, entry in placed]  # newest-first positions
    above = sum(1 for position, _ in at if position < start)
    inside = [entry for position, entry in at if start <= position < end]
    others = cat.window(spec, start - above, end - start - len(inside))
    return sorted([*others, *inside], key=lambda e: e.sort_key, reverse=True)


def _indexes(entry: Entry) -> list[IndexSpec]:
    return layout.indexes_of(entry.category, entry.subcategory, entry.generated_on.year)


def _in(spec: IndexSpec, entry: Entry) -> bool:
    if spec.kind == "category":
        return entry.category == spec.category
    if spec.kind == "subcategory":
        return entry.category == spec.category and entry.subcategory == spec.subcategory
    if spec.kind == "year":
        return entry.generated_on.year == spec.year
    return True
