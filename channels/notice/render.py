"""The printed notice: an A4 PDF typeset with fpdf2, the CJK font embedded (subset).

A notice carries what a reader in front of the board needs: the agency, the title,
the catalogue fields (索引号, 发布机构, 生成日期, 文号, 主题分类…), the body, the list of
attachments (their files are on the website: the QR code leads there) and a QR code
of the item's page with its address printed beside it. A withdrawal notice (撤回)
replaces the posted one under the same file name, marked as such in its title."""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import datetime
from html.parser import HTMLParser
from typing import Any

from channels.notice.fonts import Font
from pipeline.errors import content_errors
from pipeline.model import Published
from pipeline.sanitize import sanitize_html

BLOCKS = {"p", "div", "br", "li", "h1", "h2", "h3", "h4", "h5", "h6", "tr", "table", "ul", "ol", "blockquote"}
RED = (170, 0, 0)


@dataclass(frozen=True)
class Posting:
    """When a notice is posted (local time): printed in the footer. One PDF serves
    every place of the instance, so the place is not printed (the board knows)."""

    on: datetime


def notice_pdf(item: Published, url: str, font: Font, posting: Posting) -> bytes:
    """The print-ready notice of ``item`` (the page at ``url``)."""
    with content_errors(f"the notice PDF of {item.index_no}"):
        pdf = _document(font, posting, f"{item.title}", item)
        _heading(pdf, item.agency.name, item.title)
        _catalogue(pdf, _fields(item))
        _body(pdf, _paragraphs(sanitize_html(item.body_html)))
        if item.attachments:
            _attachments(pdf, [(a.name, a.size) for a in item.attachments])
        _qr(pdf, url)
        return bytes(pdf.output())


def withdrawal_pdf(item: Published, reason: str, font: Font, posting: Posting) -> bytes:
    """The 撤回 notice that replaces ``item``'s on the board."""
    with content_errors(f"the withdrawal notice of {item.index_no}"):
        pdf = _document(font, posting, f"【撤回】{item.title}", item)
        pdf.set_text_color(*RED)
        pdf.set_font(size=28)
        pdf.cell(0, 16, "撤回公告", align="C", new_x="LMARGIN", new_y="NEXT")
        pdf.set_text_color(0, 0, 0)
        _heading(pdf, item.agency.name, f"【撤回】{item.title}")
        _catalogue(
            pdf, [("索引号", item.index_no), ("发布机构", item.agency.name), ("撤回日期", _day(posting.on))]
        )
        text = f"本处原张贴的《{item.title}》（索引号：{item.index_no}）已撤回，不再公开，"
        text += "请勿依据该公告办理事项。"
        _body(pdf, [text, f"撤回原因：{reason or '未说明'}"])
        return bytes(pdf.output())


def _document(font: Font, posting: Posting, title: str, item: Published) -> Any:
    from fpdf import FPDF

    class Notice(FPDF):
        def footer(self) -> None:
            self.set_y(-14)
            self.set_font(size=9)
            self.set_text_color(90, 90, 90)
            line = f"张贴日期：{_day(posting.on)}　第 {self.page_no()} 页 共 {{nb}} 页"
            self.cell(0, 6, line, align="C")
            self.set_text_color(0, 0, 0)

    pdf = Notice(orientation="P", unit="mm", format="A4")
    pdf.set_margins(22, 20, 22)
    pdf.set_auto_page_break(True, margin=22)
    pdf.add_font("cjk", "", str(font.path), collection_font_number=font.index)
    pdf.set_font("cjk", size=12)
    pdf.set_title(title)
    pdf.set_subject(item.index_no)
    pdf.set_author(item.agency.name)
    pdf.set_creator("govpub")
    pdf.set_lang("zh-CN")
    pdf.set_creation_date(posting.on)
    pdf.add_page()
    return pdf


