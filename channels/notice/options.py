"""The notice channel's options (``[channels.NAME.options]``), checked at start-up.

One instance serves several places: each board (张贴公告栏) or reading room
(政府信息查阅点) has a folder the PDF goes into and, optionally, a CUPS queue it is
printed on. An agency overlay (``[agencies.CODE.channels.NAME.options]``) may give an
agency boards of its own."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from channels.kit import secrets

PlaceName = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,63}$")]  # in paths and commands


class _Options(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Place(_Options):
    """A notice board or a reading room."""

    kind: Literal["board", "room"] = "board"  # room: 政府信息查阅点 (weekly bundles)
    label: str = Field(min_length=1, max_length=64)  # printed in the footer: 区政务服务大厅公告栏
    folder: Path  # where its PDFs are put (often a share the room's PC prints from)
    printer: str | None = Field(default=None, pattern=r"^[A-Za-z0-9_.@-]{1,127}$")  # a CUPS queue


class NoticeOptions(_Options):
    places: dict[PlaceName, Place] = Field(min_length=1)
    # A TrueType/OpenType font with Chinese (a .ttc collection too); None: the one the
    # annual report's chart uses (channels/notice/fonts.py), e.g. Debian's fonts-noto-cjk.
    font: Path | None = None
    font_index: int | None = Field(default=None, ge=0, le=31)  # a .ttc's face; None: the SC one
    lp_command: str = "lp"  # CUPS's lp (a full path, or found on PATH)
    cups_server: str | None = None  # lp -h: host[:port] of the CUPS server; None: the local one
    print_timeout_seconds: float = Field(default=60.0, gt=0, le=600)


def parse_options(name: str, raw: dict[str, Any]) -> NoticeOptions:
    """Validated options, or a ConfigError naming the key."""
    return secrets.parse_options(NoticeOptions, name, raw)
