"""The text of a revision as the checks read it: each piece with where it came from,
joined once into a :class:`Corpus` that every check scans in one pass.

Attachments are read by their media type or name: PDF (pdfminer.six), DOCX
(python-docx: paragraphs and table cells), XLSX (openpyxl: each cell, so a finding
names its sheet and cell). Anything else is not read (the checks say nothing of it).
What an attachment yields is kept by its SHA-256 (:class:`_Extracted`): a resubmission
or a new revision with the same files is not read again.
"""

from __future__ import annotations

import bisect
import hashlib
import io
import re
import threading
from collections import OrderedDict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from lxml import html as lxml_html
from lxml.html import HtmlElement

from pipeline.model import Attachment, ItemIn

# what str.splitlines breaks lines at: a finding's line number counts these
LINE_BREAK = re.compile("\r\n|[\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029]")


@dataclass(frozen=True)
class Piece:
    where: str  # "title", "body", "attachment 名单.xlsx!Sheet1!B3", "attachment a.pdf"
    text: str
    row: tuple[str, ...] = ()  # a table cell's whole row (names next to numbers)
    lined: bool = False  # a finding adds its line to ``where``: "body line 12"


class Corpus:
    """The pieces joined into one text (NUL between them), so each check scans every
    piece of a revision in one pass; an offset in it is named by its piece and line.
    Lines are only counted for a piece where something was found."""

    def __init__(self, pieces: Iterable[Piece]) -> None:
        self.pieces = list(pieces)
        self.starts: list[int] = []
        offset = 0
        for piece in self.pieces:
            self.starts.append(offset)
            offset += len(piece.text) + 1
        self.text = "\x00".join(piece.text for piece in self.pieces)
        self._breaks: dict[int, list[int]] = {}

    def locate(self, offset: int) -> tuple[int, str]:
        """(index of the piece, where) of the character at ``offset``."""
        index = bisect.bisect_right(self.starts, offset) - 1
        piece = self.pieces[index]
        if not piece.lined:
            return index, piece.where
        breaks = self._breaks.get(index)
        if breaks is None:
            breaks = self._breaks[index] = [m.end() for m in LINE_BREAK.finditer(piece.text)]
        line = bisect.bisect_right(breaks, offset - self.starts[index]) + 1
        return index, f"{piece.where} line {line}"


def corpus(texts: Corpus | Iterable[Piece]) -> Corpus:
    return texts if isinstance(texts, Corpus) else Corpus(texts)


def parse_body(body_html: str) -> HtmlElement | None:
    """The body's tree, parsed once for its text and its links."""
    return lxml_html.fromstring(body_html) if body_html.strip() else None


def pieces(item: ItemIn, body: HtmlElement | None = None) -> Iterator[Piece]:
    yield Piece("title", item.title)
    if item.summary:
        yield Piece("summary", item.summary)
    text = body_text(body if body is not None else parse_body(item.body_html))
    if text.strip():
        yield Piece("body", text, lined=True)
    if item.keywords:
        yield Piece("keywords", " ".join(item.keywords))
    for attachment in item.attachments:
        yield from attachment_pieces(attachment)


def body_text(root: HtmlElement | None) -> str:
    """The body's text, a line per paragraph, row, item or break (the tree is changed:
    parse it for this)."""
    if root is None:
        return ""
    for br in root.iter("br", "p", "div", "tr", "li", "h1", "h2", "h3", "h4"):
        br.tail = "\n" + (br.tail or "")
    return str(root.text_content())


class _Extracted:
    """Attachments' pieces by (SHA-256, name, media type), the most recent first, up to
    ``max_chars`` of text in all (a file's text is kept only if it fits)."""

    def __init__(self, max_chars: int = 16_000_000) -> None:
        self.max_chars = max_chars
        self.kept: OrderedDict[tuple[str, str, str], tuple[Piece, ...]] = OrderedDict()
        self.chars = 0
        self.lock = threading.Lock()

    def get(self, key: tuple[str, str, str]) -> tuple[Piece, ...] | None:
        with self.lock:
            found = self.kept.get(key)
            if found is not None:
                self.kept.move_to_end(key)
            return found

    def put(self, key: tuple[str, str, str], found: tuple[Piece, ...]) -> None:
        size = sum(len(p.text) for p in found)
        if size > self.max_chars:
            return
        with self.lock:
            if key in self.kept:
                return
            self.kept[key] = found
            self.chars += size
            while self.chars > self.max_chars:
                _, dropped = self.kept.popitem(last=False)
                self.chars -= sum(len(p.text) for p in dropped)


EXTRACTED = _Extracted()


def attachment_pieces(attachment: Attachment) -> tuple[Piece, ...]:
    data = attachment.content()
    key = (hashlib.sha256(data).hexdigest(), attachment.name, attachment.media_type.lower())
    found = EXTRACTED.get(key)
    if found is None:
        found = tuple(_read(attachment.name, key[2], data))
        EXTRACTED.put(key, found)
    return found


def _read(name: str, kind: str, data: bytes) -> Iterator[Piece]:
    lower = name.lower()
    if lower.endswith(".xlsx") or "spreadsheetml" in kind:
        yield from _xlsx(name, data)
    elif lower.endswith(".docx") or "wordprocessingml" in kind:
        yield from _docx(name, data)
    elif lower.endswith(".pdf") or kind == "application/pdf":
        yield Piece(f"attachment {name}", _pdf_text(data), lined=True)
    elif kind.startswith("text/") or lower.endswith((".txt", ".csv")):
        yield Piece(f"attachment {name}", data.decode("utf-8", "replace"), lined=True)


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
