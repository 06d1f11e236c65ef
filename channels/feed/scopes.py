"""Which feeds exist and what each holds: every item (``all``), one 主题分类
(``category-政策法规``) or one 发布机构 (``agency-jyj``).

A feed's name is its file name and its URL (``/feeds/{name}.rss``). Category names
come from the configured taxonomy; one that is not plain letters and digits is
replaced by a hash, so no name can climb out of the feeds folder. An agency's feed is
named after its column path in the registry (``agency-{path}``); its code and its
former paths name the same feed (the URLs of before keep working), and an agency the
registry does not know (items of before the registry) keeps ``agency-{code}``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

from pipeline.urls import segment

if TYPE_CHECKING:
    from pipeline.agencies import Registry

AGENCY_CODE = re.compile(r"[0-9A-Za-z]{6,32}")


@dataclass(frozen=True)
class Scope:
    kind: Literal["all", "category", "agency"]
    value: str = ""  # the category, or the agency's code
    path: str = ""  # a registered agency's column path: its feed's name
    label: str = field(default="", compare=False)  # a registered agency's name

    @property
    def name(self) -> str:
        if self.kind == "category":
            return f"category-{segment(self.value)}"
        if self.kind == "agency":
            return f"agency-{self.path or self.value}"
        return "all"


ALL = Scope("all")


def agency(code: str, registry: Registry | None) -> Scope:
    """The feed of one agency: named by its column path when the registry knows it."""
    found = registry.get(code) if registry is not None else None
    if found is None:
        return Scope("agency", code)
    return Scope("agency", code, found.path, found.name)


def parse(name: str, taxonomy: dict[str, list[str]], registry: Registry | None = None) -> Scope | None:
    """The scope a feed name stands for; None for a name no feed can have. An agency is
    looked for by its column path (current or former), then by its code."""
    if name == "all":
        return ALL
    kind, _, rest = name.partition("-")
    if kind == "category":
        found = [c for c in taxonomy if segment(c) == rest]
        return Scope("category", found[0]) if found else None
    if kind != "agency":
        return None
    by_path = registry.by_path(rest) if registry is not None and rest else None
    if by_path is not None:
        return agency(by_path[0].code, registry)
    if AGENCY_CODE.fullmatch(rest):
        return agency(rest, registry)
    return None


def of_item(
    category: str, agency_code: str, per_agency: bool, registry: Registry | None = None
) -> list[Scope]:
    """Every feed an item with this category and agency appears in."""
    found = [ALL, Scope("category", category)]
    if per_agency:
        found.append(agency(agency_code, registry))
    return found
