"""What the console pages read, as indexed, paginated queries.

Lists are keyset-paginated on ``deliveries.id`` (newest first, ``before=<id>`` for
the next page) so a page costs the same with a hundred rows or millions: the
state filter walks ``ix_deliveries_state_id``, the date filter
``ix_deliveries_created_at``, an item's timeline
``ix_deliveries_item_publications`` and ``ix_delivery_events_delivery_id``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Engine, func, or_, select

from pipeline import db
from pipeline.console import audit
from pipeline.console.words import FAILING
from pipeline.store import findings_of
from pipeline.tenancy import Reach

D, E, It, R = db.deliveries, db.delivery_events, db.items, db.revisions
PAGE = 50
INDEX_NO = re.compile(r"[0-9A-Za-z]{6,32}/\d{4}-\d{5}")


@dataclass
class DeliveryFilter:
    channel: str = ""
    state: str = ""  # a state, "failing" (retrying, held, in_doubt, dead) or "" for all
    source: str = ""
    date_from: date | None = None
    date_to: date | None = None
    before: int | None = None
    agency: str = ""  # one agency within the user's reach, or "" for all of them

    def as_query(self) -> dict[str, str]:
        """The filter as URL parameters (without the page cursor)."""
        pairs = {
            "agency": self.agency,
            "channel": self.channel,
            "state": self.state,
            "source": self.source,
            "date_from": self.date_from.isoformat() if self.date_from else "",
            "date_to": self.date_to.isoformat() if self.date_to else "",
        }
        return {k: v for k, v in pairs.items() if v}


def newest_first(reach: Reach, agency: Any, key: Any) -> list[Any]:
    """The order of a list: ``key`` descending. For one agency, (agency, key) descending,
    the same rows in the same order, so PostgreSQL walks the (agency_code, key) index
    rather than every agency's newer rows (an agency whose rows are old, e.g. those of
    the upgraded first agency, would cost a scan of everyone else's)."""
    if reach.agencies is not None and len(reach.agencies) == 1:
        return [agency.desc(), key.desc()]
    return [key.desc()]


def _local_midnight(day: date, timezone: str) -> datetime:
    return datetime.combine(day, time(), ZoneInfo(timezone))


def list_deliveries(
    engine: Engine, f: DeliveryFilter, timezone: str, reach: Reach
) -> tuple[list[dict[str, Any]], int | None]:
    """One page of the deliveries within ``reach``, newest first, and the cursor of the
    next page (or None)."""
    query = (
        select(
            D.c.id,
            D.c.channel,
            D.c.action,
            D.c.state,
            D.c.attempts,
            D.c.revision,
            D.c.reason,
            D.c.last_error_class,
            D.c.last_error,
            D.c.created_at,
            D.c.updated_at,
            D.c.delivered_at,
            D.c.next_attempt_at,
            D.c.external_ref,
            D.c.agency_code,
            It.c.pk.label("item_pk"),
            It.c.source,
            It.c.item_id,
            It.c.index_no,
            R.c.title,
        )
        .select_from(D.join(It, It.c.pk == D.c.item_pk).join(R, R.c.pk == D.c.revision_pk))
        .where(reach.deliveries_where())
        .order_by(*newest_first(reach, D.c.agency_code, D.c.id))
        .limit(PAGE + 1)
    )
    if f.channel:
        query = query.where(D.c.channel == f.channel)
    if f.state == "failing":
        query = query.where(D.c.state.in_(FAILING))
    elif f.state:
        query = query.where(D.c.state == f.state)
    if f.source:
        # coalesce() keeps SQLite from starting at the (source, item_id) index and sorting
        # every delivery of the source: walking deliveries newest first finds 50 sooner
        query = query.where(func.coalesce(It.c.source, "") == f.source)
    if f.date_from:
        query = query.where(D.c.created_at >= _local_midnight(f.date_from, timezone))
    if f.date_to:
        query = query.where(D.c.created_at < _local_midnight(f.date_to + timedelta(days=1), timezone))
    if f.before:
        query = query.where(D.c.id < f.before)
    with engine.connect() as conn:
        rows = [dict(r._mapping) for r in conn.execute(query)]
    more = len(rows) > PAGE
    rows = rows[:PAGE]
    return rows, (rows[-1]["id"] if more else None)


