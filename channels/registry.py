"""Channel kinds by name, from the ``govpub.channels`` entry points.

A new channel is one module plus one entry point line in its distribution's
pyproject (``[project.entry-points."govpub.channels"] weibo = "mypkg.weibo:Weibo"``).
Classes are imported only when a configured channel needs them.
"""

from __future__ import annotations

from functools import cache
from importlib import import_module
from importlib.metadata import entry_points

from channels.base import Channel
from pipeline.errors import ConfigError

# The channels shipped with govpub, so a source checkout works before installation.
BUILTIN = {
    "memory": "channels.memory:MemoryChannel",
    "wechat": "channels.wechat.channel:WeChatChannel",
    "archive": "channels.archive.channel:ArchiveChannel",
    "website": "channels.website:WebsiteChannel",
    "feed": "channels.feed.channel:FeedChannel",
}


@cache
def _targets() -> dict[str, str]:
    found = dict(BUILTIN)
    for ep in entry_points(group="govpub.channels"):
        found[ep.name] = ep.value
    return found


def known_kinds() -> set[str]:
    return set(_targets())


def channel_class(kind: str) -> type[Channel]:
    target = _targets().get(kind)
    if target is None:
        raise ConfigError("channel kind", kind, f"one of {sorted(_targets())}")
    module_name, _, attr = target.partition(":")
    cls = getattr(import_module(module_name), attr)
    if not (isinstance(cls, type) and issubclass(cls, Channel)):
        raise ConfigError("channel kind", kind, f"{target} is not a Channel subclass")
    return cls
