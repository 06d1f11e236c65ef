"""``govpub archive verify``: check a package the way a receiving archive does at
receipt (DA/T 70 四性检测, integrity): the bag is complete, every manifest and tag
manifest matches (SHA-256, SHA-512 and SM3), bag-info says what it must, and every
item's metadata is valid against the DA/T 48 schema. Each problem names its file.

The generic ``bagit`` validator runs too, as a second opinion any archive can
reproduce with its own tools.
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

import bagit

from channels.archive import eep
from channels.archive.bag import ALGORITHMS, new_hasher

REQUIRED_INFO = ("Source-Organization", "External-Identifier", "Bagging-Date", "Payload-Oxum", "Item-Count")
METADATA_FILES = ("metadata.xml", "retraction.xml")


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
                f"{self.metadata_checked} metadata files valid against the DA/T 48 schema"
            )
        lines = [f"FAILED {self.target}: {len(self.problems)} problem(s)"]
        lines += [f"  {where}: {what}" for where, what in self.problems]
        return "\n".join(lines)


def verify(path: Path) -> Report:
    """Verify a package file (tar or zip) or an unpacked bag folder."""
    report = Report(str(path))
    if path.is_dir():
        check_bag(path, report)
        return report
    with tempfile.TemporaryDirectory(prefix="govpub-verify-") as tmp:
        root = unpack(path, Path(tmp), report)
        if root is not None:
            check_bag(root, report)
    return report


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
    payload = {p.relative_to(root).as_posix() for p in (root / "data").rglob("*") if p.is_file()}
    tags = {p.name for p in root.iterdir() if p.is_file() and not p.name.startswith("tagmanifest-")}
    for alg in ALGORITHMS:
        _check_manifest(root, f"manifest-{alg}.txt", alg, payload, report)
        _check_manifest(root, f"tagmanifest-{alg}.txt", alg, tags, report)
    _check_info(root, payload, report)
    _check_metadata(root, payload, report)
    _second_opinion(root, report)


def _check_manifest(root: Path, name: str, alg: str, expected: set[str], report: Report) -> None:
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
        if not name.startswith("tagmanifest-"):
            report.add(extra, f"in the bag but not listed in {name}")
    for relative in sorted(set(listed) & expected):
        hasher = new_hasher(alg)
        with open(root / relative, "rb") as fh:
            while block := fh.read(1 << 20):
                hasher.update(block)
        if hasher.hexdigest() != listed[relative]:
            report.add(relative, f"{alg} checksum does not match {name} (file altered or damaged)")


def _check_info(root: Path, payload: set[str], report: Report) -> None:
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
    for key in REQUIRED_INFO:
        if not info.get(key):
            report.add("bag-info.txt", f"{key} is missing")
    report.package_id = info.get("External-Identifier", report.package_id)
    report.files = len(payload)
    report.octets = sum((root / p).stat().st_size for p in payload)
    oxum = info.get("Payload-Oxum", "")
    if oxum and oxum != f"{report.octets}.{report.files}":
        report.add("bag-info.txt", f"Payload-Oxum {oxum} but the payload is {report.octets}.{report.files}")
    report.items = sum(1 for p in payload if p.endswith("/metadata.xml"))
    report.retractions = sum(1 for p in payload if p.endswith("/retraction.xml"))
    for key, counted in (("Item-Count", report.items), ("Retraction-Count", report.retractions)):
        if info.get(key, str(counted)) != str(counted):
            report.add("bag-info.txt", f"{key} {info[key]} but the payload holds {counted}")


def _check_metadata(root: Path, payload: set[str], report: Report) -> None:
    for relative in sorted(payload):
        if os.path.basename(relative) in METADATA_FILES:
            report.metadata_checked += 1
            for problem in eep.problems((root / relative).read_bytes()):
                report.add(relative, f"not valid against the DA/T 48 schema: {problem}")


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
