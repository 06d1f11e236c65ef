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
from pipeline.config import ChannelConfig, load_settings
from pipeline.model import ItemIn
from pipeline.schema import upgrade
from pipeline.services import Services, build_services
from pipeline.store import Accepted
from tests.helpers import TEST_AGENCY, TEST_AGENCY_NAME, make_item, register_agencies

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
        register_agencies(services.engine, {TEST_AGENCY: TEST_AGENCY_NAME})
        services.clock = Clock(MARCH_20)
        made.append(services)
        return services

    yield build
    for services in made:
        services.engine.dispose()


CONFIG = """
database_url = "sqlite:///{tmp}/govpub.db"
data_dir = "{tmp}/data"

[channels.district]
kind = "archive"
[channels.district.options]
source_organization = "张店区教育局"
[channels.district.options.transport]
kind = "directory"
path = "{tmp}/drop"

[channels.library]
kind = "archive"
[channels.library.options]
source_organization = "张店区教育局"
schedule = "weekly"
packing = "zip"
[channels.library.options.transport]
kind = "directory"
path = "{tmp}/library"
"""


@pytest.fixture
def configured(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Services]:
    """An installation with a configuration file (``GOVPUB_CONFIG``), as the CLI finds it:
    receivers ``district`` (monthly tar into ``drop``) and ``library`` (weekly zip)."""
    config = tmp_path / "govpub.toml"
    config.write_text(CONFIG.format(tmp=tmp_path), encoding="utf-8")
    monkeypatch.setenv("GOVPUB_CONFIG", str(config))
    services = build_services(load_settings())
    upgrade(services.engine)
    register_agencies(services.engine, {TEST_AGENCY: TEST_AGENCY_NAME})
    yield services
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
    item = ItemIn.model_validate(raw)
    return services.store.accept(item, services.channels_for(item.agency.code, None), now=at)


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


def rebag(root: Path) -> None:
    """Recompute every manifest, the Payload-Oxum and every tag manifest of an unpacked
    bag, as someone covering up a change would: the bag's own checksums then agree."""
    from channels.archive.bag import ALGORITHMS, digests

    payload = sorted(p for p in (root / "data").rglob("*") if p.is_file())
    found = {p: digests(p.read_bytes()) for p in payload}
    for alg in ALGORITHMS:
        lines = sorted(f"{found[p][alg]}  {p.relative_to(root).as_posix()}\n" for p in payload)
        (root / f"manifest-{alg}.txt").write_text("".join(lines), "utf-8")
    octets = sum(p.stat().st_size for p in payload)
    info = root / "bag-info.txt"
    kept = [line for line in info.read_text("utf-8").splitlines() if not line.startswith("Payload-Oxum:")]
    info.write_text("\n".join([*kept, f"Payload-Oxum: {octets}.{len(payload)}"]) + "\n", "utf-8")
    tags = sorted(p for p in root.iterdir() if p.is_file() and not p.name.startswith("tagmanifest-"))
    for alg in ALGORITHMS:
        lines = [f"{digests(p.read_bytes())[alg]}  {p.name}\n" for p in tags]
        (root / f"tagmanifest-{alg}.txt").write_text("".join(lines), "utf-8")


def repack(root: Path, out: Path) -> Path:
    """An unpacked bag as a tar file again, its folder at the top."""
    with tarfile.open(out, "w") as archive:
        archive.add(root, arcname=root.name)
    return out
