"""Regenerate feeds: read the newest entries, render both formats, replace the files.

Every regeneration of a channel's feeds runs under one lock of its folder, so the
query and the write of one worker never interleave with another's (see
:mod:`channels.feed.catalogue` for why that keeps every item in). Files are
replaced atomically and only when their bytes change.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from channels.feed.catalogue import Catalogue, Entry
from channels.feed.render import FeedInfo, Links, render
from channels.feed.scopes import Scope
from channels.kit.files import folder_lock, write_if_changed

NEVER = datetime(1970, 1, 1, tzinfo=UTC)  # the updated time of a feed nothing was ever in


def in_scope(entry: Entry, scope: Scope) -> bool:
    if scope.kind == "category":
        return entry.item.category == scope.value
    if scope.kind == "agency":
        return entry.item.agency.code == scope.value
    return True


@dataclass
class FeedBuilder:
    catalogue: Catalogue
    folder: Path
    length: int
    title: str
    tz: ZoneInfo
    full_text: bool
    lock_timeout: float

    def path(self, scope: Scope, fmt: str) -> Path:
        return self.folder / f"{scope.name}.{fmt}"

    def regenerate(self, scopes: list[Scope], links: Links, current: list[Entry] | None = None) -> None:
        """Rewrite the feeds of ``scopes``, each once; ``current`` are the entries being
        delivered now (one, or a batch's: their deliveries are not marked delivered yet,
        so they are merged in by hand)."""
        with folder_lock(self.folder, self.lock_timeout):
            for scope in scopes:
                entries, updated = self.entries(scope, current or [])
                info = self.info(scope, entries, updated)
                for fmt, data in render(info, entries, links, self.tz, self.full_text).items():
                    write_if_changed(self.path(scope, fmt), data)

    def entries(self, scope: Scope, current: list[Entry]) -> tuple[list[Entry], datetime]:
        """The feed's entries, and its newest change: the newest revision shown, or a
        later retraction that took an entry out (of an item newer than the oldest one
        shown; any, when the feed is not full)."""
        window = self.catalogue.newest(scope, self.length, exclude={e.key[1] for e in current})
        entries = window.entries
        mine = [e for e in current if in_scope(e, scope)]
        if mine:
            entries = sorted([*entries, *mine], key=lambda e: e.key, reverse=True)[: self.length]
        oldest = entries[-1].key if len(entries) >= self.length else None
        changes = [e.updated for e in entries]
        changes += [when for key, when in window.retractions if oldest is None or key > oldest]
        return entries, max(changes, default=NEVER)

    def info(self, scope: Scope, entries: list[Entry], updated: datetime) -> FeedInfo:
        label = {"all": "", "category": scope.value}.get(scope.kind)
        if label is None:  # an agency: as the registry names it, else as its newest item does
            label = scope.label or (entries[0].item.agency.name if entries else scope.value)
        title = f"{self.title} · {label}" if label else self.title
        return FeedInfo(
            name=scope.name,
            title=title,
            description=f"{title}：最新主动公开的政府信息",
            author=label if scope.kind == "agency" else self.title,
            updated=updated,
        )
