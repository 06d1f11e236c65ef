"""The archive channel through the delivery runner: periods, packages that validate,
tamper evidence, byte-stable re-exports, late items, retractions as records."""

from __future__ import annotations

import functools
import shutil
import tarfile
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import bagit
import pytest
from gmssl import func, sm3
from lxml import etree
from sqlalchemy import func as sqlfunc
from sqlalchemy import select, update

from channels.archive import eep, periods
from channels.archive.tables import archive_packages
from channels.archive.verify import verify
from pipeline import db
from pipeline.deliveries import Deliveries
from pipeline.errors import ConfigError
from pipeline.runner import run_batch
from pipeline.services import Services
from tests.channels.archive_support import (
    APRIL_2,
    APRIL_10,
    MARCH_10,
    MARCH_20,
    MAY_2,
    accept,
    archive_services,
    channel,
    deliveries,
    unpack,
)

__all__ = ["archive_services"]  # the fixture, imported for pytest
SHANGHAI = ZoneInfo("Asia/Shanghai")
NS = {"e": eep.NS}


def package_count(services: Services) -> int:
    with services.engine.connect() as conn:
        return int(conn.execute(select(sqlfunc.count()).select_from(archive_packages)).scalar_one())


def test_periods_are_counted_in_beijing_time() -> None:
    late_evening_utc = datetime(2017, 3, 31, 20, 0, tzinfo=UTC)  # 2017-04-01 04:00 in Beijing
    assert periods.containing(late_evening_utc, "monthly", SHANGHAI).label == "2017-04"
    march = periods.parse("2017-03", "monthly", SHANGHAI)
    assert (march.start, march.end) == (
        datetime(2017, 2, 28, 16, tzinfo=UTC),
        datetime(2017, 3, 31, 16, tzinfo=UTC),
    )
    week = periods.containing(datetime(2017, 3, 1, tzinfo=UTC), "weekly", SHANGHAI)
    assert week.label == "2017-W09" and periods.parse("2017-W09", "weekly", SHANGHAI) == week
    assert periods.following(march, "monthly", SHANGHAI).label == "2017-04"
    with pytest.raises(ValueError, match="like 2017-03"):
        periods.parse("2017-13", "monthly", SHANGHAI)


def test_bad_options_stop_start_up_naming_the_key(archive_services: Any) -> None:
    services = archive_services(transport={"kind": "ftp", "path": "/x"})
    with pytest.raises(ConfigError, match=r"channels\.district\.options\.transport"):
        services.channel("district")


@pytest.mark.parametrize("packing", ["tar", "zip"])
def test_a_period_package_validates_with_bagit_and_verify(
    archive_services: Any, tmp_path: Path, packing: str
) -> None:
    services = archive_services(packing=packing)
    for n in range(1, 4):
        accept(services, n, MARCH_10 + timedelta(days=n), attachments=n)
    assert run_batch(services, "district") == "batch of 3"
    rows = deliveries(services)
    assert {r.state for r in rows} == {"waiting"}, "the period is not over: nothing is sent"
    assert {r.last_error for r in rows} == {None}, "waiting for the period is no error"
    assert {r.attempts for r in rows} == {0}, "waiting for the period is not a failed attempt"
    assert {r.next_attempt_at for r in rows} == {datetime(2017, 3, 31, 16, tzinfo=UTC)}

    services.clock.now = APRIL_2
    run_batch(services, "district")
    rows = deliveries(services)
    assert {r.state for r in rows} == {"delivered"}
    package = tmp_path / "drop" / f"district-113703030000000000-2017-03.{packing}"
    refs = {tuple(sorted(r.external_ref.items())) for r in rows}
    assert len(refs) == 1, "every item of the period answers the same package"
    ref = rows[0].external_ref
    assert ref["package_id"] == "district-113703030000000000-2017-03"
    assert ref["receipt"] == f"directory:{package}"

    report = verify(package)
    assert report.ok, report.text()
    assert (report.items, report.files) == (3, 3 + 6 + 3)
    if packing == "tar":
        root = unpack(package, tmp_path / "unpacked")
        assert bagit.Bag(str(root)).validate()
        info = (root / "bag-info.txt").read_text("utf-8")
        for line in (
            "Source-Organization: 张店区教育局",
            "External-Identifier: district-113703030000000000-2017-03",
            "Bagging-Date: 2017-03-31",
            "Agency-Code: 113703030000000000",
            "Item-Count: 3",
            f"Payload-Oxum: {report.octets}.{report.files}",
        ):
            assert line in info
        _sm3_agrees_with_gmssl(root)


