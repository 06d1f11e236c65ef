"""The report as a Word document laid out like the national format.

A4 with the margins of official documents (GB/T 9704), the title in 小标宋 二号,
section heads in 黑体 三号, body in 仿宋 三号 and tables in 宋体 五号 (Word falls back
to what the reader has installed). Tables 二, 三 and 四 carry the form's merged heads;
the monthly chart goes in as a picture in section 二.
"""

from __future__ import annotations

import io
from typing import Any

from docx import Document
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml.ns import qn
from docx.shared import Cm, Pt, RGBColor

from pipeline.report import layout
from pipeline.report.chart import Chart, monthly_chart
from pipeline.report.model import AnnualReport

TITLE_FONT, HEAD_FONT, BODY_FONT, TABLE_FONT = "方正小标宋简体", "黑体", "仿宋_GB2312", "宋体"


def render_docx(report: AnnualReport, chart: Chart | None = None) -> bytes:
    chart = chart or monthly_chart(report)
    doc = Document()
    _page(doc)
    _set_font(doc.styles["Normal"].font, doc.styles["Normal"].element, BODY_FONT, 16)
    props = doc.core_properties
    props.title, props.author = layout.title(report), report.agency_name
    props.created = props.modified = report.generated_at
    c = report.counts

    title = doc.add_paragraph()
    title.alignment = WD_ALIGN_PARAGRAPH.CENTER
    _run(title, layout.title(report), TITLE_FONT, 22)

    _head(doc, "一、总体情况")
    for text in layout.overview(report):
        _body(doc, text)

    _head(doc, "二、主动公开政府信息情况")
    _body(
        doc,
        f"通过政府网站主动公开政府信息{c.totals.portal}条，通过其他渠道公开{c.totals.other}条，"
        f"向档案馆、图书馆报送{c.totals.deposit}条。",
    )
    _grid(doc, layout.table2_grid(report))
    _caption(doc, "政府网站主动公开信息（按主题分类）")
    _rows(
        doc,
        ["主题分类", "子类", "条数"],
        [[cat if not sub else "", sub or "小计", n] for cat, sub, n in layout.category_rows(report)],
    )
    _caption(doc, "各渠道每月公开条数")
    _rows(
        doc,
        ["渠道", *[f"{m}月" for m in range(1, 13)], "合计"],
        [[layout.channel_label(ch), *ch.monthly, ch.items] for ch in c.channels],
    )
    doc.add_picture(io.BytesIO(chart.png), width=Cm(15.5))
    if chart.warning:
        _warning(doc, chart.warning)
    timely = c.timeliness
    _body(
        doc,
        f"政府网站公开的{timely.published}条信息中，自信息形成之日起{timely.limit_workdays}个工作日内公开"
        f"{timely.published - timely.late}条，超过{timely.limit_workdays}个工作日公开{timely.late}条。",
    )
    if timely.late_items:
        _caption(doc, f"超过{timely.limit_workdays}个工作日公开的信息")
        _rows(
            doc,
            ["索引号", "信息名称", "生成日期", "网站公开日期", "工作日"],
            [
                [
                    i.index_no,
                    i.title,
                    str(i.generated_on),
                    str(i.published_on),
                    f"{'≥' if i.at_least else ''}{i.workdays}",
                ]
                for i in timely.late_items
            ],
        )
    if c.retractions.count:
        _body(doc, f"撤回已公开信息{c.retractions.count}条（撤回不改变其已公开的事实，仍计入公开数）。")
        _rows(
            doc,
            ["索引号", "信息名称", "撤回日期", "原因"],
            [
                [i.index_no, i.title, i.retracted_at.strftime("%Y-%m-%d"), i.reason]
                for i in c.retractions.items
            ],
        )
    if c.uninterpreted:
        _warning(
            doc, f"本年公开的规范性文件中，{len(c.uninterpreted)}件没有政策解读（不属于报告正文，供核查）。"
        )
        _rows(
            doc,
            ["索引号", "信息名称", "网站公开日期"],
            [[i.index_no, i.title, str(i.published_on)] for i in c.uninterpreted],
        )

    _head(doc, "三、收到和处理政府信息公开申请情况")
    _grid(doc, layout.table3_grid(report))
    _head(doc, "四、政府信息公开行政复议、行政诉讼情况")
    _grid(doc, layout.table4_grid(report))
    _head(doc, "五、存在的主要问题及改进情况")
    for text in layout.problems(report):
        _body(doc, text)
    _head(doc, "六、其他需要报告的事项")
    for text in layout.other_matters(report):
        _body(doc, text)

    out = io.BytesIO()
    doc.save(out)
    return out.getvalue()


