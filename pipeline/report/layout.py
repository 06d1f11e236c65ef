"""The report laid out as the national form: sections, blocks and rows of plain
values, shared by every renderer so that text, Markdown, HTML, Word and Excel
show the same rows in the same order with the same labels."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from pipeline.report import labels as L
from pipeline.report.figures import COLUMNS, full_row, results_total, table3_lines, table4_numbers
from pipeline.report.model import AnnualReport, ChannelCount
from pipeline.report.scope import Role

Cell = str | int


@dataclass
class Block:
    """One block of table 二: its heading (第二十条第…项), column heads and rows."""

    heading: str
    columns: list[str]
    rows: list[list[Cell]]


def title(report: AnnualReport) -> str:
    return f"{report.agency_name}{report.year}年政府信息公开工作年度报告"


def table2(report: AnnualReport) -> list[Block]:
    documents = Block(
        "第二十条第（一）项",
        ["信息内容", *L.TABLE2_DOCUMENT_COLUMNS],
        [[row.label, row.issued, row.repealed, row.in_force] for row in report.counts.documents],
    )
    t2 = report.figures.table2
    blocks = [documents]
    for heading, column, rows in L.TABLE2_DECISION_BLOCKS:
        blocks.append(
            Block(heading, ["信息内容", column], [[label, getattr(t2, key)] for key, label in rows])
        )
    heading, column, _, label = L.TABLE2_FEES
    blocks.append(Block(heading, ["信息内容", column], [[label, fee(t2.fees)]]))
    return blocks


def fee(amount: Decimal) -> str:
    """万元 as written in reports: no trailing zeros, at most four decimals."""
    text = f"{amount.quantize(Decimal('0.0001')):f}".rstrip("0").rstrip(".")
    return text or "0"


def table3_columns() -> list[str]:
    return list(COLUMNS)


def table3(report: AnnualReport) -> list[tuple[str, int, list[int] | None]]:
    """(label, indent, seven numbers or None) in the form's order."""
    return table3_lines(report.figures)


def table4(report: AnnualReport) -> tuple[list[str], list[str], list[int]]:
    """(block heads, the five column heads of each block, fifteen numbers)."""
    columns = [label for _, label in L.TABLE4_COLUMNS] + [L.TABLE4_TOTAL_COLUMN]
    return [label for _, label in L.TABLE4_BLOCKS], columns, table4_numbers(report.figures)


def category_rows(report: AnnualReport) -> list[tuple[str, str, int]]:
    """(主题分类, 子类 or '', items), each category's total row before its sub-classes."""
    rows: list[tuple[str, str, int]] = []
    for category, total in report.category_totals():
        rows.append((category, "", total))
        rows += [
            (category, row.subcategory or "（未分子类）", row.items)
            for row in report.counts.categories
            if row.category == category
        ]
    return rows


def category_text_rows(report: AnnualReport) -> list[list[Cell]]:
    """Categories with their sub-classes indented under them (for plain text)."""
    return [[f"  {sub}" if sub else category, n] for category, sub, n in category_rows(report)]


def channel_rows(report: AnnualReport, role: Role) -> list[list[Cell]]:
    return [[channel_label(c), c.items] for c in report.channels_of(role)]


def month_heads() -> list[Cell]:
    return [f"{m}月" for m in range(1, 13)]


def monthly_rows(report: AnnualReport) -> list[list[Cell]]:
    return [[c.channel, *c.monthly, c.items] for c in report.counts.channels]


def table3_text_rows(report: AnnualReport) -> list[list[Cell]]:
    return [["  " * level + label, *(numbers or [])] for label, level, numbers in table3(report)]


def table4_text_rows(report: AnnualReport) -> list[list[Cell]]:
    heads, columns, numbers = table4(report)
    rows: list[list[Cell]] = []
    for i, head in enumerate(heads):
        rows += [[head, *columns], ["", *numbers[i * 5 : i * 5 + 5]]]
    return rows


def channel_label(count: ChannelCount) -> str:
    """The kind's label and the instance (a kind no longer installed: the instance's name)."""
    return f"{count.label}（{count.channel}）" if count.label != count.kind else count.channel


