"""The CJK font the notices are typeset in, embedded (subset) in every PDF.

``options.font`` when set; otherwise the font the annual report's chart found
(:func:`pipeline.report.chart.cjk_font`, the same list of families, matplotlib's font
list plus the system's font folders), so one installed font (``./run check`` installs
Debian's fonts-noto-cjk) serves both. In a ``.ttc`` collection the simplified-Chinese
face is taken unless ``font_index`` says otherwise. Missing: a ConfigError naming
the ``font`` option, at start-up rather than at the first delivery."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path

from pipeline.errors import ConfigError

SUFFIXES = (".ttf", ".otf", ".ttc", ".otc")


@dataclass(frozen=True)
class Font:
    path: Path
    index: int  # the face in a collection (0 in a single font)
    family: str


def find_font(channel: str, path: Path | None, index: int | None) -> Font:
    """The font to embed, or a ConfigError naming ``channels.NAME.options.font``."""
    key = f"channels.{channel}.options.font"
    if path is None:
        found = _installed()
        if found is None:
            raise ConfigError(
                key,
                None,
                "no font that renders Chinese is installed: install one (Debian: fonts-noto-cjk, "
                "as ./run check does) or set font to a .ttf/.otf/.ttc file with Chinese glyphs",
            )
        path = found
    if not path.is_file():
        raise ConfigError(key, str(path), "no such font file")
    if path.suffix.lower() not in SUFFIXES:
        raise ConfigError(key, str(path), f"not a font file (one of {', '.join(SUFFIXES)})")
    try:
        face, family = _face(str(path), index)
    except (OSError, ValueError, IndexError) as exc:
        raise ConfigError(key, str(path), f"cannot read the font: {exc}") from exc
    if not _has_chinese(str(path), face):
        raise ConfigError(key, str(path), f"{family} has no Chinese glyphs (公告 cannot be printed)")
    return Font(path, face, family)


@cache
def _installed() -> Path | None:
    """The file of the family the report's chart uses (its regular weight)."""
    from matplotlib import font_manager

    from pipeline.report.chart import cjk_font

    family = cjk_font()
    if family is None:
        return None
    files = [f for f in font_manager.fontManager.ttflist if f.name == family]
    files.sort(key=lambda f: (f.weight not in (400, "normal", "regular"), f.style != "normal", f.fname))
    return Path(files[0].fname) if files else None


@cache
def _face(path: str, index: int | None) -> tuple[int, str]:
    """The face of a collection to use, and its family name."""
    from fontTools.ttLib import TTCollection, TTFont

    if not path.lower().endswith((".ttc", ".otc")):
        return 0, TTFont(path, lazy=True)["name"].getBestFamilyName() or Path(path).stem
    faces = [font["name"].getBestFamilyName() or "" for font in TTCollection(path, lazy=True).fonts]
    if index is None:
        index = next((i for i, name in enumerate(faces) if name.endswith((" SC", "SC"))), 0)
    return index, faces[index]


@cache
def _has_chinese(path: str, face: int) -> bool:
    from fontTools.ttLib import TTFont

    cmap = TTFont(path, fontNumber=face, lazy=True).getBestCmap() or {}
    return all(ord(c) in cmap for c in "公告撤回")
