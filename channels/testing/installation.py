"""A throwaway installation for channel tests: the real settings, database schema and
services, with the channels under test configured, in a folder of the test's own."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from channels.testing.items import register_example_agency
from pipeline.config import ChannelConfig, Settings
from pipeline.schema import upgrade
from pipeline.services import Services, build_services


@contextmanager
def installation(folder: Path, channels: dict[str, dict[str, Any]], **settings: Any) -> Iterator[Services]:
    """Services for ``channels`` (name → ``{"kind": …, "options": {…}}``, as in the
    TOML file) with data in ``folder`` and, unless ``database_url`` is given, a SQLite
    database there, migrated to head, with the example items' agency registered.
    ``services.channel(name)`` builds a channel the
    way a worker does (through the installed plug-ins)."""
    settings.setdefault("data_dir", folder / "data")
    settings.setdefault("database_url", f"sqlite:///{folder / 'govpub.db'}")
    configured = {name: ChannelConfig(**config) for name, config in channels.items()}
    services = build_services(Settings(channels=configured, **settings))
    upgrade(services.engine)
    register_example_agency(services)
    try:
        yield services
    finally:
        services.engine.dispose()