def problems(report: AnnualReport) -> list[str]:
    """Section 五: the operator's text, then what the log shows needs improving."""
    found = [report.figures.report.problems] if report.figures.report.problems.strip() else []
    timely = report.counts.timeliness
    if timely.late:
        found.append(
            f"{timely.late}条信息自形成之日起超过{timely.limit_workdays}个工作日才在政府网站公开"
            f"（最长{timely.max_workdays}个工作日），须加快审核发布。"
        )
    dead = sum(o.events for o in report.counts.log if o.outcome == "dead")
    retries = sum(o.events for o in report.counts.log if o.outcome == "retry")
    if dead or retries:
        found.append(f"全年投递重试{retries}次，失败待人工处理{dead}次。")
    return found or ["无。"]


def overview(report: AnnualReport) -> list[str]:
    text = report.figures.report.overview.strip()
    return [*([text] if text else []), report.narrative]


def other_matters(report: AnnualReport) -> list[str]:
    text = report.figures.report.other.strip()
    return [text] if text else ["无。"]


# -- the tables as grids with merged cells (HTML, Word, Excel) ---------------------
@dataclass
class GridCell:
    text: Cell
    rowspan: int = 1
    colspan: int = 1
    head: bool = True

    @property
    def number(self) -> bool:
        return not self.head


Grid = list[list[GridCell]]


def _numbers(values: list[int] | list[Cell]) -> list[GridCell]:
    return [GridCell(v, head=False) for v in values]


def table2_grid(report: AnnualReport) -> Grid:
    """Four columns; each block: its heading across, its heads, its rows."""
    grid: Grid = []
    for block in table2(report):
        grid.append([GridCell(block.heading, colspan=4)])
        wide = len(block.columns) == 2
        grid.append([GridCell(c, colspan=3 if wide and i == 1 else 1) for i, c in enumerate(block.columns)])
        for row in block.rows:
            values = [GridCell(row[1], colspan=3, head=False)] if wide else _numbers(row[1:])
            grid.append([GridCell(row[0]), *values])
    return grid


def table3_grid(report: AnnualReport) -> Grid:
    """Three label columns and seven numbers, headed and merged as the form is."""
    t3: Any = report.figures.table3
    grid: Grid = [
        [GridCell(L.TABLE3_CHECK_NOTE, rowspan=3, colspan=3), GridCell("申请人情况", colspan=7)],
        [
            GridCell(COLUMNS[0], rowspan=2),
            GridCell(L.TABLE3_ORGANISATIONS, colspan=5),
            GridCell(COLUMNS[6], rowspan=2),
        ],
        [GridCell(c) for c in COLUMNS[1:6]],
        [GridCell(L.TABLE3_NEW[1], colspan=3), *_numbers(full_row(t3.new))],
        [GridCell(L.TABLE3_CARRIED_OVER[1], colspan=3), *_numbers(full_row(t3.carried_over))],
    ]
    results: Grid = []
    for key, label, reasons in L.TABLE3_RESULT_ROWS:
        value = getattr(t3, key)
        if not reasons:
            results.append([GridCell(label, colspan=2), *_numbers(full_row(value))])
        for i, (reason_key, reason) in enumerate(reasons):
            lead = [GridCell(label, rowspan=len(reasons))] if i == 0 else []
            results.append([*lead, GridCell(reason), *_numbers(full_row(getattr(value, reason_key)))])
    results.append([GridCell(L.TABLE3_RESULT_TOTAL[1], colspan=2), *_numbers(results_total(t3))])
    results[0].insert(0, GridCell(L.TABLE3_RESULTS, rowspan=len(results)))
    grid += results
    grid.append([GridCell(L.TABLE3_CARRIED_FORWARD[1], colspan=3), *_numbers(full_row(t3.carried_forward))])
    return grid


def table4_grid(report: AnnualReport) -> Grid:
    heads, columns, numbers = table4(report)
    return [
        [GridCell(heads[0], colspan=5), GridCell("行政诉讼", colspan=10)],
        [
            *[GridCell(c, rowspan=2) for c in columns],
            *[GridCell(h.removeprefix("行政诉讼："), colspan=5) for h in heads[1:]],
        ],
        [GridCell(c) for _ in heads[1:] for c in columns],
        _numbers(numbers),
    ]


def positions(grid: Grid) -> list[tuple[int, int, GridCell]]:
    """(row, column, cell) of every cell, skipping places covered by earlier spans,
    as a browser lays out ``rowspan``/``colspan``; Word and Excel merge from these."""
    taken: set[tuple[int, int]] = set()
    placed = []
    for r, row in enumerate(grid):
        c = 0
        for cell in row:
            while (r, c) in taken:
                c += 1
            placed.append((r, c, cell))
            taken.update((r + dr, c + dc) for dr in range(cell.rowspan) for dc in range(cell.colspan))
            c += cell.colspan
    return placed
