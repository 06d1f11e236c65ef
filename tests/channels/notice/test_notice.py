"""The notice channel against its sandbox, one behaviour a test: what the PDF says (read
back with pypdf: title, 索引号, catalogue, attachments, the QR code decoded into its
modules), that its font is embedded, the files per board and the board's read-only
view, print jobs on the sandbox's CUPS queue (offline: transient; rejecting: permanent;
a lost answer: in doubt, never printed twice), the 撤回 notice, an agency's own board,
the font and lp settings refused at start-up naming the key, and the weekly bundle."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from pypdf import PdfReader

from channels.notice import boards
from channels.notice.bundle import bundle
from channels.notice.channel import NoticeChannel
from channels.testing import ContractSetup, accept_item, installation
from pipeline import agencies
from pipeline.config import AgencyConfig
from pipeline.errors import ConfigError, InDoubt, PermanentError, TransientError
from pipeline.model import Published
from pipeline.urls import item_url
from tests.channels.notice.support import (
    Sandbox,
    embedded_fonts,
    pdf_text,
    qr_matrix,
    qr_of,
    sandbox,
    squeezed,
)
from tests.helpers import ensure_agency

ATTACHMENT = {"name": "实施方案.pdf", "media_type": "application/pdf", "content_base64": "JVBERi0xLjQK"}


@dataclass
class Setup:
    box: Sandbox
    contract: ContractSetup

    @property
    def channel(self) -> NoticeChannel:
        return self.contract.channel  # type: ignore[return-value]

    def item(self, n: int, **changes: Any) -> Published:
        return self.contract.item(n, **changes)

    def url(self, item: Published) -> str:
        services = self.contract.services
        return item_url(services.settings, item, agencies=services.registry)

    def served(self, place: str, item: Published) -> bytes:
        answer = httpx.get(f"{self.box.server.url}/boards/{place}/{item.key}.pdf")
        assert answer.status_code == 200 and answer.headers["content-type"] == "application/pdf"
        return answer.content

    def queue(self, state: str) -> None:
        answer = httpx.post(f"{self.box.server.url}/sandbox/printers/hall", json={"state": state})
        assert answer.status_code == 200

    def jobs(self) -> list[dict[str, Any]]:
        return list(httpx.get(f"{self.box.server.url}/printers/hall/jobs").json())


@pytest.fixture
def setup(tmp_path: Path) -> Iterator[Setup]:
    with (
        sandbox(tmp_path) as box,
        installation(tmp_path, {"notices": {"kind": "notice", "options": box.options()}}) as services,
    ):
        yield Setup(
            box,
            ContractSetup(
                channel=services.channel("notices"),
                services=services,
                item=lambda n, **c: accept_item(services, n, **c),
                copies=box.copies,
            ),
        )


def test_the_notice_says_what_the_item_is_and_leads_to_its_page(setup: Setup) -> None:
    item = setup.item(
        1,
        doc_no="张教发〔2026〕7号",
        keywords=["招生", "入学"],
        attachments=[ATTACHMENT],
        body_html="<p>第一段正文。</p><p>第二段正文。</p>",
    )
    setup.contract.publish(item)
    pdf = setup.served("hall", item)
    text = pdf_text(pdf)
    for expected in (
        item.title,
        item.index_no,
        "张店区教育局",
        "2026-03-02",
        "张教发〔2026〕7号",
        "政策法规／招生考试",
        "招生、入学",
        "第一段正文。",
        "第二段正文。",
        "实施方案.pdf",
        setup.url(item),
    ):
        assert squeezed(expected) in text, expected
    assert qr_matrix(pdf) == qr_of(setup.url(item)), "the QR code is the item's page"
    page = PdfReader(__import__("io").BytesIO(pdf)).pages[0]
    assert (round(float(page.mediabox.width)), round(float(page.mediabox.height))) == (595, 842)  # A4


def test_the_chinese_font_is_embedded(setup: Setup) -> None:
    item = setup.item(2)
    setup.contract.publish(item)
    fonts = embedded_fonts(setup.served("room", item))
    assert fonts and all(file in ("/FontFile2", "/FontFile3") for _, file in fonts), fonts
    assert all("+" in base for base, _ in fonts), f"subset fonts (ABCDEF+Name) expected: {fonts}"


def test_each_place_gets_the_file_and_the_board_shows_it_read_only(setup: Setup) -> None:
    item = setup.item(3)
    ref = setup.contract.publish(item)
    hall, room = (boards.pdf_path(setup.box.root / p, item.key) for p in ("hall", "room"))
    assert hall.read_bytes() == room.read_bytes() == setup.served("room", item)
    assert ref["places"] == ["hall", "room"] and ref["file"] == f"{item.key}.pdf"
    view = httpx.get(f"{setup.box.server.url}/boards/hall/").text
    assert item.title in view and item.index_no in view and "张贴中" in view
    for method in ("PUT", "DELETE", "POST"):
        refused = httpx.request(method, f"{setup.box.server.url}/boards/hall/{item.key}.pdf", content=b"x")
        assert refused.status_code == 405
    assert hall.read_bytes() == room.read_bytes()
    assert [p.name for p in hall.parent.iterdir() if not p.name.startswith(".")] == [hall.name]


def test_a_board_with_a_printer_gets_one_print_job_per_delivery(setup: Setup) -> None:
    item = setup.item(4)
    ctx = setup.contract.ctx()
    ref = setup.contract.publish(item, ctx)
    again = setup.contract.publish(item, setup.contract.ctx(ctx.delivery_id, attempt=2))
    [job] = setup.jobs()
    assert ref == again and ref["print_jobs"] == {"hall": job["id"]}
    file = boards.pdf_path(setup.box.root / "hall", item.key)
    assert job["sha256"] == hashlib.sha256(file.read_bytes()).hexdigest() and job["pdf"]
    assert item.index_no in job["title"] and "media=A4" in job["options"]


def test_an_offline_print_server_is_transient_and_the_retry_prints_once(setup: Setup) -> None:
    item = setup.item(5)
    ctx = setup.contract.ctx()
    setup.queue("offline")
    with pytest.raises(TransientError, match="scheduler not responding"):
        setup.contract.publish(item, ctx)
    assert setup.jobs() == []
    setup.queue("idle")
    ref = setup.contract.publish(item, setup.contract.ctx(ctx.delivery_id, attempt=2))
    assert [j["id"] for j in setup.jobs()] == [ref["print_jobs"]["hall"]]


def test_a_queue_that_rejects_jobs_is_permanent_naming_it(setup: Setup) -> None:
    setup.queue("reject")
    with pytest.raises(PermanentError, match=r'"hall" is not accepting jobs.*cupsaccept'):
        setup.contract.publish(setup.item(6))
    assert setup.jobs() == []


def test_a_print_job_whose_answer_was_lost_is_in_doubt_not_printed_again(setup: Setup) -> None:
    item = setup.item(7)
    ctx = setup.contract.ctx()
    ctx.checkpoint(printing=f"hall:r{item.revision}:posted")  # a worker died while lp ran
    with pytest.raises(InDoubt, match="lpstat -o hall"):
        setup.contract.publish(item, setup.contract.ctx(ctx.delivery_id, attempt=2))
    assert setup.jobs() == []


def test_a_retraction_replaces_the_notice_with_a_withdrawal_notice(setup: Setup) -> None:
    item = setup.item(8)
    ref = setup.contract.publish(item)
    setup.contract.retracted(item, "内容有误")
    answer = setup.channel.retract(item, ref, "内容有误", setup.contract.ctx())
    assert answer is not None and answer["withdrawn"] and answer["file"] == ref["file"]
    text = pdf_text(setup.served("room", item))
    assert (
        "撤回公告" in text
        and squeezed(f"【撤回】{item.title}") in text
        and item.index_no in text
        and "内容有误" in text
    )
    assert "张贴中" not in httpx.get(f"{setup.box.server.url}/boards/room/").text
    held = boards.record(setup.box.root / "room", item.key)
    assert held is not None and [h[2] for h in held.history] == ["posted", "withdrawn"]
    assert [j["title"].split()[0] for j in setup.jobs()] == [item.index_no, "撤回"]  # printed to replace it


def test_a_newer_revision_replaces_the_file(setup: Setup) -> None:
    item = setup.item(9)
    ref = setup.contract.publish(item)
    newer = item.model_copy(update={"revision": 2, "title": item.title + "（修订）"})
    setup.channel.update(newer, ref, setup.contract.ctx())
    assert squeezed(f"{item.title}（修订）") in pdf_text(setup.served("hall", item))
    held = boards.record(setup.box.root / "hall", item.key)
    assert held is not None and held.revision == 2 and len(held.history) == 2


def test_the_weekly_bundle_of_a_reading_room(setup: Setup) -> None:
    tz = ZoneInfo(setup.contract.services.settings.timezone)
    first, second = setup.item(10), setup.item(11)
    for item, day in ((first, 23), (second, 25)):
        ctx = setup.contract.ctx()
        ctx.now = datetime(2026, 11, day, 2, tzinfo=UTC)  # 2026-W48
        setup.contract.publish(item, ctx)
    path, notices = bundle(setup.box.root / "room", "2026-W48", tz)
    assert [n.index_no for n in notices] == [first.index_no, second.index_no]
    text = pdf_text(path.read_bytes())
    assert text.index(squeezed(first.title)) < text.index(squeezed(second.title))
    assert path == setup.box.root / "room" / "bundles" / "2026-W48.pdf"
    assert bundle(setup.box.root / "room", "2026-W47", tz)[1] == []
    with pytest.raises(ValueError, match="2026-W48"):
        bundle(setup.box.root / "room", "2026-48", tz)


def test_font_and_lp_are_checked_at_start_up_naming_the_setting(setup: Setup, tmp_path: Path) -> None:
    options = setup.box.options()
    for font, words in (
        (tmp_path / "missing.ttf", "no such font file"),
        (Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"), "no Chinese glyphs"),
    ):
        if not font.exists() and "missing" not in font.name:
            continue  # DejaVu is not installed here
        with pytest.raises(ConfigError, match=words) as refused:
            NoticeChannel.check_options("notices", {**options, "font": str(font)})
        assert refused.value.key == "channels.notices.options.font"
    with pytest.raises(ConfigError) as refused:
        NoticeChannel.check_options("notices", {**options, "lp_command": str(tmp_path / "no-lp")})
    assert refused.value.key == "channels.notices.options.lp_command"
    with pytest.raises(ConfigError) as refused:
        NoticeChannel.check_options(
            "notices", {**options, "places": {"Hall Board": options["places"]["hall"]}}
        )
    assert "places" in refused.value.key


def test_lp_gone_after_start_up_is_permanent_naming_lp_command(tmp_path: Path) -> None:
    with sandbox(tmp_path) as box:
        options = box.options(lp_command=str(tmp_path / "gone" / "lp"))
        with installation(tmp_path, {"notices": {"kind": "notice", "options": options}}) as services:
            with pytest.raises(PermanentError, match="lp_command"):
                services.channel("notices").publish(
                    accept_item(services, 1),
                    ContractSetup(
                        channel=services.channel("notices"),
                        services=services,
                        item=lambda n: None,
                        copies=lambda i: None,  # type: ignore[arg-type]
                    ).ctx(),
                )
            assert not services.channel("notices").health().ok


def test_an_agency_with_a_board_of_its_own(tmp_path: Path) -> None:
    a, b = "113703030000000000", "113703030000000099"
    with sandbox(tmp_path) as box:
        own = {"kind": "board", "label": "卫健局公告栏", "folder": str(box.root / "wjj")}
        declared = {b: AgencyConfig(channels={"notices": {"places": {"wjj": own}}})}
        channels = {"notices": {"kind": "notice", "options": box.options()}}
        with installation(tmp_path, channels, agencies=declared) as services:
            ensure_agency(services.engine, agencies.Agency(a, "张店区教育局", path="jyj"))
            ensure_agency(services.engine, agencies.Agency(b, "张店区卫健局", path="wjj"))
            setup = ContractSetup(services.channel("notices"), services, lambda n: None, box.copies)  # type: ignore[arg-type]
            mine = accept_item(services, 1, agency={"code": a, "name": "张店区教育局"})
            theirs = accept_item(services, 2, agency={"code": b, "name": "张店区卫健局"})
            assert setup.publish(mine)["places"] == ["hall", "room"]
            assert setup.publish(theirs)["places"] == ["hall", "room", "wjj"]
            assert [p.name for p in (box.root / "wjj").glob("*.pdf")] == [f"{theirs.key}.pdf"]
            assert "张店区卫健局" in pdf_text((box.root / "wjj" / f"{theirs.key}.pdf").read_bytes())
