"""``govpub archive verify``: check a package the way a receiving archive does at
receipt (DA/T 70 四性检测, integrity): the bag is complete, every manifest matches
(SHA-256, SHA-512 and SM3), every tag manifest lists and matches every tag file,
bag-info says what it must, every item's metadata is valid against the DA/T 48 schema
and still describes its payload (SM3, size, 索引号: see ``fixity``). Given the sending
installation's database, the bag must also be the package it recorded (``recorded``).
Each problem names its file.

The generic ``bagit`` validator runs too, as a second opinion any archive can
reproduce with its own tools (it checks neither the metadata nor that a tag manifest
lists every tag file).
"""

from __future__ import annotations

import logging
import os
import re
import tarfile
import tempfile
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import bagit

from channels.archive import eep, fixity, recorded
from channels.archive.bag import ALGORITHMS, file_digests

if TYPE_CHECKING:
    from sqlalchemy import Engine

REQUIRED_INFO = ("Source-Organization", "External-Identifier", "Bagging-Date", "Payload-Oxum", "Item-Count")


@dataclass
class Report:
    """What was checked and what is wrong, file by file."""

    target: str
    problems: list[tuple[str, str]] = field(default_factory=list)  # (file, what is wrong)
    package_id: str = ""
    files: int = 0
    octets: int = 0
    items: int = 0
    retractions: int = 0
    metadata_checked: int = 0
    info: dict[str, str] = field(default_factory=dict, repr=False)  # bag-info.txt
    described: list[fixity.Described] = field(default_factory=list, repr=False)
    database: str = ""  # what the comparison with a database found, or why there was none

    @property
    def ok(self) -> bool:
        return not self.problems

    def add(self, where: str, what: str) -> None:
        self.problems.append((where, what))

    def text(self) -> str:
        if self.ok:
            return (
                f"OK {self.target}: package {self.package_id}, {self.items} items, "
                f"{self.retractions} retractions, {self.files} payload files ({self.octets} bytes); "
                f"manifests and tag manifests ({', '.join(ALGORITHMS)}) match; "
                f"{self.metadata_checked} metadata files valid against the DA/T 48 schema; "
                "metadata SM3, sizes and 索引号 match the payload"
                + (f"; {self.database}" if self.database else "")
            )
        lines = [f"FAILED {self.target}: {len(self.problems)} problem(s)"]
        lines += [f"  {where}: {what}" for where, what in self.problems]
        if self.database:
            lines.append(f"database: {self.database}")
        return "\n".join(lines)


def verify(path: Path, database: Engine | None = None) -> Report:
    """Verify a package file (tar or zip) or an unpacked bag folder; with ``database``
    (the sending installation's), also against what it recorded of the package."""
    report = Report(str(path))
    if path.is_dir():
        _check(path, None, report, database)
        return report
    with tempfile.TemporaryDirectory(prefix="govpub-verify-") as tmp:
        root = unpack(path, Path(tmp), report)
        if root is not None:
            _check(root, path, report, database)
    return report


def _check(root: Path, package_file: Path | None, report: Report, database: Engine | None) -> None:
    check_bag(root, report)
    named = report.info.get("External-Identifier")
    if package_file is not None and named and named != root.name:
        report.add(root.name, f"the package's folder, but bag-info.txt says the package is {named}")
    if database is not None and (root / "bagit.txt").is_file():
        recorded.cross_check(database, package_file, report)


def unpack(path: Path, into: Path, report: Report) -> Path | None:
    """Unpack safely; the bag must be one top-level folder."""
    try:
        if zipfile.is_zipfile(path):
            with zipfile.ZipFile(path) as archive:
                archive.extractall(into)
        elif tarfile.is_tarfile(path):
            with tarfile.open(path) as archive:
                archive.extractall(into, filter="data")
        else:
            report.add(path.name, "neither a tar nor a zip file")
            return None
    except (tarfile.TarError, zipfile.BadZipFile, OSError) as exc:
        report.add(path.name, f"cannot be unpacked: {exc}")
        return None
    tops = [p for p in into.iterdir()]
    if len(tops) != 1 or not tops[0].is_dir():
        report.add(path.name, f"must hold exactly one top-level folder, holds {sorted(p.name for p in tops)}")
        return None
    return tops[0]


