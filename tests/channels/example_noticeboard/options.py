"""The notice board's options (``[channels.NAME.options]``), checked at start-up."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from channels.kit import secrets


class NoticeboardOptions(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    url: str = Field(pattern=r"^https?://\S+$")  # the board's API, e.g. https://board.example/api
    token_env: str = "GOVPUB_NOTICEBOARD_TOKEN"  # the bearer token: this variable …
    token_file: Path | None = None  # … or this file; never the options themselves
    timeout_seconds: float = Field(default=10.0, gt=0, le=120)


def parse_options(name: str, raw: dict[str, Any]) -> NoticeboardOptions:
    """Validated options, or a ConfigError naming the key (a literal ``token`` too)."""
    return secrets.parse_options(NoticeboardOptions, name, raw)