def _sm3_agrees_with_gmssl(root: Path) -> None:
    """The SM3 manifest is what the reference implementation (gmssl) computes."""
    digest, path = (root / "manifest-sm3.txt").read_text("utf-8").splitlines()[0].split(maxsplit=1)
    assert sm3.sm3_hash(func.bytes_to_list((root / path).read_bytes())) == digest


def test_the_metadata_carries_catalogue_approval_and_history(archive_services: Any, tmp_path: Path) -> None:
    services = archive_services()
    index_no = accept(services, 1, MARCH_10, doc_no="张教发〔2017〕3号", keywords=["招生"]).index_no
    services.clock.now = APRIL_2
    run_batch(services, "district")
    root = unpack(tmp_path / "drop" / "district-113703030000000000-2017-03.tar", tmp_path / "unpacked")
    folder = root / "data" / index_no
    xml = (folder / "metadata.xml").read_bytes()
    assert eep.problems(xml) == []
    doc = etree.fromstring(xml)
    assert doc.findtext("e:被签名对象/e:封装包类型", namespaces=NS) == "原始型"
    desc = doc.find(".//e:内容描述", NS)
    assert desc.findtext("e:索引号", namespaces=NS) == index_no
    assert desc.findtext("e:文件编号", namespaces=NS) == "张教发〔2017〕3号"
    assert desc.findtext("e:发布日期", namespaces=NS) == "2017-03-10T10:00:00+08:00"
    actions = [a.findtext("e:业务行为", namespaces=NS) for a in doc.iterfind(".//e:业务实体", NS)]
    assert actions[:4] == ["保密审查", "合法性审查", "真实性审查", "审批签发"]
    sizes = [int(s.text) for s in doc.iterfind(".//e:计算机文件大小", NS)]
    names = [n.text for n in doc.iterfind(".//e:计算机文件名", NS)]
    assert names == ["index.html", "attachments/01-附件1_招生计划_.pdf"]
    assert sizes == [(folder / n).stat().st_size for n in names]
    page = (folder / "index.html").read_text("utf-8")
    assert 'href="attachments/01-附件1_招生计划_.pdf"' in page and index_no in page
    broken = xml.replace("<题名>".encode(), b"<X>", 1).replace("</题名>".encode(), b"</X>", 1)
    assert any("题名" in p or "X" in p for p in eep.problems(broken))


def test_tampering_with_one_payload_byte_fails_and_names_the_file(
    archive_services: Any, tmp_path: Path
) -> None:
    services = archive_services()
    index_no = accept(services, 1, MARCH_10, attachments=2).index_no
    services.clock.now = APRIL_2
    run_batch(services, "district")
    package = tmp_path / "drop" / "district-113703030000000000-2017-03.tar"
    tampered = tmp_path / "tampered.tar"
    shutil.copyfile(package, tampered)
    victim = f"district-113703030000000000-2017-03/data/{index_no}/attachments/02-附件2_招生计划_.pdf"
    with tarfile.open(package) as archive:
        offset = archive.getmember(victim).offset_data
    with open(tampered, "r+b") as fh:
        fh.seek(offset + 10)
        byte = fh.read(1)
        fh.seek(offset + 10)
        fh.write(bytes([byte[0] ^ 0x01]))

    report = verify(tampered)
    assert not report.ok
    named = victim.removeprefix("district-113703030000000000-2017-03/")
    messages = [what for where, what in report.problems if where == named]
    manifests = {m.split()[0] for m in messages if "manifest-" in m}
    assert manifests == {"sha256", "sha512", "sm3"}, report.text()
    metadata = {m.split()[0] for m in messages if "数字摘要" in m}
    assert metadata == {"SM3", "SHA-256"}, "the metadata's digests name the file too"
    assert named in report.text()
    root = unpack(tampered, tmp_path / "unpacked")
    with pytest.raises(bagit.BagValidationError):
        bagit.Bag(str(root)).validate()


