"""Archive fixity: a package whose own checksums were recomputed after a change still
fails ``govpub archive verify`` and the archive receiver sandbox, because the metadata's
SM3, size and 索引号 no longer match the payload, a tag manifest must list every tag file,
and (where a database recorded the package) the bag must be what was recorded."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from click.testing import CliRunner

from channels.archive.bag import file_sha256
from channels.archive.sandbox import create_app
from channels.archive.verify import verify
from pipeline.cli.main import main
from pipeline.runner import run_batch
from pipeline.services import Services
from tests.channels.archive_support import (
    APRIL_2,
    MARCH_10,
    accept,
    archive_services,
    configured,
    rebag,
    repack,
    unpack,
)
from tests.helpers import LiveServer

__all__ = ["archive_services", "configured"]  # the fixtures, imported for pytest
PACKAGE = "district-113703030000000000-2017-03"


def exported(services: Services, tmp_path: Path) -> tuple[Path, list[str]]:
    """Two items of March in the monthly package, exported by the channel itself."""
    index_nos = [accept(services, n, MARCH_10, attachments=n).index_no for n in (1, 2)]
    services.clock = lambda: APRIL_2
    run_batch(services, "district")
    return tmp_path / "drop" / f"{PACKAGE}.tar", index_nos


def tampered(package: Path, tmp_path: Path, change: Callable[[Path, str], None], index_no: str) -> Path:
    root = unpack(package, tmp_path / "unpacked")
    change(root, index_no)
    return repack(root, tmp_path / f"{PACKAGE}.tar")


def edit_page(root: Path, index_no: str) -> None:
    """index.html changed, then every manifest and the Payload-Oxum recomputed."""
    page = root / "data" / index_no / "index.html"
    page.write_text(page.read_text("utf-8").replace("测试公开信息", "篡改后的公开信息", 1), "utf-8")
    rebag(root)


def change_index_no(root: Path, index_no: str) -> None:
    """The 索引号 inside the metadata changed, then everything recomputed."""
    metadata = root / "data" / index_no / "metadata.xml"
    other = index_no[:-1] + str((int(index_no[-1]) + 5) % 10)
    xml = metadata.read_text("utf-8")
    assert f"<索引号>{index_no}</索引号>" in xml
    metadata.write_text(xml.replace(f"<索引号>{index_no}</索引号>", f"<索引号>{other}</索引号>"), "utf-8")
    rebag(root)


def drop_tag_line(root: Path, index_no: str) -> None:
    """One line (bag-info.txt's) removed from a tag manifest; nothing else touched."""
    tags = root / "tagmanifest-sha256.txt"
    lines = tags.read_text("utf-8").splitlines(keepends=True)
    kept = [line for line in lines if not line.rstrip().endswith(" bag-info.txt")]
    assert len(kept) == len(lines) - 1
    tags.write_text("".join(kept), "utf-8")


def add_file(root: Path, index_no: str) -> None:
    """A file slipped into an item's folder, then everything recomputed."""
    (root / "data" / index_no / "attachments" / "99-补充.pdf").write_bytes(b"%PDF-1.4 slipped in\n")
    rebag(root)


TAMPERING = {
    "file-added-and-rebagged": (
        add_file,
        ["data/{index_no}/attachments/99-补充.pdf: in the payload but described by no metadata.xml"],
    ),
    "page-edited-and-rebagged": (
        edit_page,
        [
            "data/{index_no}/index.html: SM3 differs from the 数字摘要 in data/{index_no}/metadata.xml",
            "data/{index_no}/index.html: size",
        ],
    ),
    "index-no-changed-and-rebagged": (
        change_index_no,
        ["data/{index_no}/metadata.xml: 索引号 {other} is not the item's folder data/{index_no}/"],
    ),
    "tag-manifest-line-dropped": (
        drop_tag_line,
        ["bag-info.txt: in the bag but not listed in tagmanifest-sha256.txt"],
    ),
}


def expected(messages: list[str], index_no: str) -> list[str]:
    other = index_no[:-1] + str((int(index_no[-1]) + 5) % 10)
    return [m.format(index_no=index_no, other=other) for m in messages]


def test_recomputing_the_bag_s_own_checksums_after_no_change_still_verifies(
    archive_services: Any, tmp_path: Path
) -> None:
    """The forger's tool is right: what it makes of an untouched package passes."""
    package, index_nos = exported(archive_services(), tmp_path)
    again = tampered(package, tmp_path, lambda root, _: rebag(root), index_nos[0])
    report = verify(again)
    assert report.ok, report.text()
    assert "metadata SM3, sizes and 索引号 match the payload" in report.text()


@pytest.mark.parametrize("how", sorted(TAMPERING))
def test_verify_refuses_a_tampered_package_through_the_cli(
    configured: Services, tmp_path: Path, how: str
) -> None:
    for n in (1, 2):
        accept(configured, n, MARCH_10, attachments=n)
    export = CliRunner().invoke(main, ["archive", "export", "--receiver", "district", "--period", "2017-03"])
    assert export.exit_code == 0, export.output
    package = tmp_path / "drop" / f"{PACKAGE}.tar"
    index_no = _first_index_no(package, tmp_path)
    change, messages = TAMPERING[how]
    forged = tampered(package, tmp_path / "forged", change, index_no)

    result = CliRunner().invoke(main, ["archive", "verify", str(forged)])
    assert result.exit_code == 1, result.output
    assert result.stdout.startswith(f"FAILED {forged}")
    for message in expected(messages, index_no):
        assert message in result.stdout, result.stdout
    offline = CliRunner().invoke(main, ["archive", "verify", "--offline", str(forged)])
    assert offline.exit_code == 1 and offline.stdout.startswith("FAILED"), offline.output


@pytest.mark.parametrize("how", sorted(TAMPERING))
def test_the_archive_sandbox_rejects_a_tampered_package(
    archive_services: Any, tmp_path: Path, how: str
) -> None:
    package, index_nos = exported(archive_services(), tmp_path)
    change, messages = TAMPERING[how]
    forged = tampered(package, tmp_path / "forged", change, index_nos[0])
    with LiveServer(create_app(tmp_path / "receiver")) as server:
        answer = httpx.put(
            f"{server.url}/packages/{PACKAGE}",
            content=forged.read_bytes(),
            headers={"x-package-sha256": file_sha256(forged), "x-package-name": forged.name},
        )
        records = httpx.get(f"{server.url}/packages").json()
    assert answer.status_code == 422, answer.text
    body = answer.json()
    assert body["status"] == "rejected"
    for message in expected(messages, index_nos[0]):
        assert any(p.startswith(message) for p in body["problems"]), body["problems"]
    assert [r["status"] for r in records] == ["rejected"]
    assert not (tmp_path / "receiver" / "accepted" / forged.name).exists()


def remove_item(root: Path, index_no: str) -> None:
    """A whole item taken out, Item-Count lowered, everything recomputed: the bag on its
    own is consistent again; only the record of what was sent can tell."""
    shutil.rmtree(root / "data" / index_no)
    info = root / "bag-info.txt"
    info.write_text(info.read_text("utf-8").replace("Item-Count: 2", "Item-Count: 1"), "utf-8")
    rebag(root)


def retitle(root: Path, index_no: str) -> None:
    """The 题名 in the metadata changed, everything recomputed."""
    metadata = root / "data" / index_no / "metadata.xml"
    xml = metadata.read_text("utf-8")
    metadata.write_text(xml.replace("<题名>测试公开信息 1</题名>", "<题名>另一个标题</题名>", 1), "utf-8")
    rebag(root)


def test_the_database_record_catches_what_the_bag_alone_cannot(
    archive_services: Any, db_url: str, tmp_path: Path
) -> None:
    services = archive_services(db_url=db_url)
    package, index_nos = exported(services, tmp_path)
    recorded = verify(package, database=services.engine)
    assert recorded.ok, recorded.text()
    assert f"matches the database's record of {PACKAGE}" in recorded.text()

    short = tampered(package, tmp_path / "short", remove_item, index_nos[0])
    assert verify(short).ok, "the bag alone is consistent: this is what the record is for"
    report = verify(short, database=services.engine)
    assert not report.ok
    problems = [f"{where}: {what}" for where, what in report.problems]
    assert f"data/{index_nos[0]}/: recorded in {PACKAGE} (publish) but not in the bag" in problems
    assert any(p.startswith(f"{short.name}: sha256 ") and "recorded" in p for p in problems), problems
    assert any(p.startswith("bag-info.txt: Item-Count 1 but the database records 2") for p in problems)

    renamed = tampered(package, tmp_path / "renamed", retitle, index_nos[0])
    report = verify(renamed, database=services.engine)
    where = f"data/{index_nos[0]}/metadata.xml"
    assert (where, "题名 '另一个标题' but the recorded revision 1 says '测试公开信息 1'") in report.problems


def test_the_cli_cross_checks_the_installation_s_database(configured: Services, tmp_path: Path) -> None:
    for n in (1, 2):
        accept(configured, n, MARCH_10, attachments=n)
    export = CliRunner().invoke(main, ["archive", "export", "--receiver", "district", "--period", "2017-03"])
    assert export.exit_code == 0, export.output
    package = tmp_path / "drop" / f"{PACKAGE}.tar"
    ok = CliRunner().invoke(main, ["archive", "verify", str(package)])
    assert ok.exit_code == 0, ok.output
    assert f"matches the database's record of {PACKAGE}" in ok.stdout

    short = tampered(package, tmp_path / "short", remove_item, _first_index_no(package, tmp_path))
    bad = CliRunner().invoke(main, ["archive", "verify", str(short)])
    assert bad.exit_code == 1 and "(publish) but not in the bag" in bad.stdout, bad.output
    offline = CliRunner().invoke(main, ["archive", "verify", "--offline", str(short)])
    assert offline.exit_code == 0, offline.output
    assert "not compared with any database (--offline)" in offline.stdout


def _first_index_no(package: Path, tmp_path: Path) -> str:
    root = unpack(package, tmp_path / "peek")
    first = min(p.parent for p in (root / "data").rglob("metadata.xml"))
    shutil.rmtree(tmp_path / "peek")
    return first.relative_to(root / "data").as_posix()


def test_a_package_whose_folder_is_not_its_identifier_fails(archive_services: Any, tmp_path: Path) -> None:
    package, _ = exported(archive_services(), tmp_path)
    root = unpack(package, tmp_path / "unpacked")
    renamed = root.rename(root.with_name("district-113703030000000000-2017-04"))
    report = verify(repack(renamed, tmp_path / "district-113703030000000000-2017-04.tar"))
    said = "the package's folder, but bag-info.txt says the package is district-113703030000000000-2017-03"
    assert ("district-113703030000000000-2017-04", said) in report.problems, report.text()
