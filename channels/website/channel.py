"""The ``website`` channel: the government website, the primary disclosure channel.

One channel kind, two adapters chosen by ``options.adapter``: ``static`` renders
the 政府信息公开 column into a folder (:mod:`channels.website.static`), ``http``
pushes each item to the agency's CMS (:mod:`channels.website.cms`). The static adapter
takes batches (``max_batch``): each listing page is rendered once for all their items.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from channels.kit.batches import each_run
from channels.website import sections
from channels.website.cms import CmsPush
from channels.website.options import StaticOptions, check_options, parse_options
from channels.website.static import StaticSite
from pipeline.channel import BatchEntry, Channel, ChannelEnv, DeliveryContext, Health, Ref
from pipeline.model import Published


class WebsiteChannel(Channel):
    kind = "website"

    @classmethod
    def check_options(cls, name: str, options: dict[str, Any]) -> None:
        check_options(name, options)

    def __init__(self, name: str, options: dict[str, Any], env: ChannelEnv) -> None:
        super().__init__(name, options, env)
        parsed = parse_options(name, options)
        self.adapter: StaticSite | CmsPush
        if isinstance(parsed, StaticOptions):
            self.adapter = StaticSite(name, parsed, env)
            self.max_batch = parsed.max_batch  # each listing page rendered once for all of them
        else:
            self.adapter = CmsPush(name, parsed, env)

    @property
    def files_dir(self) -> Path | None:
        """The folder ``govpub serve`` serves under ``/site/`` (None for a CMS push)."""
        return self.adapter.folder if isinstance(self.adapter, StaticSite) else None

    def withdrawn(self, relative: str) -> bool:
        """Whether a path of the site is a retracted item's page (served as 410)."""
        if not isinstance(self.adapter, StaticSite):
            return False
        return self.adapter.withdrawn(relative)

    def moved(self, relative: str) -> str | None:
        """Where a path of the site lives now (a column's former path, a page of before
        platform mode), for a 301; None when it is simply not there."""
        if not isinstance(self.adapter, StaticSite):
            return None
        return self.adapter.moved(relative)

    def empty_listing(self, relative: str) -> str | None:
        """Where a sub-category page that has no items (so no page) sends its visitors:
        its category's page (static adapter), for a temporary redirect."""
        if not isinstance(self.adapter, StaticSite):
            return None
        return self.adapter.empty_listing(relative)

    def search(self, text: str, agency: str | None) -> bytes | None:
        """The cross-agency search's page (``/site/search``); None without a static site."""
        if not isinstance(self.adapter, StaticSite):
            return None
        return self.adapter.search(text, agency)

    def rebuild(
        self,
        agency: str | None = None,
        portal_only: bool = False,
        progress: Callable[[str], None] = print,
        item_pages: bool = False,
    ) -> None:
        """``govpub site rebuild``: listings from the database (static adapter): every
        column and the portal, one agency's column, or the portal alone; with
        ``item_pages`` the columns' item pages too."""
        if isinstance(self.adapter, StaticSite):
            self.adapter.rebuild(agency, portal_only, progress, item_pages)

    def review(self) -> list[sections.Review]:
        """``govpub site check``: what each column still lacks (static adapter; a CMS
        renders its own pages)."""
        return self.adapter.review() if isinstance(self.adapter, StaticSite) else []

    def publish(self, item: Published, ctx: DeliveryContext) -> Ref:
        return self.adapter.publish(item, ctx)

    def update(self, item: Published, previous: Ref, ctx: DeliveryContext) -> Ref:
        return self.adapter.publish(item, ctx, previous)

    def retract(self, item: Published, previous: Ref | None, reason: str, ctx: DeliveryContext) -> Ref | None:
        return self.adapter.retract(item, previous, reason, ctx)

    def publish_batch(self, entries: list[BatchEntry]) -> dict[int, Ref | Exception | None]:
        """Static adapter: items' pages each, every listing, search index and sitemap
        they change once per column (:meth:`StaticSite.deliver`). A CMS push is per item."""
        if isinstance(self.adapter, StaticSite):
            return each_run(entries, self.adapter.deliver)
        return super().publish_batch(entries)

    def health(self) -> Health:
        return self.adapter.health()