def sources(engine: Engine, reach: Reach) -> list[str]:
    """The sources bound to an agency within reach (every source for the platform)."""
    query = select(db.sources.c.name).order_by(db.sources.c.name)
    if not reach.platform:
        bound = select(db.source_agencies.c.source).where(reach.where(db.source_agencies.c.agency_code))
        query = query.where(db.sources.c.name.in_(bound))
    with engine.connect() as conn:
        return list(conn.execute(query).scalars())


def search_items(
    engine: Engine, q: str, reach: Reach, before: int | None = None
) -> tuple[list[dict[str, Any]], int | None]:
    """Items within ``reach`` whose 索引号 starts with ``q`` or whose latest title
    contains it, newest first.

    The platform's search joins the latest revisions; a scoped user's reads each of its
    items' latest revision by its key instead (a join would walk every agency's newer
    revisions to meet the old items of an agency whose pks are low)."""
    pattern = q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    latest = (R.c.item_pk == It.c.pk) & (R.c.revision == It.c.latest_revision)
    title: Any
    accepted_at: Any
    if reach.platform:
        title, accepted_at = R.c.title, R.c.accepted_at
        rows_from: Any = It.join(R, latest)
    else:
        title = select(R.c.title).where(latest).scalar_subquery()
        accepted_at = select(R.c.accepted_at).where(latest).scalar_subquery()
        rows_from = It
    query = (
        select(
            It.c.pk,
            It.c.source,
            It.c.item_id,
            It.c.index_no,
            It.c.retracted_at,
            It.c.agency_code,
            title.label("title"),
            accepted_at.label("accepted_at"),
        )
        .select_from(rows_from)
        .where(reach.items_where())
        .order_by(*newest_first(reach, It.c.agency_code, It.c.pk))
        .limit(PAGE + 1)
    )
    if INDEX_NO.fullmatch(q):  # a whole 索引号: one step in its unique index
        query = query.where(It.c.index_no == q)
    elif q:
        query = query.where(
            or_(
                It.c.item_id == q,
                It.c.index_no.like(pattern + "%", escape="\\"),
                title.like("%" + pattern + "%", escape="\\"),
            )
        )
    if before:
        query = query.where(It.c.pk < before)
    with engine.connect() as conn:
        rows = [dict(r._mapping) for r in conn.execute(query)]
    more = len(rows) > PAGE
    rows = rows[:PAGE]
    return rows, (rows[-1]["pk"] if more else None)


def item_timeline(engine: Engine, item_pk: int, reach: Reach) -> dict[str, Any] | None:
    """The item, its revisions, its deliveries per channel, and one time-ordered list
    of everything that happened to it: acceptance, every attempt, operators' actions.
    None when there is no such item within ``reach``."""
    with engine.connect() as conn:
        item = conn.execute(select(It).where(It.c.pk == item_pk)).first()
        if item is None or not reach.allows(item.agency_code):
            return None
        revisions = [
            dict(r._mapping)
            for r in conn.execute(
                select(R.c.pk, R.c.revision, R.c.title, R.c.accepted_at, R.c.document)
                .where(R.c.item_pk == item_pk)
                .order_by(R.c.revision)
            )
        ]
        deliveries = [
            dict(r._mapping)
            for r in conn.execute(select(D).where(D.c.item_pk == item_pk).order_by(D.c.channel, D.c.id))
        ]
        by_id = {d["id"]: d for d in deliveries}
        findings = findings_of(conn, item_pk)
        events = (
            [
                dict(r._mapping)
                for r in conn.execute(select(E).where(E.c.delivery_id.in_(list(by_id))).order_by(E.c.id))
            ]
            if by_id
            else []
        )
    entries: list[dict[str, Any]] = [
        {"at": r["accepted_at"], "kind": "accepted", "revision": r["revision"], "title": r["title"]}
        for r in revisions
    ]
    for ev in events:
        delivery = by_id[ev["delivery_id"]]
        entries.append(
            {
                **ev,
                "kind": "event",
                "channel": delivery["channel"],
                "action": delivery["action"],
                "revision": delivery["revision"],
            }
        )
    for entry in audit.for_item(engine, item_pk):
        entries.append({**entry, "kind": "audit"})
    entries.sort(key=lambda e: (e["at"], 0 if e["kind"] == "accepted" else 1))
    return {
        "item": dict(item._mapping),
        "latest": revisions[-1],
        "revisions": revisions,
        "deliveries": deliveries,
        "timeline": entries,
        "findings": findings,
    }
