"""Images in the shapes WeChat accepts, made with Pillow.

``media/uploadimg`` takes JPG/PNG under 1 MB; a ``thumb`` cover must be a JPG of at
most 64 KB. When an item has no cover and no default cover is configured, a cover
is drawn from the title (a CJK font is needed for the characters: ``cover_font`` or
one of the usual system fonts; without one the cover carries only its colours).
"""

from __future__ import annotations

import hashlib
import io
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont, UnidentifiedImageError

UPLOAD_LIMIT = 1024 * 1024
THUMB_LIMIT = 64 * 1024
COVER_SIZE = (900, 383)  # WeChat's 2.35:1 cover
CJK_FONTS = (
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/noto-cjk/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
    "/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf",
)


class NotAnImage(ValueError):
    """Bytes Pillow cannot read as an image."""


def _open(data: bytes) -> Image.Image:
    try:
        image = Image.open(io.BytesIO(data))
        image.load()
    except (UnidentifiedImageError, OSError) as exc:
        raise NotAnImage(str(exc)) from exc
    return image


def _jpeg_within(image: Image.Image, limit: int, max_side: int) -> bytes:
    """Re-encode as JPEG, shrinking quality and then size until it fits ``limit``."""
    image = image.convert("RGB")
    image.thumbnail((max_side, max_side))
    while True:
        for quality in (85, 70, 55, 40):
            out = io.BytesIO()
            image.save(out, "JPEG", quality=quality, optimize=True)
            if out.tell() <= limit:
                return out.getvalue()
        image = image.resize((max(1, image.width * 3 // 4), max(1, image.height * 3 // 4)))


def for_upload(data: bytes) -> tuple[bytes, str, str]:
    """(bytes, MIME type, file extension) acceptable to ``media/uploadimg``."""
    image = _open(data)
    if image.format in ("PNG", "JPEG") and len(data) < UPLOAD_LIMIT:
        return (data, "image/png", "png") if image.format == "PNG" else (data, "image/jpeg", "jpg")
    return _jpeg_within(image, UPLOAD_LIMIT - 1, 2000), "image/jpeg", "jpg"


def for_thumb(data: bytes) -> bytes:
    """A JPEG of at most 64 KB for permanent ``thumb`` material."""
    image = _open(data)
    if image.format == "JPEG" and len(data) <= THUMB_LIMIT:
        return data
    return _jpeg_within(image, THUMB_LIMIT, 900)


def _font(path: Path | None, size: int) -> ImageFont.FreeTypeFont | None:
    for candidate in ([str(path)] if path else []) + list(CJK_FONTS):
        if Path(candidate).is_file():
            return ImageFont.truetype(candidate, size)
    return None


def title_cover(title: str, font_path: Path | None = None) -> bytes:
    """A deterministic cover for a title: the same title gives the same bytes (and so
    the same uploaded material)."""
    digest = hashlib.sha256(title.encode()).digest()
    background = (40 + digest[0] % 60, 60 + digest[1] % 80, 110 + digest[2] % 100)
    image = Image.new("RGB", COVER_SIZE, background)
    draw = ImageDraw.Draw(image)
    draw.rectangle((0, COVER_SIZE[1] - 24, COVER_SIZE[0], COVER_SIZE[1]), fill=(200, 30, 40))
    font = _font(font_path, 48)
    if font is not None:
        lines = [title[i : i + 16] for i in range(0, min(len(title), 32), 16)]
        for n, line in enumerate(lines):
            draw.text((60, 110 + n * 70), line, font=font, fill=(255, 255, 255))
    return _jpeg_within(image, THUMB_LIMIT, 900)
