"""The text of a revision as the checks read it: each piece with where it came from.

Attachments are read by their media type or name: PDF (pdfminer.six), DOCX
(python-docx: paragraphs and table cells), XLSX (openpyxl: each cell, so a finding
names its sheet and cell). Anything else is not read (the checks say nothing of it).
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from dataclasses import dataclass

from lxml import html as lxml_html

from pipeline.model import Attachment, ItemIn


@dataclass(frozen=True)
class Piece:
    where: str  # "title", "body", "attachment 名单.xlsx!Sheet1!B3", "attachment a.pdf line 12"
    text: str
    row: tuple[str, ...] = ()  # a table cell's whole row (names next to numbers)


def pieces(item: ItemIn) -> Iterator[Piece]:
    yield Piece("title", item.title)
    if item.summary:
        yield Piece("summary", item.summary)
    for number, line in enumerate(body_text(item.body_html).splitlines(), 1):
        if line.strip():
            yield Piece(f"body line {number}", line)
    if item.keywords:
        yield Piece("keywords", " ".join(item.keywords))
    for attachment in item.attachments:
        yield from attachment_pieces(attachment)


def body_text(body_html: str) -> str:
    if not body_html.strip():
        return ""
    root = lxml_html.fromstring(body_html)
    for br in root.iter("br", "p", "div", "tr", "li", "h1", "h2", "h3", "h4"):
        br.tail = "\n" + (br.tail or "")
    return str(root.text_content())


def attachment_pieces(attachment: Attachment) -> Iterator[Piece]:
    name, kind = attachment.name, attachment.media_type.lower()
    lower = name.lower()
    data = attachment.content()
    if lower.endswith(".xlsx") or "spreadsheetml" in kind:
        yield from _xlsx(name, data)
    elif lower.endswith(".docx") or "wordprocessingml" in kind:
        yield from _docx(name, data)
    elif lower.endswith(".pdf") or kind == "application/pdf":
        yield from _lines(name, _pdf_text(data))
    elif kind.startswith("text/") or lower.endswith((".txt", ".csv")):
        yield from _lines(name, data.decode("utf-8", "replace"))


def _lines(name: str, text: str) -> Iterator[Piece]:
    for number, line in enumerate(text.splitlines(), 1):
        if line.strip():
            yield Piece(f"attachment {name} line {number}", line)


def _pdf_text(data: bytes) -> str:
    from pdfminer.high_level import extract_text

    return str(extract_text(io.BytesIO(data)))


def _xlsx(name: str, data: bytes) -> Iterator[Piece]:
    from openpyxl import load_workbook

    book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    try:
        for sheet in book.worksheets:
            for cells in sheet.iter_rows():
                row = tuple("" if c.value is None else str(c.value) for c in cells)
                for cell, value in zip(cells, row, strict=True):
                    if value.strip():
                        where = f"attachment {name}!{sheet.title}!{cell.coordinate}"
                        yield Piece(where, value, row)
    finally:
        book.close()


def _docx(name: str, data: bytes) -> Iterator[Piece]:
    import docx

    document = docx.Document(io.BytesIO(data))
    for number, paragraph in enumerate(document.paragraphs, 1):
        if paragraph.text.strip():
            yield Piece(f"attachment {name} paragraph {number}", paragraph.text)
    for t, table in enumerate(document.tables, 1):
        for r, table_row in enumerate(table.rows, 1):
            row = tuple(cell.text for cell in table_row.cells)
            for c, value in enumerate(row, 1):
                if value.strip():
                    yield Piece(f"attachment {name} table {t} row {r} cell {c}", value, row)
