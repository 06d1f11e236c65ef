"""Scratch tables of one report, created and dropped inside the report's transaction
(and gone with its rollback whatever happens).

The portal's (政府网站's) items of the year, their publication dates and the working-day
calendar are joined further; kept as tables with their key and statistics, the
planner knows how many rows it joins (as grouped subqueries it guessed one, and
chose nested loops that re-ran them: minutes at a million delivery events). A
separate MetaData keeps these tables out of the schema and its migrations.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import BigInteger, Column, Connection, Date, Integer, MetaData, Table

from pipeline.db import UTCDateTime

_scratch = MetaData()

PORTAL = Table(
    "report_portal",
    _scratch,
    Column("item_pk", BigInteger, primary_key=True),
    Column("first_at", UTCDateTime, nullable=False),
    prefixes=["TEMPORARY"],
)
PUBLISHED = Table(
    "report_published",
    _scratch,
    Column("item_pk", BigInteger, primary_key=True),
    Column("formed", Date, nullable=False),
    Column("published_on", Date, nullable=False),
    prefixes=["TEMPORARY"],
)
WORKDAYS = Table(
    "report_workdays",
    _scratch,
    Column("day", Date, primary_key=True),
    Column("ord", Integer, nullable=False),
    prefixes=["TEMPORARY"],
)


@contextmanager
def scratch(conn: Connection, *tables: Table) -> Iterator[None]:
    for table in tables:
        table.create(conn)
    yield
    for table in reversed(tables):
        table.drop(conn)


def analyze(conn: Connection, table: Table) -> None:
    """Statistics for a freshly filled scratch table (PostgreSQL plans by them)."""
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql(f"ANALYZE {table.name}")
