"""Where the feed channel's files are: ``/feeds/{name}.{rss|atom}`` under the public
address (served by :mod:`.routes`)."""

from __future__ import annotations

from urllib.parse import quote

from pipeline.channel import ChannelSettings
from pipeline.urls import public

PATH = "/feeds"


def feed_url(settings: ChannelSettings, name: str, fmt: str) -> str:
    return public(settings, f"{PATH}/{quote(name)}.{fmt}")
