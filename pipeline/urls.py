"""Public addresses of what govpub publishes, shared by every channel that links to them
(the WeChat 阅读原文 link, feed entries, archive records all point at the website page)."""

from __future__ import annotations

from pipeline.config import Settings
from pipeline.model import Published


def site_root(settings: Settings) -> str:
    return settings.public_url.rstrip("/") + "/site"


def item_path(item: Published) -> str:
    """Path of an item's page inside the site folder: stable across revisions."""
    return f"items/{item.key}.html"


def item_url(settings: Settings, item: Published) -> str:
    return f"{site_root(settings)}/{item_path(item)}"


def feed_url(settings: Settings, name: str, fmt: str) -> str:
    return f"{settings.public_url.rstrip('/')}/feeds/{name}.{fmt}"