def test_a_changed_metadata_file_is_reported_against_schema_and_manifests(
    archive_services: Any, tmp_path: Path
) -> None:
    services = archive_services()
    index_no = accept(services, 1, MARCH_10).index_no
    services.clock.now = APRIL_2
    run_batch(services, "district")
    root = unpack(tmp_path / "drop" / "district-113703030000000000-2017-03.tar", tmp_path / "unpacked")
    metadata = root / "data" / index_no / "metadata.xml"
    metadata.write_bytes(metadata.read_bytes().replace("<版本号>1</版本号>".encode(), b""))
    (root / "manifest-sm3.txt").unlink()
    report = verify(root)
    where = {w for w, _ in report.problems}
    assert f"data/{index_no}/metadata.xml" in where and "manifest-sm3.txt" in where
    assert any("DA/T 48 schema" in what and "版本号" in what for _, what in report.problems)


def test_reexport_is_byte_identical_and_a_late_item_goes_into_the_next_package(
    archive_services: Any, tmp_path: Path
) -> None:
    services = archive_services()
    accept(services, 1, MARCH_10)
    late = accept(services, 2, MARCH_20)
    late_delivery = next(d for d, _ in late.work)
    _kill(services, late_delivery)  # its delivery failed for good before March was exported
    services.clock.now = APRIL_2
    run_batch(services, "district")
    first = channel(services).ledger.get("district-113703030000000000-2017-03")
    assert first is not None and first.item_count == 1 and first.confirmed

    Deliveries(services.engine).retry_now(late_delivery, "operator", APRIL_2)  # now it is late
    run_batch(services, "district")
    waiting = next(r for r in deliveries(services) if r.id == late_delivery)
    assert waiting.state == "waiting" and "2017-04 package" in waiting.reason

    rebuilt = channel(services).exporter.file_for(first, APRIL_10, rebuild=True)
    assert rebuilt.sha256 == first.sha256 and rebuilt.same_as_recorded
    assert verify(rebuilt.path).items == 1, "the frozen package did not take the late item"

    services.clock.now = MAY_2
    run_batch(services, "district")
    april = channel(services).ledger.get("district-113703030000000000-2017-04")
    assert april is not None and april.item_count == 1 and april.confirmed
    assert [r.external_ref["package_id"] for r in deliveries(services)] == [
        "district-113703030000000000-2017-03",
        "district-113703030000000000-2017-04",
    ]
    assert package_count(services) == 2


def _kill(services: Services, delivery_id: int) -> None:
    with services.engine.begin() as conn:
        conn.execute(update(db.deliveries).where(db.deliveries.c.id == delivery_id).values(state="dead"))


def test_a_retraction_appears_as_a_record_in_the_next_package(archive_services: Any, tmp_path: Path) -> None:
    services = archive_services()
    index_no = accept(services, 1, MARCH_10).index_no
    services.clock.now = APRIL_2
    run_batch(services, "district")
    work = services.store.retract("test", "t-1", "内容有误，撤回", now=APRIL_10)
    assert [name for _, name in work] == ["district"]
    services.clock.now = APRIL_10 + timedelta(hours=1)
    run_batch(services, "district")
    assert [r.state for r in deliveries(services)] == ["delivered", "waiting"]

    services.clock.now = MAY_2
    run_batch(services, "district")
    retraction = deliveries(services)[1]
    assert retraction.state == "delivered"
    assert retraction.external_ref["package_id"] == "district-113703030000000000-2017-04"
    package = tmp_path / "drop" / "district-113703030000000000-2017-04.tar"
    report = verify(package)
    assert report.ok and (report.items, report.retractions) == (0, 1), report.text()
    root = unpack(package, tmp_path / "unpacked")
    record = etree.fromstring((root / "data" / index_no / "retraction.xml").read_bytes())
    assert record.findtext(".//e:封装包类型", namespaces=NS) == "修改型"
    assert record.findtext(".//e:修改类型", namespaces=NS) == "撤回"
    assert record.findtext(".//e:原封装包标识", namespaces=NS) == "district-113703030000000000-2017-03"
    assert record.findtext(".//e:修改原因", namespaces=NS) == "内容有误，撤回"
    assert "Retraction-Count: 1" in (root / "bag-info.txt").read_text("utf-8")


