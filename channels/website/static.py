"""The static adapter: the platform's site rendered into a folder, one column per agency.

    {folder}/                   the portal (:mod:`channels.website.portal`)
    {folder}/{agency.path}/     each agency's column (:mod:`channels.website.column`,
                                the layout of :mod:`channels.website.layout` inside it)

A publication writes the item's page and attachments into its agency's column, then,
under that column's lock, rebuilds only what the item changes there (the affected
archive pages and front pages of its listings, its year's search index and sitemap),
then the portal's latest list under the portal's lock. Another agency's files are never
touched, so columns render in parallel. A batch (:meth:`StaticSite.deliver`) writes each
item's page, then each column's listings once for all its items, then the portal once;
a single delivery is a batch of one. A retraction replaces the page with a notice and
takes the item out of its listings.

Paths come from the agency registry: a column whose agency moved to a new path is moved
there on its next render (the old path then answers 301, :meth:`StaticSite.moved`), and
pages of the single column of before platform mode (``items/…`` at the top) are moved
into their agency's column by ``govpub site rebuild``.
"""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Callable
from contextlib import suppress
from datetime import datetime
from functools import cached_property
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from channels.kit.batches import Answers, answer_one
from channels.kit.files import write_if_changed
from channels.website import catalogue, layout, pages, sections
from channels.website.catalogue import Entry
from channels.website.column import Change, Column
from channels.website.files import remove
from channels.website.options import StaticOptions, parse_options
from channels.website.portal import LEGACY_LISTINGS, RESERVED, Portal
from pipeline import interpretations, registry
from pipeline.agencies import Agency
from pipeline.channel import BatchEntry, ChannelEnv, DeliveryContext, Health, Ref
from pipeline.errors import PermanentError
from pipeline.model import Published
from pipeline.urls import attachment_name, item_url, page_url, pages_root, public

ITEM = re.compile(r"items/([0-9A-Za-z-]+)(\.html|/.*)")
SUBCATEGORY = re.compile(
    r"([a-z0-9][a-z0-9-]*/category/[^/.][^/]*)/[^/.][^/]*(?:/(?:index\.html|page-\d+\.html)?)?"
)


