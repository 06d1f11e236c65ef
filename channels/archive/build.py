"""From a frozen package to its file: the members' pages, attachments and
metadata, bagged in package order, with every timestamp set to the period end."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from channels.archive import eep
from channels.archive.bag import BagWriter, file_sha256
from channels.archive.ledger import Ledger, Package
from channels.archive.page import item_files, render_page
from channels.archive.periods import Period
from channels.kit.files import atomic_writer
from pipeline.errors import PermanentError, content_errors
from pipeline.model import Published


@dataclass(frozen=True)
class Recipe:
    """What a build needs besides the package: who sends it and how it is packed."""

    ledger: Ledger
    source_organization: str
    organization_code: str | None
    packing: str
    tz: ZoneInfo
    site_name: str
    url_of: Callable[[Published], str]


def file_name(package: Package, packing: str) -> str:
    return f"{package.package_id}.{packing}"


def build(package: Package, recipe: Recipe, folder: Path) -> tuple[Path, str, int]:
    """Write the package file into ``folder`` (atomically and durably:
    :mod:`channels.kit.files`); returns (path, sha256, size)."""
    target = folder / file_name(package, recipe.packing)
    with atomic_writer(target) as out:
        bag = BagWriter(out, recipe.packing, package.package_id, package.period_end)
        _payload(bag, package, recipe)
        bag.finish(_info(package, recipe))
    return target, file_sha256(target), target.stat().st_size


def _payload(bag: BagWriter, package: Package, recipe: Recipe) -> None:
    for member, item in recipe.ledger.members(package.package_id):
        with content_errors(f"archive package {package.package_id}: {member.action} of {item.index_no}"):
            _member(bag, recipe, package, member, item)


def _member(bag: BagWriter, recipe: Recipe, package: Package, member: Any, item: Published) -> None:
    """One item's folder: its retraction record, or its metadata, page and attachments."""
    envelope = eep.Envelope(recipe.source_organization, package.period_end, recipe.tz, recipe.url_of(item))
    folder = item.index_no
    if member.action == "retract":
        bag.add(f"{folder}/retraction.xml", eep.retraction(item, member.snapshot, envelope))
        return
    files = item_files(item)
    blobs = recipe.ledger.blobs(sorted({f.sha256 for f in files if f.sha256}))
    stored = []
    for file in files:
        if file.sha256 is None:
            data = render_page(item, files, recipe.site_name, envelope.url, recipe.tz)
        elif file.sha256 in blobs:
            data = blobs[file.sha256]
        else:
            raise PermanentError(f"stored attachment {file.sha256} of {item.index_no} is missing")
        found = bag.add(f"{folder}/{file.path}", data)
        if file.sha256 is not None and found["sha256"] != file.sha256:
            raise PermanentError(f"stored attachment {file.sha256} of {item.index_no} is corrupt")
        stored.append(eep.Stored(file, len(data), found["sha256"], found["sm3"]))
    bag.add(f"{folder}/metadata.xml", eep.publication(item, stored, member.snapshot, envelope))


def _info(package: Package, recipe: Recipe) -> list[tuple[str, str]]:
    fields = [("Source-Organization", recipe.source_organization)]
    if recipe.organization_code:
        fields.append(("Organization-Identifier", recipe.organization_code))
    description = (
        f"主动公开政府信息 {package.period}：{package.item_count} 条，撤回记录 {package.retraction_count} 条"
    )
    if names_agency(package):  # whose items (their names are in each item's metadata)
        fields.append(("Agency-Code", str(package.agency_code)))
    return [
        *fields,
        ("External-Identifier", package.package_id),
        ("External-Description", description),
        ("Bagging-Date", _bagging_date(package, recipe)),
        ("Bag-Software-Agent", "govpub"),
        ("Receiver", package.receiver),
        ("Period", package.period),
        ("Item-Count", str(package.item_count)),
        ("Retraction-Count", str(package.retraction_count)),
    ]


def names_agency(package: Package) -> bool:
    """A period package made in platform mode says whose it is in bag-info. Not one made
    before (its agency was filled in later: rebuilding it must give the same bytes), nor
    a per-item package (its 索引号 names the agency)."""
    expected = f"{package.receiver}-{package.agency_code}-{package.period}"
    return package.agency_code is not None and package.package_id == expected


def _bagging_date(package: Package, recipe: Recipe) -> str:
    """The last local day of the period (of the moment, for a per-item package)."""
    return Period(package.period, package.period_start, package.period_end).last_day(recipe.tz).isoformat()
