"""The platform summary as an Excel workbook: one row per agency, numbers as numbers,
the total last, so the district office can sort, filter and send it on."""

from __future__ import annotations

import io

from openpyxl import Workbook
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

from pipeline.report.summary import AgencyRow, Summary


def render_summary_xlsx(summary: Summary) -> bytes:
    book = Workbook()
    sheet = book.active
    sheet.title = f"{summary.year}年平台汇总"
    sheet.append([summary.label(c) for c in summary.columns])
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for row in summary.rows:
        sheet.append(_cells(summary, row, "已发布" if row.published else "未发布"))
    published = sum(1 for r in summary.rows if r.published)
    sheet.append(_cells(summary, summary.total, f"{published}/{len(summary.rows)} 已发布"))
    for cell in sheet[sheet.max_row]:
        cell.font = Font(bold=True)
    sheet.freeze_panes = "C2"
    sheet.auto_filter.ref = f"A1:{get_column_letter(len(summary.columns))}{len(summary.rows) + 1}"
    for column in range(1, len(summary.columns) + 1):
        sheet.column_dimensions[get_column_letter(column)].width = 24 if column <= 2 else 14
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _cells(summary: Summary, row: AgencyRow, published: str) -> list[object]:
    return [row.code, row.name, *(row.items.get(k, 0) for k in summary.kinds), row.late, published]
