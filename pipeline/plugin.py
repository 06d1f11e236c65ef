"""What a channel package declares once, so the core can mount it without naming it.

A channel kind is one package under ``channels/`` (or any installed distribution)
that exports one :class:`ChannelPlugin` through the ``govpub.channels`` entry point::

    [project.entry-points."govpub.channels"]
    noticeboard = "mypkg.noticeboard.plugin:plugin"

The core lists the installed plug-ins (:mod:`pipeline.registry`) and from each takes
what it offers: the channel class that delivers, its label, its part in the annual
report, its tables and migrations, its web routes, console pages, CLI commands and
sandbox. Everything but ``kind``, ``label``, ``report_role`` and ``channel`` is
optional: a simple push channel is a module and a declaration.

Heavy parts (routers, CLI groups, sandbox servers) are given as zero-argument
factories, so listing the plug-ins imports nothing a process does not use; ``lazy``
makes one from the part's address::

    channel=lazy("mypkg.noticeboard.channel:NoticeboardChannel")
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass, field
from enum import StrEnum
from importlib import import_module
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    import click
    from fastapi import APIRouter
    from sqlalchemy import MetaData

    from pipeline.config import ChannelConfig


def lazy(target: str) -> Callable[[], Any]:
    """A zero-argument factory for ``"module:attribute"``: the module is imported when the
    factory is first called, not when the plug-in is declared (or listed)."""
    module, _, attribute = target.partition(":")
    if not module or not attribute:
        raise ValueError(f"{target!r}: expected 'module:attribute'")

    def load() -> Any:
        return getattr(import_module(module), attribute)

    load.__qualname__ = f"lazy({target!r})"
    return load


class ReportRole(StrEnum):
    """Where the annual report (政府信息公开工作年度报告) counts a channel's deliveries."""

    PORTAL = "portal"  # 政府网站: the agency's disclosure column
    OTHER = "other"  # 其他渠道: 政务新媒体, 张贴公告, 订阅 …
    DEPOSIT = "deposit"  # 向档案馆、图书馆报送

    @property
    def label(self) -> str:
        return _ROLE_LABELS[self]


_ROLE_LABELS = {
    ReportRole.PORTAL: "政府网站",
    ReportRole.OTHER: "其他渠道",
    ReportRole.DEPOSIT: "档案馆、图书馆",
}


@dataclass(frozen=True)
class ConsolePage:
    """A console page a channel adds: its router (mounted under ``/console``), the link
    text shown on a channel's overview card, and the path it links to, with ``{name}``
    standing for the channel instance. ``heading`` names the line of the card the link
    sits on; ``shown_for(channel)`` says whether an instance has the page (None: all);
    ``templates`` is the folder of the page's Jinja templates (they may extend the
    console's ``base.html``)."""

    router: Callable[[], APIRouter]
    link_text: str = ""
    path: str = ""
    heading: str = ""
    shown_for: Callable[[Any], bool] | None = None
    templates: Path | None = None


@dataclass(frozen=True)
class DemoSetup:
    """What ``govpub demo`` tells each plug-in taking part: the demo's data folder (for
    files its instances need), where the demo instance answers (for a sandbox that calls
    back), the kinds taking part, a stack that stops whatever the plug-in starts
    (its sandbox, in a thread) when the demo ends, and the demo's agencies (code, name,
    column path), the first heading the platform."""

    folder: Path
    public_url: str
    kinds: frozenset[str]
    stop: ExitStack
    agencies: tuple[tuple[str, str, str], ...] = ()


@dataclass(frozen=True)
class DemoPart:
    """A plug-in's part of the demo: its channel instances (written to the demo's
    configuration file as they are), lines for the demo's "where to look", and per-agency
    overlays of its instances (agency code -> instance name -> options: an account of
    the agency's own)."""

    channels: dict[str, ChannelConfig]
    where: tuple[str, ...] = ()
    overlays: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)


@dataclass(frozen=True)
class Alternate:
    """Another form of the published items a page may announce with
    ``<link rel="alternate">`` (a feed), at ``path`` under the public address."""

    title: str
    media_type: str
    path: str


@dataclass(frozen=True)
class ItemField:
    """A top-level field of the submitted item that one kind reads (a title of its own,
    a text for its audience). Optional in every item; the intake validates it with
    ``annotation`` (a pydantic type, e.g. ``ShortText``) as if it were a core field, and
    channels read it from ``Published.fields``.

    ``hashed_when_empty``: a field that was a core field once, whose absence the stored
    revisions' ``body_hash`` counted as ``null``; new fields leave it False, so installing
    a kind changes no stored hash."""

    annotation: Any
    description: str
    hashed_when_empty: bool = False


@dataclass(frozen=True)
class ChannelPlugin:
    """One channel kind, as its package declares it."""

    kind: str  # the name in the configuration (``kind = "…"``) and in each delivery row
    label: str  # how operators and the report call it, in Chinese
    report_role: ReportRole
    channel: Callable[[], type[Any]]  # the Channel subclass, imported when first used
    # Tables the channel keeps (its own MetaData) and the folder of its Alembic
    # migrations (a separate version location with its own branch label = ``kind``).
    tables: Callable[[], MetaData] | None = None
    migrations: Path | None = None
    # Public web routes (the WeChat callback, ``/site/``, ``/feeds/``), mounted at the root.
    routes: Callable[[], APIRouter] | None = None
    console_pages: tuple[ConsolePage, ...] = ()
    # ``govpub <name> …``: a click group or command, under its own name (``archive``,
    # ``site``, ``feeds``); the core's commands win a clash.
    cli: Callable[[], click.Command] | None = None
    # ``govpub sandbox <name>``: the loopback stand-in for the service the channel talks
    # to, as a click command under its own name (``wechat``, ``cms``, ``websub``).
    sandbox: Callable[[], click.Command] | None = None
    # ``govpub demo``: the instances the demo runs this kind with, pointed at the sandbox
    # the plug-in starts for it; None when the kind has no part in the demo.
    demo: Callable[[DemoSetup], DemoPart] | None = None
    # Public paths to show on the home page (text → path), e.g. the column and the feeds.
    public_links: dict[str, str] = field(default_factory=dict)
    # Where this kind publishes each item's page, under the public address (``/…``): the
    # page every other channel links to (阅读原文, feed entries, archive records).
    pages_path: str | None = None
    # Feeds (or other forms) of the items that pages may announce.
    alternates: tuple[Alternate, ...] = ()
    # Path prefixes under which the kind's routes answer published files as they are
    # (never rewritten by the path redaction of answers).
    served_paths: tuple[str, ...] = ()
    # Options of the instance this kind runs with when the configuration names no channel
    # at all (the embedded default); None: no such instance.
    default_options: dict[str, Any] | None = None
    # Top-level item fields this kind reads, by name (``wechat_title``); no two installed
    # kinds may declare one name, nor a core field's.
    item_fields: dict[str, ItemField] = field(default_factory=dict)
    # What an agency with no option overlay for an instance of this kind gets
    # (pipeline.overlays): the instance's own options ("platform"), or no delivery
    # ("none": e.g. an agency without a receiver of its own), or the instance's own options
    # for the head of the tree only ("head": an agency without a parent, or one not
    # registered, e.g. the district's WeChat account serves the district government and no
    # department that has no account of its own).
    agency_default: Literal["platform", "none", "head"] = "platform"
    # Whether each account of this kind is a 政务新媒体 account (WeChat, Weibo): inspected
    # for a new publication every two weeks (pipeline.freshness watches it).
    new_media: bool = False
