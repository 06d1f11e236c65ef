"""Whether each agency has published its annual report of a year (``annual_reports``).

Every agency of a platform publishes its own report (by 31 January of the next year);
the platform summary shows who has. A publication is recorded once per agency and
year, with where it is: one of the agency's own items (``--item 索引号``: the report
published through govpub) or a URL elsewhere; recording it again replaces the record
(a corrected report, a moved page), and ``withdraw`` removes it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, delete, select

from pipeline import db
from pipeline.errors import NotFound, ValidationFailed
from pipeline.report.scope import FIRST_YEAR, LAST_YEAR

A = db.annual_reports


@dataclass(frozen=True)
class Publication:
    agency_code: str
    year: int
    index_no: str | None
    url: str | None
    published_at: datetime | None
    recorded_by: str
    recorded_at: datetime


def record(
    engine: Engine,
    agency: str,
    year: int,
    *,
    by: str,
    now: datetime,
    url: str | None = None,
    index_no: str | None = None,
    published_at: datetime | None = None,
) -> Publication:
    """Record (or replace) the publication of ``agency``'s report of ``year``. The item
    named must be the agency's own; a URL must be http(s)."""
    if not FIRST_YEAR <= year <= LAST_YEAR:
        raise ValidationFailed("year out of range", [f"year: {year} is not within {FIRST_YEAR}–{LAST_YEAR}"])
    if url is not None and not url.startswith(("http://", "https://")):
        raise ValidationFailed("not a web address", [f"url: {url!r} must start with http:// or https://"])
    with engine.begin() as conn:
        _require_agency(conn, agency)
        item_pk = None
        if index_no is not None:
            item = conn.execute(
                select(db.items.c.pk, db.items.c.agency_code).where(db.items.c.index_no == index_no)
            ).first()
            if item is None or item.agency_code != agency:
                raise NotFound(f"no item {index_no} of agency {agency}")
            item_pk = item.pk
        values: dict[str, Any] = {
            "item_pk": item_pk,
            "url": url,
            "published_at": published_at or now,
            "recorded_by": by,
            "recorded_at": now,
        }
        conn.execute(
            db.upsert(conn, A)
            .values(agency_code=agency, year=year, **values)
            .on_conflict_do_update(index_elements=[A.c.agency_code, A.c.year], set_=values)
        )
    found = publications(engine, year, agency).get(agency)
    assert found is not None
    return found


def withdraw(engine: Engine, agency: str, year: int) -> bool:
    """Forget a recorded publication (recorded by mistake); True when there was one."""
    with engine.begin() as conn:
        _require_agency(conn, agency)
        done = conn.execute(delete(A).where(A.c.agency_code == agency, A.c.year == year))
    return bool(done.rowcount)


def publications(engine: Engine | Connection, year: int, agency: str | None = None) -> dict[str, Publication]:
    """The recorded publications of ``year``'s reports, by agency code."""
    query = (
        select(A, db.items.c.index_no)
        .select_from(A.outerjoin(db.items, db.items.c.pk == A.c.item_pk))
        .where(A.c.year == year)
    )
    if agency is not None:
        query = query.where(A.c.agency_code == agency)
    if isinstance(engine, Connection):
        rows = engine.execute(query).all()
    else:
        with engine.connect() as conn:
            rows = conn.execute(query).all()
    return {
        r.agency_code: Publication(
            r.agency_code, r.year, r.index_no, r.url, r.published_at, r.recorded_by, r.recorded_at
        )
        for r in rows
    }


def _require_agency(conn: Connection, code: str) -> None:
    if conn.execute(select(db.agencies.c.code).where(db.agencies.c.code == code)).first() is None:
        raise NotFound(f"no agency {code} is registered (govpub agencies list)")
