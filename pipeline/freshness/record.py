"""The ``freshness`` table: what beat last saw of each column and account, and which
of their warnings went to each destination.

Beat writes it (:func:`save`); the console's overview and ``/metrics`` read it
(:func:`read`), so they cost one small indexed read however many items there are.
States are worked out at read time from the stored last publication and limit, so a
column crosses into ``warn`` or ``overdue`` on time even between two looks.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import Engine, delete, select, update

from pipeline import db
from pipeline.freshness.watch import Watched
from pipeline.tenancy import Reach

F = db.freshness
KEPT = ("kind", "label", "limit_days", "warn_before_days", "last_at", "checked_at")


def save(engine: Engine, found: list[Watched], now: datetime) -> None:
    """Every watched row as just seen (what is no longer watched goes); the record of
    warnings sent stays with its row."""
    rows = [
        {
            "agency_code": w.agency,
            "subject": w.subject,
            "kind": w.kind,
            "label": w.label,
            "limit_days": w.limit_days,
            "warn_before_days": w.warn_before_days,
            "last_at": w.last_at,
            "checked_at": now,
        }
        for w in found
    ]
    with engine.begin() as conn:
        if rows:
            statement = db.upsert(conn, F)
            conn.execute(
                statement.on_conflict_do_update(
                    index_elements=[F.c.agency_code, F.c.subject],
                    set_={name: statement.excluded[name] for name in KEPT},
                ),
                rows,
            )
        conn.execute(delete(F).where(F.c.checked_at < now))


def read(engine: Engine, reach: Reach = Reach.PLATFORM) -> list[Watched]:
    """The rows within reach, in agency and subject order."""
    query = select(F).where(reach.where(F.c.agency_code)).order_by(F.c.agency_code, F.c.kind.desc())
    with engine.connect() as conn:
        return [_watched(row) for row in conn.execute(query)]


@dataclass
class Summary:
    """What the console's overview shows: the columns and accounts near or past their
    limit (overdue first, then the longest silent) and the empty columns."""

    checked: bool  # beat has looked at least once
    problems: list[Watched] = field(default_factory=list)
    empty: list[Watched] = field(default_factory=list)


def summary(engine: Engine, now: datetime, reach: Reach = Reach.PLATFORM) -> Summary:
    rows = read(engine, reach)
    problems = [w for w in rows if w.state(now) in ("warn", "overdue")]
    problems.sort(key=lambda w: (w.state(now) != "overdue", -(w.age_seconds(now) or 0)))
    empty = [w for w in rows if w.kind == "column" and w.last_at is None]
    return Summary(bool(rows), problems, empty)


def unsent(engine: Engine, now: datetime, destination: str) -> list[tuple[Watched, str]]:
    """Warnings not yet sent to ``destination`` (``webhook`` or ``email``), with their keys."""
    column = F.c.webhook_sent if destination == "webhook" else F.c.email_sent
    with engine.connect() as conn:
        rows = conn.execute(select(F, column.label("sent")).where(F.c.last_at.is_not(None))).all()
    found = []
    for row in rows:
        watched = _watched(row)
        key = watched.notice_key(now)
        if key is not None and key != row.sent:
            found.append((watched, key))
    return found


def mark_sent(engine: Engine, destination: str, sent: list[tuple[Watched, str]]) -> None:
    column = "webhook_sent" if destination == "webhook" else "email_sent"
    with engine.begin() as conn:
        for watched, key in sent:
            where = (F.c.agency_code == watched.agency) & (F.c.subject == watched.subject)
            conn.execute(update(F).where(where).values({column: key}))


def _watched(row: object) -> Watched:
    return Watched(
        agency=row.agency_code,  # type: ignore[attr-defined]
        subject=row.subject,  # type: ignore[attr-defined]
        kind=row.kind,  # type: ignore[attr-defined]
        label=row.label,  # type: ignore[attr-defined]
        limit_days=row.limit_days,  # type: ignore[attr-defined]
        warn_before_days=row.warn_before_days,  # type: ignore[attr-defined]
        last_at=row.last_at,  # type: ignore[attr-defined]
    )
