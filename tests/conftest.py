"""Fixtures: real SQLite and PostgreSQL, real Redis, the app, Celery workers.

A service that is down skips the tests that need it when run by hand; under CI (and
``./run check``) every skip is a failure: the one rule is in ``tests/skips.py``.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text

from pipeline.app import create_app
from pipeline.config import ChannelConfig, Settings
from pipeline.schema import upgrade
from pipeline.services import Services, build_services
from tests.helpers import TEST_AGENCY, TEST_AGENCY_NAME, register_agencies
from tests.netguard import ConnectGuard, FakeDNS
from tests.skips import pytest_make_collect_report, pytest_runtest_makereport

__all__ = ["pytest_make_collect_report", "pytest_runtest_makereport"]  # the skip rule's hooks

PG_ADMIN = os.environ.get("GOVPUB_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
REDIS = os.environ.get("GOVPUB_TEST_REDIS", "redis://127.0.0.1:6379")


def unavailable(what: str, exc: Exception) -> None:
    """Skip for a missing service or tool (a failure under CI: ``tests/skips.py``)."""
    pytest.skip(f"{what} not reachable: {exc}")


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A fresh PostgreSQL database for one test."""
    yield from fresh_pg_database()


def fresh_pg_database() -> Iterator[str]:
    """Make a PostgreSQL database, yield its URL, drop it."""
    name = f"govpub_t_{secrets.token_hex(4)}"
    try:
        admin = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:
        unavailable("PostgreSQL", exc)
    yield PG_ADMIN.rsplit("/", 1)[0] + f"/{name}"
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture
def redis_url() -> str:
    """A Redis database emptied for this test."""
    import redis

    url = f"{REDIS}/7"
    try:
        redis.Redis.from_url(url).flushdb()
    except Exception as exc:
        unavailable("Redis", exc)
    return url


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'govpub.db'}"
    url: str = request.getfixturevalue("pg_url")
    return url


@pytest.fixture
def settings_for(tmp_path: Path) -> Any:
    """Build settings for a test: data under tmp_path, no file, env ignored."""

    def build(**overrides: Any) -> Settings:
        overrides.setdefault("data_dir", tmp_path / "data")
        overrides.setdefault("database_url", f"sqlite:///{tmp_path / 'govpub.db'}")
        overrides.setdefault("retry_base_seconds", 0.05)
        overrides.setdefault("retry_max_seconds", 0.2)
        overrides.setdefault("sweep_interval_seconds", 0.1)
        overrides.setdefault("requeue_after_seconds", 2.0)
        overrides.setdefault("channels", {"memory": ChannelConfig(kind="memory")})
        overrides.setdefault("agencies_refresh_seconds", 0)  # a test's registrations count at once
        return Settings(**overrides)

    return build


@pytest.fixture
def settings(settings_for: Any, db_url: str) -> Settings:
    result: Settings = settings_for(database_url=db_url)
    return result


@pytest.fixture
def services(settings: Settings) -> Iterator[Services]:
    built = build_services(settings)
    upgrade(built.engine)
    register_agencies(built.engine, {TEST_AGENCY: TEST_AGENCY_NAME})  # the one of make_item
    yield built
    built.engine.dispose()


@pytest.fixture
def api(services: Services) -> Iterator[TestClient]:
    """The app with its in-process worker, as ``govpub serve`` runs it embedded."""
    with TestClient(create_app(services.settings, services)) as client:
        yield client


@pytest.fixture
def token(services: Services) -> str:
    """Source ``test``, bound to the tests' agency (the only one registered when it is made)."""
    return services.store.add_source("test")


@pytest.fixture
def auth(token: str) -> dict[str, str]:
    return {"authorization": f"Bearer {token}"}


@pytest.fixture(autouse=True)
def connect_guard(monkeypatch: pytest.MonkeyPatch) -> Iterator[ConnectGuard]:
    """Every test: a connect to anything but loopback fails the test (tests/netguard.py)."""
    guard = ConnectGuard()
    guard.install(monkeypatch)
    yield guard
    assert not guard.attempts, f"a connect beyond loopback was attempted: {guard.attempts}"


@pytest.fixture
def fake_dns(monkeypatch: pytest.MonkeyPatch) -> Callable[[dict[str, list[str]]], FakeDNS]:
    """``fake_dns({"metadata.test": ["169.254.169.254"]})``: the resolver answers from
    the table, and nothing else leaves this machine to resolve a name."""

    def install(names: dict[str, list[str]]) -> FakeDNS:
        stub = FakeDNS(names)
        stub.install(monkeypatch)
        return stub

    return install
