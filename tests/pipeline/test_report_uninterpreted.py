"""The report lists this year's 规范性文件 that no 政策解读 interprets, in every output."""

from __future__ import annotations

import io
from pathlib import Path

from docx import Document
from sqlalchemy import insert

from pipeline import db
from pipeline.config import Settings
from pipeline.db import make_engine
from pipeline.report import build_report
from pipeline.report.output import render
from pipeline.schema import upgrade
from tests.helpers import TEST_AGENCY, TEST_AGENCY_NAME, register_agencies
from tests.pipeline.report_support import AGENCY, CHANNELS, LogWriter, local


def test_documents_without_an_interpretation_are_listed(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'govpub.db'}"
    engine = make_engine(url)
    upgrade(engine)
    register_agencies(engine, {TEST_AGENCY: TEST_AGENCY_NAME})
    w = LogWriter(engine)
    alone = w.item(genre="规范性文件", title="无解读的规定", formed=local(2017, 3, 1).date())
    paired = w.item(genre="行政规范性文件", title="有解读的规定", formed=local(2017, 3, 2).date())
    reading = w.item(title="有解读的规定》解读", formed=local(2017, 3, 2).date())
    dropped = w.item(genre="规范性文件", title="解读已撤回的规定", formed=local(2017, 4, 1).date())
    withdrawn_reading = w.item(title="撤回的解读", formed=local(2017, 4, 1).date())
    last_year = w.item(genre="规范性文件", title="去年的规定", formed=local(2016, 5, 1).date())
    notice = w.item(genre="通知", title="一则通知", formed=local(2017, 5, 1).date())
    for pk, day in ((alone, 3), (paired, 4), (reading, 5), (dropped, 6), (withdrawn_reading, 7), (notice, 8)):
        w.deliver(pk, "site", local(2017, 5, day, 10))
    w.deliver(last_year, "site", local(2016, 5, 2, 10))
    w.retract(withdrawn_reading, local(2017, 6, 1), "有误")
    revision_pk = {r["item_pk"]: r["pk"] for r in w.rows["revisions"]}
    w.write()
    with engine.begin() as conn:
        conn.execute(
            insert(db.interpretations),
            [
                {"revision_pk": revision_pk[reading], "policy_pk": paired, "interpretation_pk": reading},
                {
                    "revision_pk": revision_pk[withdrawn_reading],
                    "policy_pk": dropped,
                    "interpretation_pk": withdrawn_reading,
                },
            ],
        )
    report = build_report(engine, Settings(database_url=url, channels=CHANNELS), 2017, agency=AGENCY)
    engine.dispose()

    listed = [(u.title, str(u.published_on)) for u in report.counts.uninterpreted]
    assert listed == [("无解读的规定", "2017-05-03"), ("解读已撤回的规定", "2017-05-06")]
    assert any("没有政策解读" in warning for warning in report.warnings)
    assert report.to_json()["counts"]["uninterpreted"][0]["title"] == "无解读的规定"
    for fmt in ("html", "md", "text"):
        text = render(report, fmt).decode("utf-8")
        assert "没有政策解读" in text and "解读已撤回的规定" in text, fmt
    words = "\n".join(
        cell.text
        for table in Document(io.BytesIO(render(report, "docx"))).tables
        for row in table.rows
        for cell in row.cells
    )
    assert "无解读的规定" in words and "解读已撤回的规定" in words
