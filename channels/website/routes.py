"""``/site/``: the static disclosure column, served by ``govpub serve`` (the website
plug-in's routes, mounted by :func:`pipeline.app.create_app`).

The folder is the one the configured website channel renders into (any web
server can serve it just as well). Only regular files inside it are answered:
no dot files (locks, temporary files), nothing outside the folder however the
path is spelt; a retracted item's page answers 410 Gone with its notice. A path that
is not there but moved (a column's former path, a page of the single column of before
platform mode) answers 301 with its new address; a sub-category page that is not there
because the sub-category has no items answers 302 to its category's page.
"""

from __future__ import annotations

import mimetypes
from pathlib import Path
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, PlainTextResponse, RedirectResponse, Response

from channels.website.channel import WebsiteChannel
from pipeline.services import Services

router = APIRouter(include_in_schema=False)
HEADERS = {"X-Content-Type-Options": "nosniff", "Cache-Control": "no-cache"}

TYPES = {
    ".html": "text/html; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".json": "application/json",
    ".xml": "application/xml",
    ".txt": "text/plain; charset=utf-8",
}


def site_channel(services: Services) -> WebsiteChannel | None:
    """The enabled website channel that renders a folder (the one named website first)."""
    folders = (
        c
        for c in services.channels_of_kind(WebsiteChannel.kind)
        if isinstance(c, WebsiteChannel) and c.files_dir is not None
    )
    return next(folders, None)


def resolve(folder: Path, path: str) -> tuple[Path, str] | None:
    """The file a URL path names inside ``folder``, or None when it may not be served."""
    relative = path.strip("/")
    if path == "" or path.endswith("/"):
        relative = f"{relative}/index.html".lstrip("/")
    parts = relative.split("/")
    if any(p in ("", ".", "..") or p.startswith(".") or "\\" in p or "\x00" in p for p in parts):
        return None
    root = folder.resolve()
    target = (root / relative).resolve()
    if not target.is_relative_to(root) or not target.is_file():
        return None
    return target, relative


@router.get("/site")
def site_root_redirect() -> RedirectResponse:
    return RedirectResponse("/site/", status_code=308)


@router.api_route("/site/{path:path}", methods=["GET", "HEAD"])
def site_file(request: Request, path: str, q: str = "", agency: str = "") -> Response:
    channel = site_channel(request.app.state.services)
    if channel is None:
        return PlainTextResponse("no static website channel is configured", status_code=404)
    if path == "search":  # the cross-agency search: the one page not in the folder
        page = channel.search(q.strip()[:100], agency.strip()[:32] or None)
        return Response(page, media_type=TYPES[".html"], headers=HEADERS)
    found = resolve(Path(str(channel.files_dir)), path)
    if found is None:
        moved_to = channel.moved(path.strip("/"))
        if moved_to is not None:
            return RedirectResponse("/site/" + quote(moved_to), status_code=301)
        instead = channel.empty_listing(path.strip("/"))
        if instead is not None:  # a sub-category with nothing in it now: its category
            return RedirectResponse("/site/" + quote(instead), status_code=302)
        return PlainTextResponse("not found", status_code=404)
    target, relative = found
    media_type = TYPES.get(target.suffix.lower()) or mimetypes.guess_type(target.name)[0]
    status = 410 if channel.withdrawn(relative) else 200
    return FileResponse(
        target,
        status_code=status,
        media_type=media_type or "application/octet-stream",
        headers=HEADERS,
    )
