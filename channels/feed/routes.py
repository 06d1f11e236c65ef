"""``/feeds/{name}.rss`` and ``/feeds/{name}.atom``: the feed channel's files, served
by ``govpub serve`` with their content type, ETag and Last-Modified, and ``304 Not
Modified`` to conditional requests (RFC 9110: If-None-Match wins over
If-Modified-Since). The feed plug-in's routes, mounted by :func:`pipeline.app.create_app`;
any web server can serve the same folder just as well.
"""

from __future__ import annotations

from email.utils import format_datetime, parsedate_to_datetime
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import PlainTextResponse, Response

from channels.feed.channel import FeedChannel
from pipeline.services import Services

router = APIRouter(include_in_schema=False)

TYPES = {
    "rss": "application/rss+xml; charset=utf-8",
    "atom": "application/atom+xml; charset=utf-8",
}


def feed_channel(services: Services) -> FeedChannel | None:
    """The enabled feed channel (the one named feed first), or None."""
    found = (c for c in services.channels_of_kind(FeedChannel.kind) if isinstance(c, FeedChannel))
    return next(found, None)


def not_modified(request: Request, etag: str, modified: Any) -> bool:
    match = request.headers.get("if-none-match")
    if match is not None:
        tags = {t.strip().removeprefix("W/") for t in match.split(",")}
        return "*" in tags or etag in tags
    since = request.headers.get("if-modified-since")
    if since is None:
        return False
    try:
        return bool(modified <= parsedate_to_datetime(since))
    except (TypeError, ValueError):
        return False  # an unreadable date is ignored, as RFC 9110 asks


@router.api_route("/feeds/{file_name}", methods=["GET", "HEAD"])
def feed_file(request: Request, file_name: str) -> Response:
    name, _, fmt = file_name.rpartition(".")
    channel = feed_channel(request.app.state.services)
    served = channel.served(name, fmt) if channel is not None and fmt in TYPES else None
    if served is None:
        return PlainTextResponse("no such feed", status_code=404)
    headers = {
        "ETag": served.etag,
        "Last-Modified": format_datetime(served.modified, usegmt=True),
        "Cache-Control": "no-cache",
        "X-Content-Type-Options": "nosniff",
    }
    if not_modified(request, served.etag, served.modified):
        return Response(status_code=304, headers=headers)
    return Response(served.body, media_type=TYPES[fmt], headers=headers)
