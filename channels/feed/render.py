"""One feed as RSS 2.0 and Atom 1.0 bytes, with feedgen.

The output depends only on what it is given (no clock): regenerating an unchanged
feed gives the same bytes, so its file, ETag and Last-Modified stay as they were.
Titles, the feed's description and an item's summary are text, and RSS readers
render them as HTML: every one goes out HTML-escaped and then XML-escaped (Atom
``type="html"``), the same rule everywhere, so each reads exactly as written in
every reader. The body is the item's HTML through the one sanitising rule
(:mod:`pipeline.sanitize`; Atom ``type="html"``, RSS ``content:encoded``).
Characters XML cannot carry are dropped.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from feedgen.ext.base import BaseEntryExtension, BaseExtension
from feedgen.feed import FeedGenerator
from lxml import etree

from channels.feed.catalogue import Entry
from pipeline import __version__
from pipeline.sanitize import sanitize_html

ATOM = "http://www.w3.org/2005/Atom"
DC = "http://purl.org/dc/elements/1.1/"
NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
FORMATS = ("rss", "atom")


def xml_text(text: str) -> str:
    return NOT_XML.sub("", text)


def as_html(text: str) -> str:
    """Text as HTML that shows it as written (XML escaping comes on top of this)."""
    return html.escape(text, quote=False)


def _text_as_html(parent: etree._Element, *names: str, atom: bool = False) -> None:
    """Titles and descriptions that feedgen wrote as text, rewritten as escaped HTML."""
    for name in names:
        node = parent.find(name)
        if node is not None and node.text:
            node.text = as_html(node.text)
            if atom:
                node.set("type", "html")


@dataclass(frozen=True)
class Enclosure:
    url: str
    length: int
    media_type: str


@dataclass(frozen=True)
class Links:
    """Addresses the renderer needs, computed by the channel from the settings."""

    site: str  # the website (every feed's alternate link)
    feed: Callable[[str, str], str]  # (feed name, format) → the feed's own URL
    entry_id: Callable[[Entry], str]
    page: Callable[[Entry], str]
    enclosures: Callable[[Entry], list[Enclosure]]
    hub: str | None = None
    item_page: Callable[[str], str] | None = None  # 索引号 → its page (解读的政策 links)


@dataclass(frozen=True)
class FeedInfo:
    name: str
    title: str
    description: str
    author: str
    updated: datetime


def render(
    info: FeedInfo, entries: list[Entry], links: Links, tz: ZoneInfo, full_text: bool
) -> dict[str, bytes]:
    """``{"rss": …, "atom": …}`` for ``entries`` (newest first)."""
    gen = FeedGenerator()
    gen.register_extension("govpub", _FeedExtras, _EntryExtras)
    gen.id(links.feed(info.name, "atom"))
    gen.title(xml_text(info.title))
    gen.description(xml_text(info.description))
    gen.author(name=xml_text(info.author))
    gen.language("zh-CN")
    gen.generator("govpub", version=__version__)
    gen.updated(_local(info.updated, tz))
    gen.govpub.hub = links.hub
    for entry in entries:
        _add(gen, entry, links, tz, full_text)
    out = {}
    for fmt in FORMATS:
        own = [{"href": links.feed(info.name, fmt), "rel": "self", "type": f"application/{fmt}+xml"}]
        if links.hub:
            own.append({"href": links.hub, "rel": "hub"})
        # feedgen takes the last link as RSS's <link>: the website
        gen.link([*own, {"href": links.site, "rel": "alternate"}], replace=True)
        out[fmt] = gen.rss_str(pretty=True) if fmt == "rss" else gen.atom_str(pretty=True)
    return out


def _add(gen: FeedGenerator, entry: Entry, links: Links, tz: ZoneInfo, full_text: bool) -> None:
    item = entry.item
    node = gen.add_entry(order="append")
    entry_id = links.entry_id(entry)
    node.id(entry_id)
    node.guid(entry_id, permalink=False)
    node.title(xml_text(item.title))
    node.link(href=links.page(entry), rel="alternate")
    node.published(_local(entry.published, tz))
    node.updated(_local(entry.updated, tz))
    node.author(name=xml_text(item.agency.name))
    interprets = _interprets(entry, links)
    if item.summary or interprets:  # text, carried as escaped HTML: readers render a description as HTML
        node.summary(as_html(xml_text(item.summary)) + interprets, type="html")
    if full_text and item.body_html:
        node.content(interprets + xml_text(sanitize_html(item.body_html)), type="html")
    terms = dict.fromkeys(t for t in (item.category, item.subcategory, item.genre, *item.keywords) if t)
    if terms:
        node.category([{"term": xml_text(term)} for term in terms])
    node.govpub.creator = xml_text(item.agency.name)
    node.govpub.enclosures = links.enclosures(entry)


def _interprets(entry: Entry, links: Links) -> str:
    """解读的政策: a line linking the policies an interpretation interprets ("" for others)."""
    named = [
        f'<a href="{html.escape(links.item_page(p.index_no))}">{as_html(xml_text(p.title))}</a>'
        if links.item_page
        else as_html(xml_text(p.title))
        for p in entry.item.interprets
    ]
    return f"<p>解读的政策：{'；'.join(named)}</p>" if named else ""


def _local(moment: datetime, tz: ZoneInfo) -> datetime:
    """China time, to the second: ``2017-04-10T09:10:00+08:00``."""
    return moment.astimezone(tz).replace(microsecond=0)


class _FeedExtras(BaseExtension):
    """Titles as escaped HTML; RSS has no hub link of its own: WebSub discovery uses
    ``atom:link rel="hub"``."""

    def __init__(self) -> None:
        self.hub: str | None = None

    def extend_ns(self) -> dict[str, str]:
        return {"dc": DC}

    def extend_atom(self, feed: etree._Element) -> etree._Element:
        _text_as_html(feed, "title", "subtitle", atom=True)
        return feed

    def extend_rss(self, feed: etree._Element) -> etree._Element:
        _text_as_html(feed[0], "title", "description")
        if self.hub:
            etree.SubElement(feed[0], f"{{{ATOM}}}link", href=self.hub, rel="hub")
        return feed


class _EntryExtras(BaseEntryExtension):
    """The agency as ``dc:creator`` in RSS (whose ``author`` must be an e-mail address),
    and enclosures: every attachment in Atom, the first in RSS (one per item there)."""

    def __init__(self) -> None:
        self.creator = ""
        self.enclosures: list[Enclosure] = []

    def extend_rss(self, item: etree._Element) -> etree._Element:
        _text_as_html(item, "title")
        if self.creator:
            etree.SubElement(item, f"{{{DC}}}creator").text = self.creator
        for enclosure in self.enclosures[:1]:
            etree.SubElement(
                item,
                "enclosure",
                url=enclosure.url,
                length=str(enclosure.length),
                type=enclosure.media_type,
            )
        return item

    def extend_atom(self, entry: etree._Element) -> etree._Element:
        _text_as_html(entry, "title", atom=True)
        for enclosure in self.enclosures:
            etree.SubElement(
                entry,
                "link",
                rel="enclosure",
                href=enclosure.url,
                length=str(enclosure.length),
                type=enclosure.media_type,
            )
        return entry