def _heading(pdf: Any, agency: str, title: str) -> None:
    pdf.set_font(size=14)
    pdf.cell(0, 9, agency, align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(2)
    pdf.set_font(size=20)
    pdf.multi_cell(0, 11, title, align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(4)


def _fields(item: Published) -> list[tuple[str, str]]:
    theme = "／".join(x for x in (item.category, item.subcategory) if x)
    rows = [
        ("索引号", item.index_no),
        ("发布机构", item.agency.name),
        ("生成日期", item.generated_on.isoformat()),
        ("文号", item.doc_no or ""),
        ("主题分类", theme),
        ("体裁分类", item.genre or ""),
        ("有效性", item.validity or ""),
        ("关键词", "、".join(item.keywords)),
    ]
    return [(k, v) for k, v in rows if v]


def _catalogue(pdf: Any, rows: list[tuple[str, str]]) -> None:
    pdf.set_font(size=10.5)
    with pdf.table(col_widths=(22, 78), line_height=6.5, first_row_as_headings=False) as table:
        for key, value in rows:
            table.row((key, value))
    pdf.ln(5)


def _body(pdf: Any, paragraphs: list[str]) -> None:
    pdf.set_font(size=12.5)
    for text in paragraphs:
        pdf.multi_cell(0, 8, "\u3000\u3000" + text, new_x="LMARGIN", new_y="NEXT", wrapmode="CHAR")
        pdf.ln(1.5)


def _attachments(pdf: Any, files: list[tuple[str, int]]) -> None:
    pdf.ln(3)
    pdf.set_font(size=11)
    pdf.cell(0, 7, "附件：", new_x="LMARGIN", new_y="NEXT")
    for n, (name, size) in enumerate(files, 1):
        pdf.multi_cell(
            0,
            7,
            f"\u3000\u3000{n}. {name}（{_size(size)}，扫描二维码在网站下载）",
            new_x="LMARGIN",
            new_y="NEXT",
        )


def _qr(pdf: Any, url: str) -> None:
    """The QR code of the item's page, 32 mm square, at the end of the text."""
    side = 32.0
    if pdf.get_y() + side + 8 > pdf.h - pdf.b_margin:
        pdf.add_page()
    pdf.ln(4)
    top = pdf.get_y()
    pdf.image(io.BytesIO(qr_png(url)), x=pdf.l_margin, y=top, w=side, h=side, title="二维码", alt_text=url)
    pdf.set_xy(pdf.l_margin + side + 4, top + 6)
    pdf.set_font(size=10.5)
    pdf.multi_cell(0, 6, f"扫描二维码查看原文及附件：\n{url}", new_x="LMARGIN", new_y="NEXT")
    pdf.set_y(top + side + 2)


def qr_png(url: str) -> bytes:
    """The QR code (error correction M, 4-module quiet zone, 8 px per module) as PNG."""
    import segno

    out = io.BytesIO()
    segno.make(url, error="m", micro=False).save(out, kind="png", scale=QR_SCALE, border=QR_BORDER)
    return out.getvalue()


QR_SCALE, QR_BORDER = 8, 4


class _Text(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []

    def handle_starttag(self, tag: str, attrs: Any) -> None:
        if tag in BLOCKS:
            self.parts.append("\n")
        elif tag in ("td", "th"):
            self.parts.append("　")

    def handle_endtag(self, tag: str) -> None:
        if tag in BLOCKS:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        self.parts.append(data)


def _paragraphs(html: str) -> list[str]:
    """The body's text, a paragraph per block, whitespace runs folded."""
    parser = _Text()
    parser.feed(html)
    parser.close()
    lines = ("".join(parser.parts)).split("\n")
    return [" ".join(line.split()) for line in lines if line.strip()]


def _day(moment: datetime) -> str:
    return f"{moment.year}年{moment.month}月{moment.day}日"


def _size(size: int) -> str:
    return f"{size / 1024 / 1024:.1f} MB" if size >= 1 << 20 else f"{max(1, round(size / 1024))} KB"
