"""The files of one item in a package: the page as published, its attachments.

The page is rendered here from the stored item with a small template (the catalogue
table, the sanitised body, links to the attachments beside it), so a package does
not depend on the website channel having run. Attachment names come from upstream
systems: they are made safe for every file system and for BagIt manifests.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from jinja2 import Environment, FileSystemLoader, select_autoescape

from pipeline.model import Published, StoredAttachment
from pipeline.sanitize import sanitize_html

TEMPLATES = Environment(
    loader=FileSystemLoader(Path(__file__).parent),
    autoescape=select_autoescape(["html"]),
    keep_trailing_newline=True,
)
UNSAFE = re.compile(r"[^\w.()（）\-]+")


@dataclass(frozen=True)
class PayloadFile:
    """A file of the item, by its path inside the item's folder."""

    path: str
    title: str
    role: str  # 主件, 附件 or 封面 (DA/T 48 文档主从声明)
    media_type: str
    sha256: str | None  # the stored blob, for attachments


def item_folder(item: Published) -> str:
    """``data/<索引号>/``: the 索引号 ``code/2017-00110`` is already a safe two-level path."""
    return item.index_no


def safe_name(name: str) -> str:
    """A file name without separators, control characters, ``%`` or leading dots."""
    cleaned = UNSAFE.sub("_", name.replace("\\", "/").rsplit("/", 1)[-1]).strip("._") or "file"
    stem, dot, ext = cleaned.rpartition(".")
    if dot and len(ext) <= 10:
        return f"{stem[:100]}.{ext}"
    return cleaned[:110]


def item_files(item: Published) -> list[PayloadFile]:
    """The page and the attachments, in a fixed order."""
    files = [PayloadFile("index.html", item.title, "主件", "text/html", None)]
    if item.cover_image is not None:
        files.append(
            _attachment(item.cover_image, f"attachments/cover-{safe_name(item.cover_image.name)}", "封面")
        )
    for n, att in enumerate(item.attachments, start=1):
        files.append(_attachment(att, f"attachments/{n:02d}-{safe_name(att.name)}", "附件"))
    return files


def _attachment(att: StoredAttachment, path: str, role: str) -> PayloadFile:
    return PayloadFile(path, att.name, role, att.media_type, att.sha256)


def render_page(item: Published, files: list[PayloadFile], site_name: str, url: str, tz: ZoneInfo) -> bytes:
    published = local_time(item.accepted_at, tz)
    html = TEMPLATES.get_template("page.html").render(
        item=item,
        body=sanitize_html(item.body_html),
        attachments=[f for f in files if f.role == "附件"],
        site_name=site_name,
        url=url,
        published=published,
    )
    return html.encode("utf-8")


def local_time(moment: datetime, tz: ZoneInfo) -> str:
    return moment.astimezone(tz).isoformat(timespec="seconds")