def test_a_package_holds_the_whole_period_even_when_a_batch_holds_part_of_it(
    archive_services: Any, db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    services = archive_services(db_url=db_url)
    for n in range(1, 6):
        accept(services, n, MARCH_10 + timedelta(hours=n))
    small = functools.partialmethod(Deliveries.due_for_channel, limit=2)
    monkeypatch.setattr(Deliveries, "due_for_channel", small)
    services.clock.now = APRIL_2
    assert run_batch(services, "district") == "batch of 2"
    package = channel(services).ledger.get("district-113703030000000000-2017-03")
    assert package is not None and package.item_count == 5
    while run_batch(services, "district") != "not-claimed":
        pass
    rows = deliveries(services)
    assert {r.state for r in rows} == {"delivered"}
    assert {r.external_ref["sha256"] for r in rows} == {package.sha256}
    assert package_count(services) == 1
    events = services.store.events(rows[-1].id)
    assert [e["outcome"] for e in events] == ["delivered"]


def test_failing_transport_leaves_deliveries_retrying_until_it_confirms(
    archive_services: Any, tmp_path: Path
) -> None:
    blocked = tmp_path / "not-a-folder"
    blocked.write_text("a file where the drop folder should be")
    services = archive_services(transport={"kind": "directory", "path": str(blocked / "inbox")})
    accept(services, 1, MARCH_10)
    services.clock.now = APRIL_2
    run_batch(services, "district")
    (row,) = deliveries(services)
    assert (row.state, row.attempts, row.last_error_class) == ("retrying", 1, "TransientError")
    assert row.external_ref is None
    assert "directory drop" in channel(services).ledger.get("district-113703030000000000-2017-03").last_error  # type: ignore[union-attr]

    blocked.unlink()
    services.clock.now = APRIL_2 + timedelta(hours=1)
    run_batch(services, "district")
    (row,) = deliveries(services)
    assert row.state == "delivered"
    assert row.external_ref["receipt"].endswith("district-113703030000000000-2017-03.tar")
    assert verify(blocked / "inbox" / "district-113703030000000000-2017-03.tar").ok


def test_per_item_receivers_send_one_package_per_delivery(archive_services: Any, tmp_path: Path) -> None:
    services = archive_services(schedule="per-item")
    assert not channel(services).batched
    index_no = accept(services, 1, MARCH_10).index_no
    key = index_no.replace("/", "-")
    from pipeline.runner import run_delivery

    (row,) = deliveries(services)
    assert run_delivery(services, row.id, "district") == "delivered"
    package = tmp_path / "drop" / f"district-{key}-r1.tar"
    report = verify(package)
    assert report.ok and report.package_id == f"district-{key}-r1", report.text()
    root = unpack(package, tmp_path / "unpacked")
    assert "Bagging-Date: 2017-03-10" in (root / "bag-info.txt").read_text("utf-8")


def test_an_item_retracted_before_its_package_goes_with_its_retraction(
    archive_services: Any, tmp_path: Path
) -> None:
    services = archive_services()
    assert services.record_keeping_channels() == {"district"}
    index_no = accept(services, 1, MARCH_10).index_no
    run_batch(services, "district")  # waits for the end of March
    keep = services.record_keeping_channels()
    services.store.retract("test", "t-1", "误发", now=MARCH_20 + timedelta(days=1), keep=keep)
    assert [(r.action, r.state) for r in deliveries(services)] == [
        ("publish", "waiting"),
        ("retract", "pending"),
    ]

    services.clock.now = APRIL_2
    while run_batch(services, "district") != "not-claimed":
        services.clock.now += timedelta(seconds=5)  # the retraction waits for the publication
    rows = deliveries(services)
    assert [(r.action, r.state, r.external_ref["package_id"]) for r in rows] == [
        ("publish", "delivered", "district-113703030000000000-2017-03"),
        ("retract", "delivered", "district-113703030000000000-2017-03"),
    ]
    report = verify(tmp_path / "drop" / "district-113703030000000000-2017-03.tar")
    assert report.ok and (report.items, report.retractions) == (1, 1), report.text()
    root = unpack(tmp_path / "drop" / "district-113703030000000000-2017-03.tar", tmp_path / "unpacked")
    assert sorted(p.name for p in (root / "data" / index_no).iterdir()) == [
        "attachments",
        "index.html",
        "metadata.xml",
        "retraction.xml",
    ]
