"""Shared pieces of the archive channel tests: a receiver configured on a test
database, a clock the test moves, items accepted at chosen moments."""

from __future__ import annotations

import base64
import tarfile
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from channels.archive.channel import ArchiveChannel
from pipeline import db
from pipeline.config import ChannelConfig
from pipeline.model import ItemIn
from pipeline.schema import upgrade
from pipeline.services import Services, build_services
from pipeline.store import Accepted
from tests.helpers import make_item

MARCH_10 = datetime(2017, 3, 10, 2, 0, tzinfo=UTC)
MARCH_20 = datetime(2017, 3, 20, 2, 0, tzinfo=UTC)
APRIL_2 = datetime(2017, 4, 2, 2, 0, tzinfo=UTC)
APRIL_10 = datetime(2017, 4, 10, 2, 0, tzinfo=UTC)
MAY_2 = datetime(2017, 5, 2, 2, 0, tzinfo=UTC)


class Clock:
    """The services' clock, moved by the test."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def receiver_options(drop: Path, **changes: Any) -> dict[str, Any]:
    options: dict[str, Any] = {
        "source_organization": "张店区教育局",
        "organization_code": "113703030000000000",
        "settle_seconds": 0,
        "transport": {"kind": "directory", "path": str(drop)},
    }
    options.update(changes)
    return options


@pytest.fixture
def archive_services(settings_for: Any, tmp_path: Path) -> Iterator[Callable[..., Services]]:
    """``build(db_url=None, **options)``: services with one receiver ``district``."""
    made: list[Services] = []

    def build(db_url: str | None = None, **options: Any) -> Services:
        extra = {"database_url": db_url} if db_url else {}
        config = ChannelConfig(kind="archive", options=receiver_options(tmp_path / "drop", **options))
        services = build_services(settings_for(channels={"district": config}, **extra))
        upgrade(services.engine)
        services.clock = Clock(MARCH_20)
        made.append(services)
        return services

    yield build
    for services in made:
        services.engine.dispose()


def accept(services: Services, n: int, at: datetime, attachments: int = 1, **changes: Any) -> Accepted:
    files = [
        {
            "name": f"附件{k} 招生计划%.pdf",
            "media_type": "application/pdf",
            "content_base64": base64.b64encode(f"%PDF-1.4 item {n} file {k}\n".encode() * 20).decode(),
        }
        for k in range(1, attachments + 1)
    ]
    raw = make_item(n, attachments=files, **changes)
    raw["source"] = "test"
    return services.store.accept(ItemIn.model_validate(raw), services.wanted_channels(None), now=at)


def channel(services: Services, name: str = "district") -> ArchiveChannel:
    found = services.channel(name)
    assert isinstance(found, ArchiveChannel)
    return found


def deliveries(services: Services, name: str = "district") -> list[Any]:
    with services.engine.connect() as conn:
        return list(
            conn.execute(
                select(db.deliveries).where(db.deliveries.c.channel == name).order_by(db.deliveries.c.id)
            )
        )


def unpack(package: Path, into: Path) -> Path:
    with tarfile.open(package) as archive:
        archive.extractall(into, filter="data")
    (root,) = into.iterdir()
    return root