def _page(doc: Any) -> None:
    section = doc.sections[0]
    section.page_height, section.page_width = Cm(29.7), Cm(21.0)
    section.top_margin, section.bottom_margin = Cm(3.7), Cm(3.5)
    section.left_margin, section.right_margin = Cm(2.8), Cm(2.6)


def _set_font(font: Any, element: Any, name: str, size: float) -> None:
    """Latin and East Asian faces both: Word picks the East Asian one for 汉字."""
    font.name, font.size = name, Pt(size)
    element.get_or_add_rPr().get_or_add_rFonts().set(qn("w:eastAsia"), name)


def _run(paragraph: Any, text: str, font: str, size: float, bold: bool = False) -> None:
    run = paragraph.add_run(text)
    run.bold = bold
    _set_font(run.font, run._element, font, size)


def _head(doc: Any, text: str) -> None:
    _run(doc.add_paragraph(), text, HEAD_FONT, 16)


def _body(doc: Any, text: str) -> None:
    paragraph = doc.add_paragraph()
    paragraph.paragraph_format.first_line_indent = Pt(32)
    _run(paragraph, text, BODY_FONT, 16)


def _warning(doc: Any, text: str) -> None:
    """A note for whoever prepares the report, in red, to act on before it goes out."""
    paragraph = doc.add_paragraph()
    _run(paragraph, text, HEAD_FONT, 12, bold=True)
    paragraph.runs[-1].font.color.rgb = RGBColor(0xAA, 0, 0)


def _caption(doc: Any, text: str) -> None:
    paragraph = doc.add_paragraph()
    paragraph.alignment = WD_ALIGN_PARAGRAPH.CENTER
    _run(paragraph, text, HEAD_FONT, 12)


def _fill(cell: Any, value: object, number: bool) -> None:
    paragraph = cell.paragraphs[0]
    paragraph.alignment = WD_ALIGN_PARAGRAPH.CENTER if number else WD_ALIGN_PARAGRAPH.LEFT
    _run(paragraph, str(value), TABLE_FONT, 10.5)


def _table(doc: Any, rows: int, columns: int) -> Any:
    table = doc.add_table(rows=rows, cols=columns)
    table.style = "Table Grid"
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    return table


def _grid(doc: Any, grid: layout.Grid) -> None:
    placed = layout.positions(grid)
    columns = max(c + cell.colspan for _, c, cell in placed)
    table = _table(doc, len(grid), columns)
    # Cells taken once, before any merge: ``table.cell`` rebuilds the whole grid per call.
    cells = [list(row.cells) for row in table.rows]
    for r, c, cell in placed:
        target = cells[r][c]
        if cell.rowspan > 1 or cell.colspan > 1:
            target = target.merge(cells[r + cell.rowspan - 1][c + cell.colspan - 1])
        _fill(target, cell.text, cell.number)


def _rows(doc: Any, heads: list[str], rows: list[list[Any]]) -> None:
    """A plain table, filled row by row (``table.cell`` walks the whole table each call)."""
    table = _table(doc, len(rows) + 1, len(heads))
    for number, (row, values) in enumerate(zip(table.rows, [heads, *rows], strict=True)):
        for cell, value in zip(row.cells, values, strict=True):
            _fill(cell, value, number > 0 and isinstance(value, int))
