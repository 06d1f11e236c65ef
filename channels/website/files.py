"""Files of the site folder that go away: stale attachments, pages and indexes, a
withdrawal marker once the item is published again.

Writing goes through :mod:`channels.kit.files` (atomic replace, only on change, under the
folder lock); attachment names are :func:`pipeline.urls.attachment_name`.
"""

from __future__ import annotations

import hashlib
from pathlib import Path


def remove(path: Path) -> bool:
    try:
        path.unlink()
    except FileNotFoundError:
        return False
    return True


def content_digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
