"""Is this bag the package the sending installation recorded?

A bag can be made consistent with itself again after a change (metadata edited and
every checksum recomputed, a whole item taken out and the counts lowered). What
cannot be rewritten with it is the archive channel's own record: the package's file
checksum and size, its receiver, period and counts (``archive_packages``), and which
items it holds and as what revision (``archive_members`` and the revisions they
name). ``govpub archive verify`` compares against that record when it runs where the
package was made; a receiving archive has no such record and relies on ``fixity``.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Engine, inspect

from channels.archive.bag import file_sha256
from channels.archive.build import names_agency
from channels.archive.fixity import Described
from channels.archive.ledger import Ledger, Package
from channels.archive.page import item_files
from channels.archive.tables import archive_packages
from pipeline.model import Published

if TYPE_CHECKING:
    from channels.archive.verify import Report


def cross_check(engine: Engine, package_file: Path | None, report: Report) -> None:
    """Add a problem for every way the bag differs from the record of its package; say
    in ``report.database`` what was compared, or why nothing could be."""
    if not inspect(engine).has_table(archive_packages.name):
        report.database = "this installation's database has no archive packages: nothing to compare"
        return
    ledger = Ledger(engine, report.info.get("Receiver", ""))
    package = ledger.get(report.package_id)
    if package is None:
        report.database = f"no record of {report.package_id} in this installation's database: not compared"
        return
    before = len(report.problems)
    _package_facts(package, package_file, report)
    compared = _members(ledger, package, report)
    verdict = "matches" if len(report.problems) == before else "DIFFERS from"
    what = "file checksum and size, " if package_file is not None and package.sha256 else ""
    report.database = (
        f"{verdict} the database's record of {package.package_id} "
        f"({what}receiver, period, counts and {compared} members)"
    )


def _package_facts(package: Package, package_file: Path | None, report: Report) -> None:
    info = report.info
    facts = [
        ("Receiver", package.receiver),
        ("Period", package.period),
        ("Item-Count", str(package.item_count)),
        ("Retraction-Count", str(package.retraction_count)),
    ]
    if names_agency(package):
        facts.append(("Agency-Code", str(package.agency_code)))
    for key, recorded in facts:
        if info.get(key) != recorded:
            report.add("bag-info.txt", f"{key} {info.get(key)} but the database records {recorded}")
    if package_file is None or not package.sha256:
        return  # an unpacked folder, or a package frozen but never built: no file checksum
    sha256, size = file_sha256(package_file), package_file.stat().st_size
    if sha256 != package.sha256:
        report.add(
            package_file.name,
            f"sha256 {sha256} but the database recorded {package.sha256} for the file built and sent",
        )
    if size != package.size:
        report.add(package_file.name, f"{size} bytes but the database recorded {package.size}")


def _members(ledger: Ledger, package: Package, report: Report) -> int:
    """The bag's items against the frozen members: same items, same actions, and each
    publication's title, revision and attachments as its recorded revision has them."""
    in_bag = {(d.folder, d.action): d for d in report.described}
    recorded = 0
    for member, item in ledger.members(package.package_id):
        recorded += 1
        found = in_bag.pop((member.index_no, member.action), None)
        if found is None:
            report.add(
                f"data/{member.index_no}/",
                f"recorded in {package.package_id} ({member.action}) but not in the bag",
            )
        elif member.action == "publish":
            _revision(found, item, report)
    for folder, action in sorted(in_bag):
        report.add(f"data/{folder}/", f"in the bag ({action}) but not recorded in {package.package_id}")
    return recorded


def _revision(described: Described, item: Published, report: Report) -> None:
    where = described.path
    if described.title != item.title:
        said = f"the recorded revision {item.revision} says {item.title!r}"
        report.add(where, f"题名 {described.title!r} but {said}")
    if described.revision != str(item.revision):
        report.add(where, f"版本号 {described.revision} but the recorded revision is {item.revision}")
    documents = {d.name: d for d in described.documents}
    for file in item_files(item):
        document = documents.pop(file.path, None)
        if document is None:
            report.add(where, f"does not describe {file.path}, which the recorded revision has")
        elif file.sha256 is not None and document.digests.get("sha256") != file.sha256:
            report.add(where, f"the SHA-256 of {file.path} is not that of the recorded attachment")
    for name in sorted(documents):
        report.add(where, f"describes {name}, which the recorded revision does not have")
