"""What a benchmark run needs on this machine: a fresh PostgreSQL database, an empty
Redis database, a scratch folder; all cleaned up afterwards.

The servers are today's defaults unless the environment names others, so a run can
use its own Redis (two runs on one Redis steal each other's tasks):

    GOVPUB_BENCH_PG     a PostgreSQL URL whose database may create and drop others
                        (default postgresql+psycopg://postgres@127.0.0.1:5432/postgres)
    GOVPUB_BENCH_REDIS  a Redis database the run empties and uses
                        (default redis://127.0.0.1:6379/12)

Where either is set, :func:`ensure_services` starts nothing: the servers are yours.
"""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import redis
from sqlalchemy import create_engine, text

PG_ADMIN = os.environ.get("GOVPUB_BENCH_PG") or "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
REDIS = os.environ.get("GOVPUB_BENCH_REDIS") or "redis://127.0.0.1:6379/12"


def pg_database(name: str) -> str:
    """The URL of database ``name`` on the benchmark's PostgreSQL server."""
    return PG_ADMIN.rsplit("/", 1)[0] + f"/{name}"


def ensure_services() -> None:
    """Start Redis and PostgreSQL on their default ports if they are not running (same
    script as the tests); nothing when the environment names the servers to use."""
    if os.environ.get("GOVPUB_BENCH_PG") or os.environ.get("GOVPUB_BENCH_REDIS"):
        return
    subprocess.run([str(Path(__file__).resolve().parents[1] / "scripts" / "services.sh")], check=True)


@contextmanager
def fresh_postgres() -> Iterator[str]:
    name = f"govpub_bench_{secrets.token_hex(4)}"
    admin = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield pg_database(name)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@contextmanager
def fresh_redis(url: str = REDIS) -> Iterator[str]:
    client = redis.Redis.from_url(url)
    client.flushdb()
    try:
        yield url
    finally:
        client.flushdb()


@contextmanager
def scratch() -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix="govpub-bench-"))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def wait_for(check: Callable[[], bool], timeout: float, what: str, every: float = 0.05) -> float:
    """Poll until ``check()``; returns the seconds it took."""
    started = time.perf_counter()
    while not check():
        if time.perf_counter() - started > timeout:
            raise TimeoutError(f"{what} not done after {timeout}s")
        time.sleep(every)
    return time.perf_counter() - started


def register_demo_agency(engine: Any) -> None:
    """The demo items' agency (every bench item keeps it) in the registry, as the intake
    and ``items.agency_code``'s key require; nothing when it is there."""
    from datetime import UTC, datetime

    from pipeline.agencies import Agency, Registry, add
    from pipeline.localcluster import DEMO_AGENCY, DEMO_AGENCY_NAME

    if Registry(engine, 0).get(DEMO_AGENCY) is None:
        add(engine, Agency(DEMO_AGENCY, DEMO_AGENCY_NAME), datetime.now(UTC))
