"""The report as an Excel workbook: one sheet per table, numbers as numbers, so the
figures can be checked, summed and sent on to whoever collects them upstream."""

from __future__ import annotations

import io
from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Alignment, Border, Font, Side
from openpyxl.utils import get_column_letter

from pipeline.report import layout
from pipeline.report.model import AnnualReport

THIN = Side(style="thin")
BOX = Border(left=THIN, right=THIN, top=THIN, bottom=THIN)


def render_xlsx(report: AnnualReport) -> bytes:
    book = Workbook()
    c = report.counts
    summary = book.active
    summary.title = "总体情况"
    summary.append([layout.title(report)])
    summary["A1"].font = Font(bold=True, size=14)
    for text in layout.overview(report):
        summary.append([text])
    summary.append([])
    summary.append(["政府网站主动公开（条）", c.totals.portal])
    summary.append(["其他渠道公开（条）", c.totals.other])
    summary.append(["向档案馆、图书馆报送（条）", c.totals.deposit])
    summary.append(["超过20个工作日公开（条）", c.timeliness.late])
    summary.append(["撤回（条）", c.retractions.count])
    summary.column_dimensions["A"].width = 40

    _grid(book.create_sheet("二、主动公开"), layout.table2_grid(report))
    _rows(
        book.create_sheet("主题分类"),
        ["主题分类", "子类", "条数"],
        [[cat, sub or "小计", n] for cat, sub, n in layout.category_rows(report)],
    )
    _rows(
        book.create_sheet("各渠道按月"),
        ["渠道", "类型", "作用", *[f"{m}月" for m in range(1, 13)], "合计"],
        [[ch.channel, ch.label, ch.role.label, *ch.monthly, ch.items] for ch in c.channels],
    )
    _rows(
        book.create_sheet("逾期公开"),
        ["索引号", "信息名称", "生成日期", "网站公开日期", "工作日", "至少"],
        [
            [i.index_no, i.title, i.generated_on, i.published_on, i.workdays, i.at_least]
            for i in c.timeliness.late_items
        ],
    )
    _rows(
        book.create_sheet("撤回"),
        ["索引号", "信息名称", "撤回时间", "原因", "首次投递"],
        [
            [i.index_no, i.title, _naive(i.retracted_at), i.reason, _naive(i.first_delivered_at)]
            for i in c.retractions.items
        ],
    )
    _grid(book.create_sheet("三、依申请公开"), layout.table3_grid(report))
    _grid(book.create_sheet("四、复议诉讼"), layout.table4_grid(report))
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _naive(moment: Any) -> Any:
    """Excel has no time zones: local wall time, as the report shows it."""
    return moment.replace(tzinfo=None) if moment is not None else None


def _grid(sheet: Any, grid: layout.Grid) -> None:
    for r, c, cell in layout.positions(grid):
        target = sheet.cell(row=r + 1, column=c + 1, value=cell.text)
        target.alignment = Alignment(
            wrap_text=True, vertical="center", horizontal="center" if cell.number else "left"
        )
        if cell.rowspan > 1 or cell.colspan > 1:
            sheet.merge_cells(
                start_row=r + 1, start_column=c + 1, end_row=r + cell.rowspan, end_column=c + cell.colspan
            )
    for row in sheet.iter_rows():
        for cell in row:
            cell.border = BOX
    for column in range(1, sheet.max_column + 1):
        sheet.column_dimensions[get_column_letter(column)].width = 14


def _rows(sheet: Any, heads: list[str], rows: list[list[Any]]) -> None:
    sheet.append(heads)
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for row in rows:
        sheet.append(row)
    sheet.freeze_panes = "A2"
    for column in range(1, len(heads) + 1):
        sheet.column_dimensions[get_column_letter(column)].width = 16
