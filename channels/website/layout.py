"""Where each page of the disclosure column lives inside the site folder.

    index.html, page-1.html …                 the whole column
    category/<主题分类>/index.html, page-N.html  one category
    category/<主题分类>/<子类>/index.html …       one sub-category (only while it has items)
    year/<YYYY>/index.html …                  one year (of 生成日期)
    items/<key>.html, items/<key>/<file>      an item and its attachments
    search.html, search/<YYYY>.json           the static search and its index, per year
    sitemap.xml, sitemaps/<YYYY>.xml          a sitemap index and one sitemap per year
    withdrawn/<key>                           marks a retracted item (served as 410)
    assets/                                   style sheet and script

Archive pages are numbered from the oldest (``page-1.html`` holds the oldest
items), so a new item changes only the newest pages; ``index.html`` shows the
newest items of its index. Folder names come from the configured taxonomy; a name
that is not plain letters and digits is replaced by a hash, so no name can climb
out of the folder.
"""

from __future__ import annotations

import posixpath
from dataclasses import dataclass
from urllib.parse import quote

from pipeline.model import Published
from pipeline.urls import segment


def item_page(key: str) -> str:
    return f"items/{key}.html"


def attachment_path(key: str, file_name: str) -> str:
    return f"items/{key}/{file_name}"


def withdrawn_marker(key: str) -> str:
    return f"withdrawn/{key}"


def href(from_page: str, to_path: str) -> str:
    """A relative, percent-encoded link, so the site works under any prefix."""
    rel = posixpath.relpath(to_path, posixpath.dirname(from_page) or ".")
    return quote(rel)


@dataclass(frozen=True)
class IndexSpec:
    """One listing of the column: everything, a category, a sub-category or a year."""

    kind: str  # all | category | subcategory | year
    category: str | None = None
    subcategory: str | None = None
    year: int | None = None

    @property
    def folder(self) -> str:
        if self.kind == "category":
            return f"category/{segment(self.category or '')}"
        if self.kind == "subcategory":
            return f"category/{segment(self.category or '')}/{segment(self.subcategory or '')}"
        if self.kind == "year":
            return f"year/{self.year}"
        return ""

    def page(self, number: int | None) -> str:
        """``None`` is the front page (newest items); 1 is the oldest archive page."""
        name = "index.html" if number is None else f"page-{number}.html"
        return posixpath.join(self.folder, name) if self.folder else name

    @property
    def title(self) -> str:
        if self.kind == "category":
            return f"{self.category}"
        if self.kind == "subcategory":
            return f"{self.category} · {self.subcategory}"
        if self.kind == "year":
            return f"{self.year}年"
        return "法定主动公开内容"


def indexes_of(category: str, subcategory: str | None, year: int) -> list[IndexSpec]:
    """Every listing an item with these catalogue values appears in."""
    found = [IndexSpec("all"), IndexSpec("category", category=category)]
    if subcategory:
        found.append(IndexSpec("subcategory", category=category, subcategory=subcategory))
    found.append(IndexSpec("year", year=year))
    return found


def item_indexes(item: Published) -> list[IndexSpec]:
    return indexes_of(item.category, item.subcategory, item.generated_on.year)
