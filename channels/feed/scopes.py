"""Which feeds exist and what each holds: every item (``all``), one 主题分类
(``category-政策法规``) or one 发布机构 (``agency-113703030000000000``).

A feed's name is its file name and its URL (``/feeds/{name}.rss``). Category names
come from the configured taxonomy; one that is not plain letters and digits is
replaced by a hash, so no name can climb out of the feeds folder.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from pipeline.urls import segment

AGENCY_CODE = re.compile(r"[0-9A-Za-z]{6,32}")


@dataclass(frozen=True)
class Scope:
    kind: Literal["all", "category", "agency"]
    value: str = ""

    @property
    def name(self) -> str:
        if self.kind == "category":
            return f"category-{segment(self.value)}"
        if self.kind == "agency":
            return f"agency-{self.value}"
        return "all"


ALL = Scope("all")


def parse(name: str, taxonomy: dict[str, list[str]]) -> Scope | None:
    """The scope a feed name stands for; None for a name no feed can have."""
    if name == "all":
        return ALL
    kind, _, rest = name.partition("-")
    if kind == "category":
        found = [c for c in taxonomy if segment(c) == rest]
        return Scope("category", found[0]) if found else None
    if kind == "agency" and AGENCY_CODE.fullmatch(rest):
        return Scope("agency", rest)
    return None


def of_item(category: str, agency_code: str, per_agency: bool) -> list[Scope]:
    """Every feed an item with this category and agency appears in."""
    found = [ALL, Scope("category", category)]
    if per_agency:
        found.append(Scope("agency", agency_code))
    return found
