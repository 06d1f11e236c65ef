"""What a channel is.

A channel publishes an item revision somewhere (the website, WeChat, a feed, an
archive) and answers with a reference to what it made. The pipeline wraps every
channel the same way (claims, retries, rate limits, the delivery log, metrics), so
a channel module only fills in this form:

- ``kind``: its registry name; ``batched``: whether it sends items in groups
  (a daily WeChat broadcast, a monthly archive package) rather than one by one;
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
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ClassVar

from pipeline.model import Published

Ref = dict[str, Any]


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
    # Archives keep records: a retraction does not cancel a publication still waiting
    # for this channel; the item and its retraction both reach it.
    keeps_records: ClassVar[bool] = False

    def __init__(self, name: str, options: dict[str, Any], services: Any) -> None:
        self.name = name
        self.options = options
        self.services = services

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
        """Batched channels: every due delivery of the channel at once. Answers per
        delivery id: a Ref, None (nothing to do), or an error from pipeline.errors;
        ``NotDue(retry_at=…)`` for those that wait for the next window."""
        raise NotImplementedError
