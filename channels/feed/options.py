"""Options of a feed channel (``[channels.NAME.options]``), checked at start-up."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from pipeline.config import channel_options


class FeedOptions(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    # Where the static files go; default ``{data_dir}/site/feeds``, next to the website.
    output_dir: Path | None = None
    # How many entries each feed holds: the newest ones.
    entries: int = Field(default=50, ge=1, le=1000)
    # Feeds per agency (发布机构): "auto" writes them once items of two agencies exist.
    agency_feeds: Literal["auto", "always", "never"] = "auto"
    # Put the sanitised body in each entry (Atom content, RSS content:encoded).
    full_text: bool = True
    title: str | None = Field(default=None, min_length=1, max_length=100)
    # Entry ids are tag:AUTHORITY,DATE:索引号; the authority defaults to public_url's host
    # and the date to the year of the 索引号. Fix both once published: ids must never change.
    tag_authority: Annotated[str, Field(pattern=r"^[A-Za-z0-9.-]+$")] | None = None
    tag_date: Annotated[str, Field(pattern=r"^\d{4}(-\d{2}(-\d{2})?)?$")] | None = None
    # WebSub: the hub told about every change (hub.mode=publish), advertised in the feeds.
    websub_hub: Annotated[str, Field(pattern=r"^https?://\S+$")] | None = None
    timeout_seconds: float = Field(default=10.0, gt=0, le=120)
    lock_timeout_seconds: float = Field(default=60.0, gt=0)
    # Deliveries regenerated together (one write of each feed they touch); 1: one by one.
    max_batch: int = Field(default=50, ge=1, le=500)

    def folder(self, data_dir: Path) -> Path:
        return Path(self.output_dir) if self.output_dir else Path(data_dir) / "site" / "feeds"


def parse_options(name: str, options: dict[str, Any]) -> FeedOptions:
    return channel_options(FeedOptions, name, options)
