"""What the notice channel's tests share: the sandbox (boards' folders served read-only,
a CUPS print server) with its fake ``lp``, options pointing at it, and reading a notice
PDF back (its text, its fonts, its QR code)."""

from __future__ import annotations

import io
import unicodedata
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from channels.notice import boards
from channels.notice.render import QR_BORDER, QR_SCALE
from channels.notice.sandbox import SandboxServer, start, write_lp
from pipeline.model import Published


@dataclass
class Sandbox:
    server: SandboxServer
    root: Path
    lp: Path

    def options(self, **more: Any) -> dict[str, Any]:
        """A board with a printer (queue ``hall``) and a reading room without one."""
        places = {
            "hall": {
                "kind": "board",
                "label": "政务服务大厅公告栏",
                "folder": str(self.root / "hall"),
                "printer": "hall",
            },
            "room": {"kind": "room", "label": "区图书馆政府信息查阅点", "folder": str(self.root / "room")},
        }
        return {"places": places, "lp_command": str(self.lp), "cups_server": self.server.cups_server, **more}

    def copies(self, item: Published) -> int:
        """Places showing this revision of the item (posted, not withdrawn)."""
        shown = 0
        for place in ("hall", "room"):
            held = boards.record(self.root / place, item.key)
            pdf = boards.pdf_path(self.root / place, item.key)
            shown += (
                held is not None
                and held.state == "posted"
                and held.revision == item.revision
                and pdf.is_file()
            )
        return shown // 2  # one copy of the item across the instance's places: both show it


@contextmanager
def sandbox(tmp_path: Path) -> Iterator[Sandbox]:
    server = start(tmp_path / "boards", queues=("hall",))
    try:
        yield Sandbox(server, tmp_path / "boards", write_lp(tmp_path / "bin"))
    finally:
        server.shutdown()
        server.server_close()


def pdf_text(data: bytes) -> str:
    """The PDF's text without spaces (pypdf spaces CJK glyphs out)."""
    from pypdf import PdfReader

    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)
    return "".join(c for c in text if not c.isspace() and unicodedata.category(c) != "Cc")


def embedded_fonts(data: bytes) -> list[tuple[str, str]]:
    """(BaseFont, the embedded font file's key) of every font used on any page."""
    from pypdf import PdfReader

    found = []
    for page in PdfReader(io.BytesIO(data)).pages:
        for font in page["/Resources"]["/Font"].values():
            font = font.get_object()
            descendant = font["/DescendantFonts"][0].get_object() if "/DescendantFonts" in font else font
            descriptor = descendant["/FontDescriptor"].get_object()
            files = [k for k in ("/FontFile", "/FontFile2", "/FontFile3") if k in descriptor]
            found.append((str(font["/BaseFont"]), files[0] if files else ""))
    return found


def qr_matrix(data: bytes) -> list[list[bool]]:
    """The QR code printed on the notice, read back as its modules (dark = True)."""
    from PIL import Image
    from pypdf import PdfReader

    images = [image for page in PdfReader(io.BytesIO(data)).pages for image in page.images]
    assert len(images) == 1, f"one image (the QR code) expected, found {len(images)}"
    picture = Image.open(io.BytesIO(images[0].data)).convert("L")
    modules = picture.width // QR_SCALE - 2 * QR_BORDER
    half = QR_SCALE // 2
    return [
        [
            picture.getpixel(((QR_BORDER + x) * QR_SCALE + half, (QR_BORDER + y) * QR_SCALE + half)) < 128
            for x in range(modules)
        ]
        for y in range(modules)
    ]


def qr_of(url: str) -> list[list[bool]]:
    """The modules of the QR code of ``url`` as govpub encodes it."""
    import segno

    return [[bool(v) for v in row] for row in segno.make(url, error="m", micro=False).matrix]


def squeezed(text: str) -> str:
    """``text`` as :func:`pdf_text` gives it back (no spaces)."""
    return "".join(text.split())
