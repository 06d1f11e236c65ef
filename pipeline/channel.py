"""What a channel is: the contract between the core and every channel package.

A channel publishes an item revision somewhere (the website, WeChat, a feed, an
archive) and answers with a reference to what it made. The pipeline wraps every
channel the same way (claims, retries, rate limits, the delivery log, metrics), so
a channel module only fills in this form:

- ``kind``: its registry name; ``batched``: whether it sends items in groups
  (a daily WeChat broadcast, a monthly archive package) rather than one by one;
  ``max_batch``: how many deliveries one ``publish_batch`` call may take (the feed
  regenerates once for 50 new items; 1: one call per item);
- ``publish`` / ``update`` / ``retract``: each returns a :data:`Ref` (the page URL,
  the WeChat ``publish_id`` and article URL, the archive package id and checksum);
- ``health``: whether it can work right now;
- ``check_options`` (a classmethod): whether its configuration can work at all, checked
  without building the channel when ``serve``, ``worker`` and ``beat`` start and at every
  ``/readyz``.

Every operation must be idempotent per delivery: a redelivered task calls it
again, and it must not publish twice. ``ctx.progress`` holds what an earlier
attempt checkpointed (``ctx.checkpoint(...)``) before a risky step.

Errors are :mod:`pipeline.errors`: ``TransientError`` to retry, ``PermanentError``
to stop with a message for the operator. Anything else counts as transient.

A channel is built as ``Channel(name, options, env)``: ``env`` (:class:`ChannelEnv`) is
all of the installation it may use (a read-only view of the settings, the database
engine, the clock, the blob store, a way to wake waiting deliveries), never the whole
:class:`~pipeline.services.Services`. What only some channels can do (serve files,
rebuild, report facts, count a quota) is a :class:`typing.Protocol` below, checked by
the core with ``isinstance``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Protocol, runtime_checkable

from sqlalchemy import Engine

from pipeline import registry
from pipeline.errors import ConfigError
from pipeline.model import Published

if TYPE_CHECKING:
    from pipeline.agencies import Registry
    from pipeline.outbound import OutboundSettings
    from pipeline.overlays import Resolved

Ref = dict[str, Any]


class ChannelSettings(Protocol):
    """The settings a channel may read (:class:`pipeline.config.Settings` is one)."""

    @property
    def data_dir(self) -> Path: ...
    @property
    def public_url(self) -> str: ...
    @property
    def site_name(self) -> str: ...
    @property
    def timezone(self) -> str: ...
    @property
    def taxonomy(self) -> dict[str, list[str]]: ...
    @property
    def outbound(self) -> OutboundSettings: ...
    @property
    def redis(self) -> str | None: ...


@dataclass(frozen=True)
class ChannelEnv:
    """What the installation lends a channel. Narrow on purpose: a channel that needs
    more than this is doing the core's work."""

    settings: ChannelSettings
    engine: Engine
    clock: Callable[[], datetime]
    load_blob: Callable[[str], bytes]
    # Make waiting deliveries of the channel due now (it learnt their result early, or an
    # operator asked); answers the ids that moved.
    wake: Callable[[list[int], datetime], list[int]]
    # The claimable deliveries of a channel at a time, oldest first (a batch's candidates).
    due: Callable[[str, datetime], list[int]]
    # The channels an instance waits for (its configured ``depends_on``).
    depends_on: Callable[[str], list[str]]
    # The agencies publishing through the installation (names, paths, the tree).
    agencies: Registry
    # The options an instance serves an agency with (its overlay, pipeline.overlays):
    # ``options_for(channel, agency_code)``; None when the instance does not serve it.
    options_for: Callable[[str, str], Resolved | None]


@dataclass
class Health:
    ok: bool
    detail: str = ""


@dataclass
class DeliveryContext:
    """One attempt of one delivery, as the channel sees it."""

    delivery_id: int
    attempt: int
    channel: str
    now: datetime
    progress: dict[str, Any] = field(default_factory=dict)
    checkpoint_to: Callable[[dict[str, Any]], None] | None = None
    load_blob: Callable[[str], bytes] | None = None

    def checkpoint(self, **values: Any) -> None:
        """Persist progress now, so a redelivered attempt knows what was done."""
        self.progress.update(values)
        if self.checkpoint_to is not None:
            self.checkpoint_to(dict(self.progress))

    def blob(self, sha256: str) -> bytes:
        if self.load_blob is None:
            raise LookupError("no blob store in this context")
        return self.load_blob(sha256)


@dataclass
class BatchEntry:
    """One delivery inside a batch: its item and its own context."""

    item: Published
    ctx: DeliveryContext
    action: str = "publish"
    previous: Ref | None = None
    reason: str = ""


