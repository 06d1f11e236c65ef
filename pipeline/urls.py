"""Public addresses of what govpub publishes, shared by every channel that links to them
(the WeChat 阅读原文 link, feed entries, archive records all point at the item's page,
published under the path its plug-in declares: :func:`pipeline.registry.pages_path`, in
its agency's column: ``{pages}/{agency.path}/items/{key}.html``)."""

from __future__ import annotations

import hashlib
import re
import unicodedata
from typing import TYPE_CHECKING
from urllib.parse import quote

from pipeline import registry
from pipeline.channel import ChannelSettings
from pipeline.model import Published

if TYPE_CHECKING:
    from pipeline.agencies import Registry

# Extensions an attachment keeps on the site; anything else (html, svg, js …) could run
# as active content from the site's origin, so it is downloaded as ``.bin`` instead.
SAFE_EXTENSIONS = {
    "pdf", "ofd", "doc", "docx", "xls", "xlsx", "ppt", "pptx", "wps", "et", "dps", "odt", "ods",
    "odp", "rtf", "txt", "csv", "zip", "rar", "7z", "jpg", "jpeg", "png", "gif", "bmp", "tif",
    "tiff", "webp", "mp3", "mp4",
}  # fmt: skip
MAX_NAME = 80


def segment(name: str) -> str:
    """A path segment for a taxonomy entry (category page folders, category feed names):
    the name itself when it is plain letters and digits, else a hash, so that no name
    can climb out of its folder."""
    if re.fullmatch(r"[^\W_][\w-]{0,63}", name):
        return name
    return "x" + hashlib.sha256(name.encode()).hexdigest()[:12]


def public(settings: ChannelSettings, path: str) -> str:
    """``path`` (``/…``) under the address the public reaches govpub at."""
    return settings.public_url.rstrip("/") + path


def pages_root(settings: ChannelSettings) -> str:
    """Where item pages (and their attachments) are published."""
    return public(settings, registry.pages_path())


def column(agencies: Registry, code: str) -> str:
    """The folder of an agency's column under the pages path: its registered path (its
    code in lower case, the registry's default, for a code not registered yet)."""
    found = agencies.get(code)
    return found.path if found is not None else code.lower()


def item_path(item: Published, column: str) -> str:
    """Path of an item's page inside the site folder: in its agency's column, stable
    across revisions."""
    return f"{column}/items/{item.key}.html"


def item_url(settings: ChannelSettings, item: Published, *, agencies: Registry) -> str:
    return f"{pages_root(settings)}/{item_path(item, column(agencies, item.agency.code))}"


def page_url(settings: ChannelSettings, index_no: str, *, agencies: Registry) -> str:
    """The page of the item numbered ``index_no``, from the number alone (its agency is the
    索引号's prefix): what links to another item (a policy, its interpretations) use."""
    key = index_no.replace("/", "-")
    return f"{pages_root(settings)}/{column(agencies, index_no.partition('/')[0])}/items/{key}.html"


def attachment_name(position: int, name: str) -> str:
    """The file name of an item's attachment on the site: safe on disk and in a URL,
    still recognisable: ``01-方案.pdf``.

    Directory parts, control characters and anything but letters (CJK included),
    digits, ``.``, ``-`` and ``_`` are dropped or replaced; leading dots go; the
    position (1-based) keeps names unique within an item and never empty."""
    base = unicodedata.normalize("NFC", name).replace("\\", "/").rsplit("/", 1)[-1]
    stem, dot, ext = base.rpartition(".")
    if not dot:
        stem, ext = base, ""
    stem = re.sub(r"[^\w.-]+", "_", stem, flags=re.UNICODE).strip("._-")[:MAX_NAME] or "file"
    ext = ext.lower() if ext.lower() in SAFE_EXTENSIONS else "bin"
    return f"{position:02d}-{stem}.{ext}"


def attachment_path(item: Published, position: int, name: str, column: str) -> str:
    """Attachments live in a folder named like the item's page, beside it."""
    return f"{column}/items/{item.key}/{attachment_name(position, name)}"


def attachment_url(
    settings: ChannelSettings, item: Published, position: int, name: str, *, agencies: Registry
) -> str:
    path = attachment_path(item, position, name, column(agencies, item.agency.code))
    return f"{pages_root(settings)}/{quote(path)}"
