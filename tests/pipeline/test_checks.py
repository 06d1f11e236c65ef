"""The compliance guard through the running app and its worker: a finding holds the
deliveries of holding channels and warns on the others; an operator's release sends
them, audited; a new revision without the finding goes out and supersedes the held one;
a crashing check keeps the item, held."""

from __future__ import annotations

import base64
import io
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from openpyxl import Workbook
from sqlalchemy import select

from pipeline.checks import lexicon, personal
from pipeline.checks.extract import Piece
from pipeline.config import ChannelConfig, ChecksSettings, Settings
from pipeline.console.tables import audit_log
from pipeline.errors import ConfigError
from pipeline.services import Services
from tests.helpers import make_item, wait_until
from tests.pipeline.console_support import add_user, login, post

SAMPLE = Path(lexicon.__file__).parent / "lexicons" / "sample.toml"
ID_NUMBER = "11010519491231002X"  # valid: a real date and the MOD 11-2 check character


@pytest.fixture
def settings(settings_for: Any, db_url: str) -> Settings:
    checks = ChecksSettings(
        enabled=["personal", "expressions"], lexicons=[str(SAMPLE)], channels={"archive": "warn"}
    )
    channels = {"site": ChannelConfig(kind="memory"), "archive": ChannelConfig(kind="memory")}
    result: Settings = settings_for(database_url=db_url, channels=channels, checks=checks)
    return result


def xlsx(rows: list[list[str]]) -> str:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "名单"
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return base64.b64encode(out.getvalue()).decode()


def attachment(name: str, content_base64: str) -> dict[str, str]:
    media = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    return {"name": name, "media_type": media, "content_base64": content_base64}


def states(api: TestClient, auth: dict[str, str], item_id: str) -> dict[tuple[str, int], str]:
    body = api.get(f"/v1/items/test/{item_id}", headers=auth).json()
    return {(d["channel"], d["revision"]): d["state"] for d in body["deliveries"]}


def settled(api: TestClient, auth: dict[str, str], item_id: str, want: dict[tuple[str, int], str]) -> None:
    wait_until(lambda: states(api, auth, item_id) == want, what=f"states {want}")


def test_an_id_number_in_an_xlsx_holds_the_site_warns_the_archive_and_a_release_sends_it(
    api: TestClient, auth: dict[str, str], services: Services
) -> None:
    table = xlsx([["姓名", "身份证号", "金额"], ["张三", ID_NUMBER, "1200"]])
    item = make_item(1, attachments=[attachment("补贴名单.xlsx", table)])
    assert api.post("/v1/items", json=item, headers=auth).status_code == 202
    settled(api, auth, "t-1", {("site", 1): "held", ("archive", 1): "delivered"})
    body = api.get("/v1/items/test/t-1", headers=auth).json()
    found = {(f["check"], f["severity"], f["where"], f["suggestion"]) for f in body["findings"]}
    assert ("personal", "hold", "attachment 补贴名单.xlsx!名单!B2", "1101**********002X") in found
    assert ("personal", "hold", "attachment 补贴名单.xlsx!名单!B2", "张*") in found
    assert ID_NUMBER not in str(body["findings"])  # the finding never repeats the number
    site = next(d for d in body["deliveries"] if d["channel"] == "site")
    assert site["reason"].startswith("held by checks")

    add_user(services, "op", "operator")
    csrf = login(api, "op")
    page = api.get(f"/console/items/{_item_pk(services)}").text
    assert "检查发现" in page and "1101**********002X" in page and "放行" in page
    refused = post(api, f"/console/deliveries/{site['id']}/release", csrf=csrf, reason="")
    assert refused.status_code == 303 and states(api, auth, "t-1")[("site", 1)] == "held"
    done = post(
        api, f"/console/deliveries/{site['id']}/release", csrf=csrf, reason="样例数据，已核实非真实身份证号"
    )
    assert done.status_code == 303
    settled(api, auth, "t-1", {("site", 1): "delivered", ("archive", 1): "delivered"})
    with services.engine.connect() as conn:
        rows = conn.execute(
            select(audit_log.c.username, audit_log.c.action, audit_log.c.detail, audit_log.c.agency_code)
        ).all()
    released = [r for r in rows if r.action == "release"]
    assert [(r.username, r.detail) for r in released] == [("op", "样例数据，已核实非真实身份证号")]
    assert released[0].agency_code == item["agency"]["code"]
    outcomes = [e["outcome"] for e in services.store.events(site["id"])]
    assert outcomes == ["operator_release", "delivered"]


def test_a_lexicon_hit_is_held_and_the_corrected_revision_goes_out(
    api: TestClient, auth: dict[str, str]
) -> None:
    wrong = make_item(2, body_html="<p>深入学习贯彻习近平新时代特色社会主义思想。</p>")
    assert api.post("/v1/items", json=wrong, headers=auth).status_code == 202
    settled(api, auth, "t-2", {("site", 1): "held", ("archive", 1): "delivered"})
    findings = api.get("/v1/items/test/t-2", headers=auth).json()["findings"]
    assert [(f["check"], f["where"], f["suggestion"]) for f in findings] == [
        ("expressions", "body line 1", "习近平新时代中国特色社会主义思想")
    ]
    assert "《中国共产党章程》" in findings[0]["note"]
    fixed = make_item(2, revision=2, body_html="<p>深入学习贯彻习近平新时代中国特色社会主义思想。</p>")
    assert api.post("/v1/items", json=fixed, headers=auth).status_code == 202
    want = {
        ("site", 1): "skipped",
        ("archive", 1): "delivered",
        ("site", 2): "delivered",
        ("archive", 2): "delivered",
    }
    settled(api, auth, "t-2", want)


