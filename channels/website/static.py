"""The static adapter: the 政府信息公开 column rendered into a folder.

A publication writes the item's page and attachments, then, under the site lock,
rebuilds only what the item changes: the affected archive pages and the front page
of each listing it was or is in (the column, its category and sub-category, its
year), the search index and sitemap of its year, and the two small manifests.
A retraction replaces the page with a notice and takes the item out of all of
them. Listings are read from the database (see :mod:`catalogue`).
"""

from __future__ import annotations

import json
import re
import shutil
from datetime import date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from channels.kit.files import folder_lock, write_if_changed
from channels.website import catalogue, layout, pages, paging
from channels.website.catalogue import Catalogue, Entry
from channels.website.files import remove
from channels.website.layout import IndexSpec
from channels.website.options import StaticOptions
from pipeline import registry
from pipeline.channel import ChannelEnv, DeliveryContext, Health, Ref
from pipeline.errors import PermanentError
from pipeline.model import Published
from pipeline.urls import attachment_name, item_path, item_url, pages_root, public

ASSETS = Path(__file__).parent / "assets"
# the changed item's sort key, and how many other listed items are newer than it
Anchor = tuple[tuple[date, int], int]


class StaticSite:
    def __init__(self, name: str, options: StaticOptions, env: ChannelEnv) -> None:
        settings = env.settings
        self.name = name
        self.env = env
        self.settings = settings
        self.folder = options.folder(settings.data_dir).resolve()
        self.size = options.page_size
        self.lock_timeout = options.lock_timeout_seconds
        self.site = pages.SiteInfo(
            name=settings.site_name,
            column=options.column_name,
            feeds=[  # whatever feeds the installation offers (the feed channel's)
                {"title": a.title, "type": a.media_type, "href": public(settings, a.path)}
                for a in registry.alternates()
            ],
            taxonomy=settings.taxonomy,
            tz=ZoneInfo(settings.timezone),
        )
        self.render = pages.Renderer(self.site)
        self._skeleton_done = False
        self.folder.mkdir(parents=True, exist_ok=True)

    # -- the channel operations ----------------------------------------------------
    def publish(self, item: Published, ctx: DeliveryContext, previous: Ref | None = None) -> Ref:
        row = self._item_row(item)
        if row.retracted_at is not None:  # withdrawn while this publication waited
            notice = self.retract(item, previous, row.retract_reason or "", ctx)
            return notice or {"index_no": item.index_no, "withdrawn": "before it went live"}
        if "published_at" not in ctx.progress:
            first = (previous or {}).get("published_at") or ctx.now.isoformat()
            ctx.checkpoint(published_at=first)
        published_at = datetime.fromisoformat(ctx.progress["published_at"])
        files = self._write_attachments(item, ctx)
        remove(self.folder / layout.withdrawn_marker(item.key))
        page = self.render.item(item, item_url(self.settings, item), published_at, files)
        write_if_changed(self.folder / item_path(item), page)
        old = catalogue.last_delivered(self.env.engine, self.name, row.pk)
        self._reindex(row.pk, old, _entry(row.pk, item))
        return {
            "url": item_url(self.settings, item),
            "path": item_path(item),
            "revision": item.revision,
            "published_at": published_at.isoformat(),
        }

    def retract(self, item: Published, previous: Ref | None, reason: str, ctx: DeliveryContext) -> Ref | None:
        row = self._item_row(item)
        page = self.folder / item_path(item)
        if previous is None and not page.exists():
            return None
        when = row.retracted_at or ctx.now
        notice = self.render.withdrawn(item.title, item.index_no, item_url(self.settings, item), when, reason)
        write_if_changed(page, notice)
        marker = json.dumps({"withdrawn_at": when.isoformat(), "reason": reason}, ensure_ascii=False)
        write_if_changed(self.folder / layout.withdrawn_marker(item.key), marker.encode())
        shutil.rmtree(self.folder / "items" / item.key, ignore_errors=True)
        engine = self.env.engine
        old = catalogue.last_delivered(engine, self.name, row.pk) or catalogue.latest_stored(engine, row.pk)
        self._reindex(row.pk, old, None)
        return {
            "url": item_url(self.settings, item),
            "path": item_path(item),
            "withdrawn_at": when.isoformat(),
        }

    def withdrawn(self, relative: str) -> bool:
        match = re.fullmatch(r"items/([0-9A-Za-z-]+)\.html", relative)
        return match is not None and (self.folder / layout.withdrawn_marker(match.group(1))).exists()

    def health(self) -> Health:
        probe = self.folder / ".health"
        try:
            write_if_changed(probe, b"ok")
        except OSError as exc:
            return Health(False, f"cannot write {self.folder}: {exc}")
        return Health(True, f"static site in {self.folder}")

    # -- the item itself -------------------------------------------------------------
    def _item_row(self, item: Published) -> Any:
        row = catalogue.item_row(self.env.engine, item.index_no)
        if row is None:
            raise PermanentError(f"item {item.index_no} is not in the database; submit it through the intake")
        return row

    def _write_attachments(self, item: Published, ctx: DeliveryContext) -> list[pages.FileLink]:
        """Copy each attachment next to the page under a safe name; drop stale ones."""
        links = []
        for position, att in enumerate(item.attachments, start=1):
            file_name = attachment_name(position, att.name)
            path = layout.attachment_path(item.key, file_name)
            try:
                data = ctx.blob(att.sha256)
            except LookupError as exc:
                missing = f"attachment {att.name!r} ({att.sha256}) is missing from the store"
                raise PermanentError(missing) from exc
            write_if_changed(self.folder / path, data)
            links.append(
                pages.FileLink(att.name, path, file_name, att.media_type, pages.human_size(att.size))
            )
        folder = self.folder / "items" / item.key
        keep = {link.download for link in links}
        if folder.is_dir():
            for stale in folder.iterdir():
                if stale.name not in keep and not stale.name.startswith("."):
                    remove(stale)
        return links

    # -- listings --------------------------------------------------------------------
    def _reindex(self, item_pk: int, old: Entry | None, new: Entry | None) -> None:
        with folder_lock(self.folder, self.lock_timeout):
            cat = Catalogue(self.env.engine, self.name, item_pk, self._sending_ok(item_pk))
            self._ensure_skeleton(cat)
            for year in sorted({e.generated_on.year for e in (old, new) if e}):
                self._write_year(cat, year, new)
            specs: list[IndexSpec] = []
            for entry in (old, new):
                if entry:
                    specs += [s for s in _indexes(entry) if s not in specs]
            specs.sort(key=lambda s: s.kind == "all")  # the column front lists the years
            if not specs:
                self._write_manifests()
                return
            olds = [old if old and _in(spec, old) else None for spec in specs]
            news = [new if new and _in(spec, new) else None for spec in specs]
            keys = [[e.sort_key for e in (was, now) if e] for was, now in zip(olds, news, strict=True)]
            counted = cat.census(list(zip(specs, keys, strict=True)))
            for spec, was, now, (others, below) in zip(specs, olds, news, counted, strict=True):
                old_rank = below.pop(0) if was else None
                new_rank = below.pop(0) if now else None
                change = paging.change(self.size, others, old_rank, new_rank)
                self._write_pages(cat, spec, change, now, _anchor(others, was, old_rank, now, new_rank))
            self._write_manifests()

    def _sending_ok(self, item_pk: int) -> list[int]:
        """Items another worker is publishing whose page is already on disk."""
        return [
            pk
            for pk, index_no in catalogue.being_sent(self.env.engine, self.name)
            if pk != item_pk
            and (self.folder / layout.item_page(index_no.replace("/", "-"))).exists()
            and not (self.folder / layout.withdrawn_marker(index_no.replace("/", "-"))).exists()
        ]

    def _write_pages(
        self, cat: Catalogue, spec: IndexSpec, change: paging.Change, new: Entry | None, anchor: Anchor | None
    ) -> None:
        total, size = change.total, self.size
        last = paging.page_count(total, size)

        def rows(start: int, end: int) -> list[Entry]:
            return _slice(cat, spec, start, end, anchor, new)

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
        if spec.kind == "year" and total == 0:
            remove(front)
            return
        years = self._years() if spec.kind == "all" else []
        pager = []
        if last >= 2:
            pager.append(("更早信息", spec.page(last - 1)))
        if last >= 3:
            pager.append(("最早信息", spec.page(1)))
        write_if_changed(front, self.render.listing(spec, None, entries, pager, total=total, years=years))

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

    def _years(self) -> list[int]:
        found = [p.parent.name for p in (self.folder / "year").glob("*/index.html")]
        return sorted((int(y) for y in found if y.isdigit()), reverse=True)

    def _write_year(self, cat: Catalogue, year: int, new: Entry | None) -> None:
        """The year's search index and sitemap: every item of the year, newest first."""
        spec = IndexSpec("year", year=year)
        entries = cat.everything(spec)
        if new and _in(spec, new):
            entries = sorted([*entries, new], key=lambda e: e.sort_key, reverse=True)
        search, sitemap = self.folder / f"search/{year}.json", self.folder / f"sitemaps/{year}.xml"
        if not entries:
            remove(search)
            remove(sitemap)
            return
        root = pages_root(self.settings)
        urls = [
            (f"{root}/{layout.item_page(e.key)}", e.accepted_at.astimezone(self.site.tz).date().isoformat())
            for e in entries
        ]
        write_if_changed(search, pages.search_shard(entries))
        write_if_changed(sitemap, pages.sitemap(urls))

    def _write_manifests(self) -> None:
        shards = sorted(
            (p.name for p in (self.folder / "search").glob("*.json") if p.stem.isdigit()), reverse=True
        )
        write_if_changed(self.folder / "search/index.json", pages.search_manifest(shards))
        root = pages_root(self.settings)
        maps = sorted(p.name for p in (self.folder / "sitemaps").glob("*.xml"))
        write_if_changed(
            self.folder / "sitemap.xml", pages.sitemap_index([f"{root}/sitemaps/{m}" for m in maps])
        )

    def _ensure_skeleton(self, cat: Catalogue) -> None:
        """Once per process: assets, the search page, and the front page of every listing
        the navigation links to (built from the database when missing)."""
        if self._skeleton_done:
            return
        for asset in ("site.css", "site.js"):
            write_if_changed(self.folder / "assets" / asset, (ASSETS / asset).read_bytes())
        write_if_changed(self.folder / "search.html", self.render.search_page())
        specs = [IndexSpec("all")]
        for category, subs in self.settings.taxonomy.items():
            specs.append(IndexSpec("category", category=category))
            specs += [IndexSpec("subcategory", category=category, subcategory=s) for s in subs]
        for spec in specs:
            if not (self.folder / spec.page(None)).exists():
                self.rebuild_listing(cat, spec)
        self._write_manifests()
        self._skeleton_done = True

    def rebuild_listing(self, cat: Catalogue, spec: IndexSpec) -> None:
        """Every page of one listing from the database (a repair, and the first build)."""
        [(total, _)] = cat.census([(spec, [])])
        last = paging.page_count(total, self.size)
        folder = self.folder / spec.folder
        extra = [p for p in folder.glob("page-*.html") if not p.stem[5:].isdigit() or int(p.stem[5:]) > last]
        for page in extra:
            remove(page)
        self._write_pages(cat, spec, paging.Change(total, range(1, last + 1), range(0)), None, None)

    def rebuild(self) -> None:
        """Every listing, search index and sitemap from the database (item pages stay as
        they are): a repair after a lost or hand-edited folder."""
        with folder_lock(self.folder, self.lock_timeout):
            cat = Catalogue(self.env.engine, self.name, 0, self._sending_ok(0))
            self._skeleton_done = False
            self._ensure_skeleton(cat)
            years = cat.years()
            for stale in (self.folder / "year").glob("*/index.html"):
                if not stale.parent.name.isdigit() or int(stale.parent.name) not in years:
                    remove(stale)
            for year in years:
                self._write_year(cat, year, None)
                self.rebuild_listing(cat, IndexSpec("year", year=year))
            for category, subs in self.settings.taxonomy.items():
                self.rebuild_listing(cat, IndexSpec("category", category=category))
                for sub in subs:
                    self.rebuild_listing(cat, IndexSpec("subcategory", category=category, subcategory=sub))
            self.rebuild_listing(cat, IndexSpec("all"))
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


def _entry(item_pk: int, item: Published) -> Entry:
    return Entry(
        item_pk=item_pk,
        index_no=item.index_no,
        revision=item.revision,
        title=item.title,
        category=item.category,
        subcategory=item.subcategory,
        genre=item.genre,
        generated_on=item.generated_on,
        accepted_at=item.accepted_at,
    )


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
