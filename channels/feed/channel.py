"""The ``feed`` channel: RSS 2.0 and Atom 1.0 of the newest items, in all, per 主题分类
and (when the installation serves several agencies) per 发布机构.

Per-agency feeds follow the agency registry (platform mode): every registered agency has
one (a new agency's appears with it, empty until its first item; a retired agency keeps
its own), at ``/feeds/agency-{column path}.rss``; ``auto`` turns them on once two
agencies are registered (or items of two exist).

Configuration (``[channels.feed]``, see docs/channels/feed.md): ``kind = "feed"``,
options checked by :class:`~channels.feed.options.FeedOptions`.

A publication regenerates every feed the item is in (and, for a new revision, the
feeds its previous revision was in, should its category have changed); a retraction
regenerates them without it. Feeds are read from the database, not patched, so a
redelivered task writes the same bytes again: idempotent by construction. Each entry
is keyed by a ``tag:`` URI of the item's 索引号, the same across revisions.

A batch (``max_batch``, :meth:`FeedChannel.publish_batch`) regenerates each feed any of
its deliveries touches once, with all of them in; a single delivery is a batch of one,
so both paths write the same files.
"""

from __future__ import annotations

from datetime import datetime
from functools import cached_property
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import httpx

from channels.feed import scopes
from channels.feed.builder import FeedBuilder
from channels.feed.catalogue import Catalogue, Entry, SortKey
from channels.feed.options import parse_options
from channels.feed.render import FORMATS, Enclosure, Links
from channels.feed.scopes import Scope
from channels.feed.served import Served, ServedFiles
from channels.feed.urls import feed_url
from channels.feed.websub import ping
from channels.kit.batches import Answers, answer_one, each_run
from channels.kit.files import write_if_changed
from pipeline import outbound
from pipeline.channel import BatchEntry, Channel, ChannelEnv, DeliveryContext, Health, Ref
from pipeline.errors import PermanentError
from pipeline.model import Published
from pipeline.urls import attachment_url, item_url, page_url, pages_root