def test_a_check_that_crashes_keeps_the_item_held(api: TestClient, auth: dict[str, str]) -> None:
    broken = make_item(
        3, attachments=[attachment("坏文件.xlsx", base64.b64encode(b"not a workbook").decode())]
    )
    assert api.post("/v1/items", json=broken, headers=auth).status_code == 202
    settled(api, auth, "t-3", {("site", 1): "held", ("archive", 1): "delivered"})
    findings = api.get("/v1/items/test/t-3", headers=auth).json()["findings"]
    assert [f["check"] for f in findings] == ["stage"] and "crashed" in findings[0]["found"]


def test_a_clean_item_goes_everywhere_with_no_findings(api: TestClient, auth: dict[str, str]) -> None:
    assert api.post("/v1/items", json=make_item(4), headers=auth).status_code == 202
    settled(api, auth, "t-4", {("site", 1): "delivered", ("archive", 1): "delivered"})
    assert api.get("/v1/items/test/t-4", headers=auth).json()["findings"] == []


def _item_pk(services: Services) -> int:
    from pipeline import db

    with services.engine.connect() as conn:
        return int(conn.execute(select(db.items.c.pk).where(db.items.c.item_id == "t-1")).scalar_one())


@pytest.mark.parametrize(
    ("number", "valid"),
    [
        (ID_NUMBER, True),
        ("110105194912310021", False),
        ("110105194913310020", False),
        ("11010519491231002", False),
    ],
)
def test_id_numbers_need_a_real_birth_date_and_the_check_character(number: str, valid: bool) -> None:
    assert personal.id_number_valid(number) is valid


def test_mobiles_within_longer_numbers_and_cards_failing_luhn_are_not_found() -> None:
    pieces = [
        Piece("body line 1", "电话13812345678，编号9913812345678，卡4111111111111111，卡4111111111111112")
    ]
    found = [f.found for f in personal.check(pieces)]
    assert found == ["手机号码 138****5678", "银行卡号 4111********1111"]


def test_a_lexicon_entry_without_a_wrong_form_is_refused_naming_it(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text('[[entry]]\nright = "国务院办公厅"\n', encoding="utf-8")
    with pytest.raises(ConfigError, match="entry 1"):
        lexicon.load(bad)


def test_numbers_in_a_docx_table_and_a_pdf_are_found_where_they_are(
    api: TestClient, auth: dict[str, str]
) -> None:
    import docx
    from fpdf import FPDF

    document = docx.Document()
    document.add_paragraph("附件：名单")
    table = document.add_table(rows=2, cols=2)
    table.cell(0, 0).text, table.cell(0, 1).text = "姓名", "银行卡号"
    table.cell(1, 0).text, table.cell(1, 1).text = "李四", "4111111111111111"
    docx_bytes = io.BytesIO()
    document.save(docx_bytes)
    pdf = FPDF()
    pdf.add_page()
    pdf.set_font("helvetica", size=12)
    pdf.cell(text="Contact: 13812345678")
    files = [
        {"name": "名单.docx", "media_type": "application/octet-stream",
         "content_base64": base64.b64encode(docx_bytes.getvalue()).decode()},
        {"name": "通知.pdf", "media_type": "application/pdf",
         "content_base64": base64.b64encode(bytes(pdf.output())).decode()},
    ]  # fmt: skip
    assert api.post("/v1/items", json=make_item(5, attachments=files), headers=auth).status_code == 202
    settled(api, auth, "t-5", {("site", 1): "held", ("archive", 1): "delivered"})
    findings = api.get("/v1/items/test/t-5", headers=auth).json()["findings"]
    assert {(f["where"], f["found"]) for f in findings} == {
        ("attachment 名单.docx table 1 row 2 cell 2", "银行卡号 4111********1111"),
        ("attachment 名单.docx table 1 row 2 cell 2", "姓名 李四 与号码同行"),
        ("attachment 通知.pdf line 1", "手机号码 138****5678"),
    }


def test_an_agency_adds_its_own_lexicon_and_overrides_channel_actions(tmp_path: Path) -> None:
    from pipeline.checks.stage import Stage
    from pipeline.config import AgencyChecks
    from pipeline.model import ItemIn

    own = tmp_path / "own.toml"
    own.write_text('[[entry]]\nwrong = "张店区教委"\nright = "张店区教育局"\n', encoding="utf-8")
    item = ItemIn.model_validate({**make_item(6, body_html="<p>张店区教委通知</p>"), "source": "test"})
    code = item.agency.code
    wanted = {"site": True, "archive": True}
    platform_only = Stage(ChecksSettings(enabled=["expressions"], lexicons=[str(SAMPLE)]))
    assert platform_only.run(item, wanted).findings == ()
    with_own = Stage(
        ChecksSettings(enabled=["expressions"], lexicons=[str(SAMPLE)]),
        agencies={code: AgencyChecks(lexicons=[str(own)], channels={"site": "warn"})},
    )
    outcome = with_own.run(item, wanted)
    assert [(f.found, f.suggestion) for f in outcome.findings] == [("张店区教委", "张店区教育局")]
    assert outcome.held == frozenset({"archive"})  # the agency lets its site warn only
    other = item.model_copy(update={"agency": item.agency.model_copy(update={"code": "113703030000000099"})})
    assert with_own.run(other, wanted).findings == ()