def check_bag(root: Path, report: Report) -> None:
    report.package_id = root.name
    if not (root / "bagit.txt").is_file():
        report.add("bagit.txt", "missing: not a BagIt bag")
        return
    files = [p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()]
    payload = {f for f in files if f.startswith("data/")}
    tags = {f for f in files if f not in payload and not _is_tag_manifest(f)}
    hashed = {f: file_digests(root / f) for f in payload | tags}
    for alg in ALGORITHMS:
        _check_manifest(root, f"manifest-{alg}.txt", alg, payload, hashed, report)
        _check_manifest(root, f"tagmanifest-{alg}.txt", alg, tags, hashed, report)
    sizes = {f: (root / f).stat().st_size for f in payload}
    _check_info(root, sizes, report)
    _check_metadata(root, hashed, sizes, report)
    _second_opinion(root, report)


def _is_tag_manifest(relative: str) -> bool:
    """Tag manifests list every other tag file, not each other (RFC 8493 2.2.1)."""
    return "/" not in relative and relative.startswith("tagmanifest-") and relative.endswith(".txt")


def _check_manifest(
    root: Path, name: str, alg: str, expected: set[str], hashed: dict[str, dict[str, str]], report: Report
) -> None:
    """Both directions: everything listed exists, everything expected is listed (for a tag
    manifest too: a line removed would leave that tag file unprotected), every digest."""
    path = root / name
    if not path.is_file():
        report.add(name, "missing")
        return
    listed: dict[str, str] = {}
    for number, line in enumerate(path.read_text("utf-8").splitlines(), start=1):
        parts = line.split(maxsplit=1)
        if len(parts) != 2 or not re.fullmatch(r"[0-9a-fA-F]+", parts[0]):
            report.add(name, f"line {number} is not '<checksum> <path>'")
            continue
        listed[parts[1].strip()] = parts[0].lower()
    for missing in sorted(set(listed) - expected):
        report.add(missing, f"listed in {name} but missing from the bag")
    for extra in sorted(expected - set(listed)):
        report.add(extra, f"in the bag but not listed in {name}")
    for relative in sorted(set(listed) & expected):
        if hashed[relative][alg] != listed[relative]:
            report.add(relative, f"{alg} checksum does not match {name} (file altered or damaged)")


def _check_info(root: Path, sizes: dict[str, int], report: Report) -> None:
    path = root / "bag-info.txt"
    if not path.is_file():
        report.add("bag-info.txt", "missing")
        return
    info = dict(
        line.split(":", 1)
        for line in path.read_text("utf-8").splitlines()
        if ":" in line and line[:1].strip()
    )
    info = {k.strip(): v.strip() for k, v in info.items()}
    report.info = info
    for key in REQUIRED_INFO:
        if not info.get(key):
            report.add("bag-info.txt", f"{key} is missing")
    report.package_id = info.get("External-Identifier", report.package_id)
    report.files = len(sizes)
    report.octets = sum(sizes.values())
    oxum = info.get("Payload-Oxum", "")
    if oxum and oxum != f"{report.octets}.{report.files}":
        report.add("bag-info.txt", f"Payload-Oxum {oxum} but the payload is {report.octets}.{report.files}")
    report.items = sum(1 for p in sizes if p.endswith("/metadata.xml"))
    report.retractions = sum(1 for p in sizes if p.endswith("/retraction.xml"))
    for key, counted in (("Item-Count", report.items), ("Retraction-Count", report.retractions)):
        if info.get(key, str(counted)) != str(counted):
            report.add("bag-info.txt", f"{key} {info[key]} but the payload holds {counted}")


def _check_metadata(
    root: Path, hashed: dict[str, dict[str, str]], sizes: dict[str, int], report: Report
) -> None:
    """Each metadata file against the schema, then what they say against the payload."""
    for relative in sorted(sizes):
        if os.path.basename(relative) in fixity.ACTIONS:
            report.metadata_checked += 1
            data = (root / relative).read_bytes()
            for problem in eep.problems(data):
                report.add(relative, f"not valid against the DA/T 48 schema: {problem}")
            described = fixity.describe(relative, data)
            if described is not None:
                report.described.append(described)
    fixity.check(report.described, hashed, sizes, report.add)


def _second_opinion(root: Path, report: Report) -> None:
    if report.problems:
        return  # the own checks already name the files; bagit would repeat them
    quiet = logging.getLogger("bagit")
    level = quiet.level
    quiet.setLevel(logging.WARNING)  # it logs every file it hashes
    try:
        bagit.Bag(str(root)).validate()
    except bagit.BagError as exc:
        details = getattr(exc, "details", None) or []
        report.add("bag", f"bagit validator: {exc}" + "".join(f"; {d}" for d in details))
    finally:
        quiet.setLevel(level)