class Channel:
    """Base class of every channel; subclasses override what they support."""

    kind: ClassVar[str] = ""
    batched: bool = False  # an instance may set it from its options (WeChat broadcast mode)
    # How many deliveries one call may take (publish_batch); 1: one call per item. A channel
    # that does better with several at once (one feed regeneration, one listing render)
    # sets it higher; the runner hands it up to this many of a claimed batch.
    max_batch: int = 1
    # Archives keep records: a retraction does not cancel a publication still waiting
    # for this channel; the item and its retraction both reach it.
    keeps_records: ClassVar[bool] = False

    def __init__(self, name: str, options: dict[str, Any], env: ChannelEnv) -> None:
        self.name = name
        self.options = options
        self.env = env

    @classmethod
    def check_options(cls, name: str, options: dict[str, Any]) -> None:
        """Raise :class:`~pipeline.errors.ConfigError` (the key, the value, what would be
        valid) when this channel cannot work with ``options``: unknown keys, bad values, a
        secret that is missing or written where only its environment variable belongs, a
        file that is not there. Looks at the options and what they name on this machine,
        never at the network (a remote service that is down is not a configuration error)."""

    def publish(self, item: Published, ctx: DeliveryContext) -> Ref:
        raise NotImplementedError

    def update(self, item: Published, previous: Ref, ctx: DeliveryContext) -> Ref:
        """A new revision of an item already live here; by default, publish again."""
        return self.publish(item, ctx)

    def retract(self, item: Published, previous: Ref | None, reason: str, ctx: DeliveryContext) -> Ref | None:
        """Withdraw the item; ``None`` when there was nothing to withdraw here."""
        raise NotImplementedError

    def health(self) -> Health:
        return Health(ok=True)

    def confirmed_ref(self, progress: dict[str, Any], url: str, ident: str) -> Ref:
        """The reference of an item an operator found on the channel (a delivery that was
        ``in_doubt``: see :mod:`pipeline.doubt`); channels add what they need later."""
        return {"url": url, **({"id": ident} if ident else {}), "confirmed_by": "operator"}

    def publish_batch(self, entries: list[BatchEntry]) -> dict[int, Ref | Exception | None]:
        """Several deliveries in one call: every due delivery of a ``batched`` channel, or
        up to ``max_batch`` of a claimed batch. Answers per delivery id
        (``entry.ctx.delivery_id``): a Ref, None (nothing to do), or an error from
        pipeline.errors; ``NotDue(retry_at=…)`` for those that wait for the next window.
        By default, one publish/update/retract per entry, each answering for itself."""
        answers: dict[int, Ref | Exception | None] = {}
        for entry in entries:
            try:
                answers[entry.ctx.delivery_id] = self.call_entry(entry)
            except Exception as exc:  # this entry's answer; the others go on
                answers[entry.ctx.delivery_id] = exc
        return answers

    def call_entry(self, entry: BatchEntry) -> Ref | None:
        """The one operation ``entry`` asks for."""
        if entry.action == "retract":
            return self.retract(entry.item, entry.previous, entry.reason, entry.ctx)
        if entry.previous is not None:
            return self.update(entry.item, entry.previous, entry.ctx)
        return self.publish(entry.item, entry.ctx)


# -- what only some channels can do -------------------------------------------------


@runtime_checkable
class ServesFiles(Protocol):
    """A channel that renders a folder ``govpub serve`` (or any web server) may serve;
    ``files_dir`` is None when this instance renders none (e.g. a CMS push)."""

    @property
    def files_dir(self) -> Path | None: ...

    def withdrawn(self, relative: str) -> bool:
        """Whether a served path is a retracted item's page (answered 410 Gone)."""
        ...


@runtime_checkable
class Rebuilds(Protocol):
    """A channel whose derived files (listings, indexes, feeds) can be made again from
    the database, e.g. after a restore."""

    def rebuild(self) -> object:
        """Make them again; what it answers (e.g. the files made) is the channel's own."""
        ...


@runtime_checkable
class HasOverviewFacts(Protocol):
    """A channel that adds a few lines about itself to the operations overview."""

    def overview_facts(self) -> dict[str, str]: ...


@runtime_checkable
class HasQuota(Protocol):
    """A channel with a send quota per period (``limit``, ``used``, ``remaining``,
    ``period``, and when known ``mode``, ``broadcast_time``, ``account_type``)."""

    def quota(self) -> dict[str, object]: ...


def channel_class(kind: str) -> type[Channel]:
    """The Channel subclass the installed plug-in of ``kind`` declares (a ConfigError
    names the installed kinds, or a declaration that is no Channel)."""
    cls = registry.plugin(kind).channel()
    if not (isinstance(cls, type) and issubclass(cls, Channel)):
        raise ConfigError("channel kind", kind, f"{cls!r} is not a Channel subclass")
    return cls