class FeedChannel(Channel):
    kind = "feed"

    @classmethod
    def check_options(cls, name: str, options: dict[str, Any]) -> None:
        parse_options(name, options)

    def __init__(self, name: str, options: dict[str, Any], env: ChannelEnv) -> None:
        super().__init__(name, options, env)
        self.opts = parse_options(name, options)
        self.max_batch = self.opts.max_batch  # deliveries regenerated together
        self.settings = env.settings
        self.folder = self.opts.folder(self.settings.data_dir)
        self.catalogue = Catalogue(env.engine, name)
        self.builder = FeedBuilder(
            catalogue=self.catalogue,
            folder=self.folder,
            length=self.opts.entries,
            title=self.opts.title or self.settings.site_name,
            tz=ZoneInfo(self.settings.timezone),
            full_text=self.opts.full_text,
            lock_timeout=self.opts.lock_timeout_seconds,
        )
        self.files = ServedFiles()
        self.authority = self.opts.tag_authority or urlsplit(self.settings.public_url).hostname or "localhost"

    # -- the channel contract -----------------------------------------------------
    def publish(self, item: Published, ctx: DeliveryContext) -> Ref:
        return self._one(BatchEntry(item=item, ctx=ctx))

    def update(self, item: Published, previous: Ref, ctx: DeliveryContext) -> Ref:
        return self._one(BatchEntry(item=item, ctx=ctx, previous=previous))

    def retract(self, item: Published, previous: Ref | None, reason: str, ctx: DeliveryContext) -> Ref | None:
        entry = BatchEntry(item=item, ctx=ctx, action="retract", previous=previous, reason=reason)
        return answer_one(self._deliver, entry)

    def publish_batch(self, entries: list[BatchEntry]) -> Answers:
        """Several deliveries, one regeneration: every feed any of them touches is
        written once with all of them in, and the hub is pinged once. An entry that
        cannot be shown (an item the database does not hold) fails alone."""
        return each_run(entries, self._deliver)

    def health(self) -> Health:
        try:
            write_if_changed(self.folder / ".health", b"ok")
        except OSError as exc:
            return Health(False, f"cannot write {self.folder}: {exc}")
        return Health(True, f"feeds in {self.folder}")

    def _one(self, entry: BatchEntry) -> Ref:
        ref = answer_one(self._deliver, entry)
        assert ref is not None  # a publication always answers its entry
        return ref

    def _deliver(self, entries: list[BatchEntry]) -> Answers:
        """One run of a batch (no item twice): plan each entry, then regenerate the union
        of their feeds with every publication merged in."""
        per_agency = self.per_agency()
        keys = self.catalogue.item_keys([e.item.index_no for e in entries if e.action != "retract"])
        answers: Answers = {}
        planned: Answers = {}
        current: list[Entry] = []
        touched: list[Scope] = []
        for entry in entries:
            try:
                ref, feeds, shown = self._plan(entry, keys, per_agency)
            except Exception as exc:  # this entry alone (the runner classifies it)
                answers[entry.ctx.delivery_id] = exc
                continue
            planned[entry.ctx.delivery_id] = ref
            touched += feeds
            current += [shown] if shown else []
        touched = list(dict.fromkeys(touched))
        if touched:
            try:
                self.builder.regenerate(touched, self.links, current=current)
                self._announce(touched, max(e.ctx.now for e in entries))
            except Exception as exc:  # the files of all of them: all of them retry
                planned = dict.fromkeys(planned, exc)
        return {**planned, **answers}

    def _plan(
        self, entry: BatchEntry, keys: dict[str, tuple[SortKey, bool]], per_agency: bool
    ) -> tuple[Ref | None, list[Scope], Entry | None]:
        """The entry's answer, the feeds it touches, and the entry it shows (None when
        the item is retracted: the feeds are regenerated without it)."""
        item = entry.item
        shown_in = scopes.of_item(item.category, item.agency.code, per_agency, self.env.agencies)
        touched = self._with_previous(shown_in, entry.previous)
        if entry.action == "retract":
            if entry.previous is None:
                return None, [], None
            return {"entry_id": self.entry_id(item), "removed_from": [s.name for s in touched]}, touched, None
        found = keys.get(item.index_no)
        if found is None:
            raise PermanentError(f"item {item.index_no} is not in the database; submit it through the intake")
        key, retracted = found
        # retracted while this publication was under way: its retraction follows, show nothing
        shown = None if retracted else Entry(item=item, published=key[0], updated=item.accepted_at, key=key)
        ref = {
            "entry_id": self.entry_id(item),
            "url": item_url(self.settings, item, agencies=self.env.agencies),
            "feeds": [s.name for s in shown_in],
        }
        return ref, touched, shown

    # -- which feeds ----------------------------------------------------------------
    def per_agency(self) -> bool:
        mode = self.opts.agency_feeds
        if mode != "auto":
            return mode == "always"
        return len(self.env.agencies.all()) > 1 or self.catalogue.several_agencies()

    def _with_previous(self, found: list[Scope], previous: Ref | None) -> list[Scope]:
        """Also the feeds the previous revision was in (it may have had another category)."""
        names = (previous or {}).get("feeds") or []
        earlier = [scopes.parse(n, self.settings.taxonomy, self.env.agencies) for n in names]
        return list(dict.fromkeys([*found, *(s for s in earlier if s is not None)]))

    def all_scopes(self) -> list[Scope]:
        """Every feed there is: all, each category of the taxonomy, each registered agency
        (retired ones too) and each agency with items the registry does not know."""
        found = [scopes.ALL, *(Scope("category", c) for c in self.settings.taxonomy)]
        if self.per_agency():
            registered = [a.code for a in self.env.agencies.all()]
            unknown = [c for c in self.catalogue.agencies() if c not in set(registered)]
            found += [scopes.agency(code, self.env.agencies) for code in [*registered, *unknown]]
        return found

    def rebuild(self) -> list[str]:
        """Regenerate every feed (after changing options such as ``entries``)."""
        every = self.all_scopes()
        self.builder.regenerate(every, self.links)
        return [s.name for s in every]

    # -- addresses --------------------------------------------------------------------
    def entry_id(self, item: Published) -> str:
        """``tag:example.gov.cn,2017:113703030000000000/2017-00001``: never changes."""
        year = item.index_no.rsplit("/", 1)[-1][:4]
        return f"tag:{self.authority},{self.opts.tag_date or year}:{item.index_no}"

    @cached_property
    def links(self) -> Links:
        settings, agencies = self.settings, self.env.agencies

        def enclosures(entry: Entry) -> list[Enclosure]:
            item = entry.item
            return [
                Enclosure(attachment_url(settings, item, n, a.name, agencies=agencies), a.size, a.media_type)
                for n, a in enumerate(item.attachments, start=1)
            ]

        return Links(
            site=pages_root(settings) + "/",
            feed=lambda name, fmt: feed_url(settings, name, fmt),
            entry_id=lambda entry: self.entry_id(entry.item),
            page=lambda entry: item_url(settings, entry.item, agencies=agencies),
            enclosures=enclosures,
            hub=self.opts.websub_hub,
            item_page=lambda index_no: page_url(settings, index_no, agencies=agencies),
        )

    # -- WebSub -------------------------------------------------------------------------
    @cached_property
    def http(self) -> httpx.Client:
        """The configured hub, through the outbound policy (pipeline.outbound)."""
        policy = outbound.Policy.from_settings(self.settings.outbound)
        return outbound.endpoint_client(
            str(self.opts.websub_hub),
            policy,
            timeout=self.opts.timeout_seconds,
            headers={"user-agent": "govpub-feed"},
        )

    def _announce(self, touched: list[Scope], now: datetime) -> None:
        if self.opts.websub_hub:
            topics = [feed_url(self.settings, s.name, fmt) for s in touched for fmt in FORMATS]
            ping(self.http, self.opts.websub_hub, topics, now)

    def _has_feed(self, scope: Scope) -> bool:
        """A registered agency has its feed from the start; another, once it has items."""
        return bool(scope.path) or self.catalogue.agency_exists(scope.value)

    # -- serving ------------------------------------------------------------------------
    def served(self, name: str, fmt: str) -> Served | None:
        """A feed file for ``govpub serve``; a feed nobody has written yet (an empty
        category, a fresh installation) is generated on first request."""
        scope = scopes.parse(name, self.settings.taxonomy, self.env.agencies)
        if scope is None or fmt not in FORMATS:
            return None
        path = self.builder.path(scope, fmt)
        found = self.files.read(path)
        if found is not None:
            return found
        if scope.kind == "agency" and not (self.per_agency() and self._has_feed(scope)):
            return None
        self.builder.regenerate([scope], self.links)
        return self.files.read(path)