class StaticSite:
    def __init__(self, name: str, options: StaticOptions, env: ChannelEnv) -> None:
        settings = env.settings
        self.name = name
        self.env = env
        self.settings = settings
        self.folder = options.folder(settings.data_dir).resolve()
        self.size = options.page_size
        self.lock_timeout = options.lock_timeout_seconds
        self.feeds = [  # whatever feeds the installation offers (the feed channel's)
            {"title": a.title, "type": a.media_type, "href": public(settings, a.path)}
            for a in registry.alternates()
        ]
        self.tz = ZoneInfo(settings.timezone)
        self._columns: dict[str, tuple[Agency, Column]] = {}
        self.column_name = options.column_name
        self.latest_size = options.latest_size
        self.options = options
        self.folder.mkdir(parents=True, exist_ok=True)

    @cached_property
    def portal(self) -> Portal:
        site = pages.SiteInfo(
            name=self.settings.site_name,
            column=self.column_name,
            feeds=self.feeds,
            taxonomy={},
            tz=self.tz,
            latest="latest/index.html",
            search="search",
            footer=self.options.footer,
        )
        return Portal(
            channel=self.name,
            folder=self.folder,
            url=pages_root(self.settings),
            render=pages.Renderer(site),
            engine=self.env.engine,
            agencies=self.env.agencies,
            latest_size=self.latest_size,
            lock_timeout=self.lock_timeout,
        )

    # -- the columns -------------------------------------------------------------------
    def agency(self, code: str) -> Agency:
        """The registered agency (a code not registered yet gets the registry's default path)."""
        found = self.env.agencies.get(code)
        return found if found is not None else Agency(code=code, name=code, path=code.lower())

    def column(self, agency: Agency) -> Column:
        """The agency's column as the registry says it is now (built again when its path,
        name or taxonomy changed; a column found at a former path moves to the new one)."""
        cached = self._columns.get(agency.code)
        if cached is not None and cached[0] == agency:
            return cached[1]
        if agency.path in RESERVED:
            raise PermanentError(
                f"agency {agency.code}: its path {agency.path!r} is one of the portal's own folders "
                f"({', '.join(sorted(RESERVED))}); give it another with govpub agencies edit --path"
            )
        folder = self.folder / agency.path
        if not folder.exists():
            self._move_former(agency, folder)
        own = self.column_options(agency.code)
        site = pages.SiteInfo(
            name=self.settings.site_name,
            column=agency.column_title,
            feeds=self.feeds,
            taxonomy=agency.taxonomy_or(self.settings.taxonomy),
            tz=self.tz,
            portal="../index.html",
            footer=own.footer,
            sections=True,
        )
        render = pages.Renderer(site)
        column = Column(
            channel=self.name,
            agency=agency.code,
            folder=folder,
            url=f"{pages_root(self.settings)}/{agency.path}",
            render=render,
            engine=self.env.engine,
            size=self.size,
            lock_timeout=self.lock_timeout,
            registered=agency,
            guide=sections.from_file(own.guide)
            if own.guide
            else sections.Page(render.default_guide(agency, own.contact), default=True),
            rules=sections.from_file(own.rules)
            if own.rules
            else sections.Page(render.default_rules(agency), default=True),
        )
        self._columns[agency.code] = (agency, column)
        return column

    def column_options(self, code: str) -> StaticOptions:
        """The options of the agency's column: the instance's, with the agency's overlay
        (``[agencies.CODE.channels.NAME]``: its guide, rules, contact, 主办单位) over them."""
        resolved = self.env.options_for(self.name, code)
        if resolved is None or resolved.owner is None:
            return self.options
        parsed = parse_options(self.name, resolved.options)
        return parsed if isinstance(parsed, StaticOptions) else self.options

    def review(self) -> list[sections.Review]:
        """Each active agency's column: its pages of its own or govpub's defaults, its
        footer's missing fields, its recorded annual reports (``govpub site check``)."""
        found = []
        for agency in self.env.agencies.all(include_retired=False):
            own = self.column_options(agency.code)
            years = sections.report_years(self.env.engine, agency.code)
            missing = own.footer.missing()
            found.append(
                sections.Review(agency.code, agency.name, agency.path, own.guide, own.rules, missing, years)
            )
        return found

    def _move_former(self, agency: Agency, folder: Path) -> None:
        for former in reversed(agency.former_paths):
            old = self.folder / former
            if former not in RESERVED and (old / "index.html").exists():
                with suppress(OSError):  # another worker moved it first
                    old.rename(folder)
                return

    # -- the channel operations ----------------------------------------------------
    def publish(self, item: Published, ctx: DeliveryContext, previous: Ref | None = None) -> Ref:
        ref = answer_one(self.deliver, BatchEntry(item=item, ctx=ctx, previous=previous))
        assert ref is not None  # a publication always answers (a notice when withdrawn)
        return ref

    def retract(self, item: Published, previous: Ref | None, reason: str, ctx: DeliveryContext) -> Ref | None:
        entry = BatchEntry(item=item, ctx=ctx, action="retract", previous=previous, reason=reason)
        return answer_one(self.deliver, entry)

    def deliver(self, entries: list[BatchEntry]) -> Answers:
        """Deliveries of distinct items at once: each item's page, then, per column and
        under its lock once, every listing, search index and sitemap they change, then
        the portal once. An entry whose own page fails fails alone; a column's listings
        that fail fail the entries of that column."""
        rows = catalogue.item_rows(self.env.engine, [e.item.index_no for e in entries])
        answers: Answers = {}
        columns: dict[str, tuple[Column, list[tuple[int, Ref, Change]]]] = {}
        for entry in entries:
            try:
                found = self._page(entry, rows.get(entry.item.index_no))
            except Exception as exc:  # this entry alone (the runner classifies it)
                answers[entry.ctx.delivery_id] = exc
                continue
            column, ref, change = found
            if column is None or change is None or ref is None:  # nothing of the site changes
                answers[entry.ctx.delivery_id] = ref
                continue
            columns.setdefault(column.agency, (column, []))[1].append((entry.ctx.delivery_id, ref, change))
        done: list[tuple[Column, list[tuple[int, Ref, Change]]]] = []
        shards_changed = False
        for column, work in columns.values():
            try:
                with column.lock():
                    shards_changed |= column.reindex_many([change for _, _, change in work])
            except Exception as exc:  # the column's listings: its entries retry
                answers.update((delivery_id, exc) for delivery_id, _, _ in work)
            else:
                done.append((column, work))
        if done:
            changes = [change for _, work in done for _, _, change in work]
            paths = [column.folder.relative_to(self.folder).as_posix() for column, _ in done]
            news = [new for _, _, new in changes if new]
            try:
                self.portal.after_items(paths, [pk for pk, _, _ in changes], news, shards_changed)
            except Exception as exc:
                answers.update((delivery_id, exc) for _, work in done for delivery_id, _, _ in work)
            else:
                for delivery_id, ref, (item_pk, _, _) in (w for _, work in done for w in work):
                    answers[delivery_id] = self._relinked(item_pk, ref)
        return answers

    def _relinked(self, item_pk: int, ref: Ref) -> Ref | Exception:
        """``ref`` once the pages of the policies the item interprets list it as it is now."""
        try:
            self._relink_policies(item_pk)
        except Exception as exc:
            return exc
        return ref

    def _page(self, entry: BatchEntry, row: Any) -> tuple[Column | None, Ref | None, Change | None]:
        """Write the entry's own page (the item's, or a withdrawal notice); answer its
        column, its reference and what it changes in the listings (no column: the
        answer alone, nothing of the site changes)."""
        item, ctx = entry.item, entry.ctx
        if row is None:
            raise PermanentError(f"item {item.index_no} is not in the database; submit it through the intake")
        if entry.action == "retract":
            return self._notice(item, entry.previous, entry.reason, ctx.now, row) or (None, None, None)
        if row.retracted_at is not None:  # withdrawn while this publication waited
            found = self._notice(item, entry.previous, row.retract_reason or "", ctx.now, row)
            return found or (None, {"index_no": item.index_no, "withdrawn": "before it went live"}, None)
        if "published_at" not in ctx.progress:
            first = (entry.previous or {}).get("published_at") or ctx.now.isoformat()
            ctx.checkpoint(published_at=first)
        published_at = datetime.fromisoformat(ctx.progress["published_at"])
        agency = self.agency(item.agency.code)
        column = self.column(agency)
        url = item_url(self.settings, item, agencies=self.env.agencies)
        files = self._write_attachments(item, ctx, column.folder)
        remove(column.folder / layout.withdrawn_marker(item.key))
        old = catalogue.last_delivered(self.env.engine, self.name, row.pk)
        with column.lock():  # the page's 相关解读 as its interpretations' pages see it
            page = self._item_page(column, item, url, published_at, files, row.pk, row.created_at)
            write_if_changed(column.folder / layout.item_page(item.key), page)
        self._drop_legacy(item.key)
        ref = {
            "url": url,
            "path": f"{agency.path}/{layout.item_page(item.key)}",
            "revision": item.revision,
            "published_at": published_at.isoformat(),
        }
        return column, ref, (row.pk, old, _entry(row.pk, item, row.created_at))

    def _notice(
        self, item: Published, previous: Ref | None, reason: str, now: datetime, row: Any
    ) -> tuple[Column, Ref, Change] | None:
        """A retraction: the page becomes a notice, the item leaves its listings (None
        when it was never here)."""
        agency = self.agency(item.agency.code)
        column = self.column(agency)
        page = column.folder / layout.item_page(item.key)
        if previous is None and not page.exists():
            return None
        when = row.retracted_at or now
        url = item_url(self.settings, item, agencies=self.env.agencies)
        notice = column.render.withdrawn(item.title, item.index_no, url, when, reason)
        write_if_changed(page, notice)
        marker = json.dumps({"withdrawn_at": when.isoformat(), "reason": reason}, ensure_ascii=False)
        write_if_changed(column.folder / layout.withdrawn_marker(item.key), marker.encode())
        shutil.rmtree(column.folder / "items" / item.key, ignore_errors=True)
        self._drop_legacy(item.key)
        engine = self.env.engine
        old = catalogue.last_delivered(engine, self.name, row.pk) or catalogue.latest_stored(engine, row.pk)
        ref = {
            "url": url,
            "path": f"{agency.path}/{layout.item_page(item.key)}",
            "withdrawn_at": when.isoformat(),
        }
        return column, ref, (row.pk, old, None)

    def withdrawn(self, relative: str) -> bool:
        """Whether ``{column}/items/{key}.html`` is a retracted item's notice."""
        match = re.fullmatch(r"([a-z0-9][a-z0-9-]*)/items/([0-9A-Za-z-]+)\.html", relative)
        return match is not None and (self.folder / match[1] / layout.withdrawn_marker(match[2])).exists()

    def search(self, text: str, agency: str | None) -> bytes:
        """The page of ``/site/search``: the cross-agency search (:meth:`Portal.search`)."""
        return self.portal.search(text, agency)

    def moved(self, relative: str) -> str | None:
        """Where a path that is not (or no longer) in the folder lives now: a column's
        former path → its path; an item page or attachment of the single column of before
        platform mode → its agency's column (the agency is the 索引号's prefix); that
        column's listings → the one column, or the portal when there are several."""
        head, _, rest = relative.partition("/")
        found = self.env.agencies.by_path(head) if head and head not in RESERVED else None
        if found is not None and found[1]:
            return f"{found[0].path}/{rest}"
        item = ITEM.fullmatch(relative)
        if item is not None:
            agency = self.env.agencies.get(item[1].split("-", 1)[0])
            return f"{agency.path}/{relative}" if agency is not None else None
        if head in LEGACY_LISTINGS or re.fullmatch(r"page-\d+\.html", relative):
            columns = self.env.agencies.all()
            return f"{columns[0].path}/{relative}" if len(columns) == 1 else ""
        return None

    def empty_listing(self, relative: str) -> str | None:
        """A sub-category page that is not there: its category's page. A sub-category
        without items has no page (no 空白栏目), so a link kept from when it had some
        lands on the category (a temporary redirect: the page comes back with an item)."""
        match = SUBCATEGORY.fullmatch(relative)
        if match is None:
            return None
        category = f"{match[1]}/index.html"
        return category if (self.folder / category).is_file() else None

    def health(self) -> Health:
        probe = self.folder / ".health"
        try:
            write_if_changed(probe, b"ok")
        except OSError as exc:
            return Health(False, f"cannot write {self.folder}: {exc}")
        return Health(True, f"static site in {self.folder}")

    # -- 政策解读: a policy's page and its interpretations' link each other ------------
    def _item_page(
        self,
        column: Column,
        item: Published,
        url: str,
        published_at: datetime,
        files: list[pages.FileLink],
        item_pk: int,
        created_at: datetime,
    ) -> bytes:
        """The item's page: its links to the policies it interprets and from the items
        interpreting it, and its 更新日期 when this is not its first revision (the caller
        holds the column's lock)."""
        interprets = [(p.title, self._page_url(p.index_no)) for p in item.interprets]
        updated = item.accepted_at if item.accepted_at > created_at else None
        return column.render.item(
            item, url, published_at, files, interprets, self._interpretations(item_pk), updated
        )

    def _page_url(self, index_no: str) -> str:
        return page_url(self.settings, index_no, agencies=self.env.agencies)

    def _interpretations(self, policy_pk: int) -> list[tuple[str, str]]:
        found = interpretations.interpretations_of(self.env.engine, policy_pk, self.name)
        return [(i.title, self._page_url(i.index_no)) for i in found]

    def _relink_policies(self, item_pk: int) -> None:
        """The pages of the policies the item interprets (or did, in any revision) list
        their interpretations as they are now: the cheapest correct moment is the
        interpretation's own publication or retraction. Each page is rewritten under its
        column's lock, as its own publication writes it, so neither loses the other's list."""
        for policy_pk, index_no in interpretations.policies_of(self.env.engine, item_pk):
            key = index_no.replace("/", "-")
            column = self.column(self.agency(index_no.partition("/")[0]))
            path = column.folder / layout.item_page(key)
            with column.lock():
                if not path.exists() or (column.folder / layout.withdrawn_marker(key)).exists():
                    continue  # not on the site (yet, or any more): its publication lists them
                page = column.render.with_interpretations(path.read_bytes(), self._interpretations(policy_pk))
                write_if_changed(path, page)

    # -- the item itself -------------------------------------------------------------
    def _write_attachments(self, item: Published, ctx: DeliveryContext, folder: Path) -> list[pages.FileLink]:
        """Copy each attachment next to the page under a safe name; drop stale ones."""
        links = _file_links(item)
        for att, link in zip(item.attachments, links, strict=True):
            try:
                data = ctx.blob(att.sha256)
            except LookupError as exc:
                missing = f"attachment {att.name!r} ({att.sha256}) is missing from the store"
                raise PermanentError(missing) from exc
            write_if_changed(folder / link.path, data)
        own = folder / "items" / item.key
        keep = {link.download for link in links}
        if own.is_dir():
            for stale in own.iterdir():
                if stale.name not in keep and not stale.name.startswith("."):
                    remove(stale)
        return links

    def _drop_legacy(self, key: str) -> None:
        """The item's page of before platform mode (top-level ``items/``) goes once its
        column has it: the old address then redirects."""
        remove(self.folder / layout.item_page(key))
        remove(self.folder / layout.withdrawn_marker(key))
        shutil.rmtree(self.folder / "items" / key, ignore_errors=True)

    # -- rebuilding --------------------------------------------------------------------
    def rebuild(
        self,
        agency: str | None = None,
        portal_only: bool = False,
        progress: Callable[[str], None] = print,
        item_pages: bool = False,
    ) -> None:
        """Listings, search indexes and sitemaps from the database (item pages stay as
        they are, unless ``item_pages``: then they are rendered again too, e.g. after
        the footer changed): every column and the portal, one agency's column (then
        the portal's manifests), or the portal alone. A full rebuild first moves the
        pages of before platform mode into their columns."""
        if agency is not None:
            chosen = [self.env.agencies.require(agency)]
        elif portal_only:
            chosen = []
        else:
            self._adopt_legacy(progress)
            chosen = self.env.agencies.all()
            known = {a.code for a in chosen}
            chosen += [
                self.agency(code) for code in catalogue.agency_codes(self.env.engine) if code not in known
            ]
        for n, each in enumerate(chosen, start=1):
            column = self.column(each)
            column.rebuild()
            done = f", {self.render_pages(each, column)} item pages" if item_pages else ""
            progress(f"[{n}/{len(chosen)}] {each.code} {each.name}: /{each.path}/ rebuilt{done}")
        self.portal.rebuild(progress)

    def render_pages(self, agency: Agency, column: Column) -> int:
        """Every page the column shows, rendered again from the revision on the site and
        its delivery's reference (the attachments are in place already). An item some
        worker is sending now is left to that worker."""
        busy = {index_no for _, index_no in catalogue.being_sent(self.env.engine, self.name, agency.code)}
        count = 0
        for item_pk, document, ref, created_at in catalogue.shown_pages(
            self.env.engine, self.name, agency.code
        ):
            item = Published.model_validate(document)
            if item.index_no in busy:
                continue
            first = (ref or {}).get("published_at")
            published_at = datetime.fromisoformat(first) if first else item.accepted_at
            url = item_url(self.settings, item, agencies=self.env.agencies)
            with column.lock():
                page = self._item_page(
                    column, item, url, published_at, _file_links(item), item_pk, created_at
                )
                count += write_if_changed(column.folder / layout.item_page(item.key), page)
        return count

    def _adopt_legacy(self, progress: Callable[[str], None]) -> None:
        """The single column of before platform mode: item pages, attachments and
        withdrawal markers move into their agency's column; its listings go (their
        addresses redirect, :meth:`moved`)."""
        moved = 0
        for kind, pattern in (("items", "*"), ("withdrawn", "*")):
            for path in sorted((self.folder / kind).glob(pattern)):
                key = path.name.removesuffix(".html")
                target_agency = self.env.agencies.get(key.split("-", 1)[0])
                if target_agency is None or path.name.startswith("."):
                    continue
                target = self.folder / target_agency.path / kind / path.name
                target.parent.mkdir(parents=True, exist_ok=True)
                if target.exists():
                    shutil.rmtree(path) if path.is_dir() else path.unlink()
                else:
                    path.rename(target)
                moved += 1
        for name in LEGACY_LISTINGS:
            if name != "search":
                shutil.rmtree(self.folder / name, ignore_errors=True)
        for stale in [*self.folder.glob("page-*.html"), self.folder / "search.html"]:
            remove(stale)
        shutil.rmtree(self.folder / "search", ignore_errors=True)  # the portal's search is /site/search
        for kind in ("items", "withdrawn"):
            if (self.folder / kind).is_dir() and not any((self.folder / kind).iterdir()):
                (self.folder / kind).rmdir()
        if moved:
            progress(f"moved {moved} pages of the single column of before into their agencies' columns")


def _file_links(item: Published) -> list[pages.FileLink]:
    """The item's attachments as its page links them (safe names, next to the page)."""
    links = []
    for position, att in enumerate(item.attachments, start=1):
        file_name = attachment_name(position, att.name)
        path = layout.attachment_path(item.key, file_name)
        links.append(pages.FileLink(att.name, path, file_name, att.media_type, pages.human_size(att.size)))
    return links


def _entry(item_pk: int, item: Published, created_at: datetime) -> Entry:
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
        agency_code=item.agency.code,
        validity=item.validity,
        created_at=created_at,
    )
