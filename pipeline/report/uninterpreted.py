"""This year's 规范性文件 that no 政策解读 interprets: a list for the report, not a count.

Inspections fail an agency when a policy document is published without its
interpretation (the seed report's "同步起草、同步报审、同步公布"). A document here is
what table 二 counts as a 行政规范性文件 (:data:`pipeline.report.labels.TABLE2_DOCUMENT_ROWS`,
by the genre of its revision in force at the year's end) first on the website
(政府网站) in the year and not retracted by then; it is listed when no item that is not
retracted names it in its latest revision's ``interprets``
(:mod:`pipeline.interpretations`).
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, Connection, and_, func, select

from pipeline import db
from pipeline.report import labels as L
from pipeline.report.counts import ITEMS, LIST_LIMIT, D, R, _aware, delivered, latest_title
from pipeline.report.model import Uninterpreted
from pipeline.report.scope import ChannelRoles, Role, Scope

NORMATIVE = L.TABLE2_DOCUMENT_ROWS["normative"][1]


def uninterpreted(conn: Connection, scope: Scope, roles: ChannelRoles) -> list[Uninterpreted]:
    """The documents, oldest publication first (at most ``LIST_LIMIT``)."""
    first_at = (
        select(func.min(D.c.delivered_at))
        .where(D.c.item_pk == ITEMS.c.pk, delivered(D), roles.plays(D.c.kind, Role.PORTAL))
        .scalar_subquery()
    )
    at_end = R.alias("at_end")
    genre = (
        select(at_end.c.genre)
        .where(at_end.c.item_pk == ITEMS.c.pk, at_end.c.accepted_at < scope.end)
        .order_by(at_end.c.revision.desc())
        .limit(1)
        .scalar_subquery()
    )
    interp, reader, latest = db.interpretations, ITEMS.alias("reader"), R.alias("reader_latest")
    interpreted = (
        select(interp.c.policy_pk)
        .join(reader, reader.c.pk == interp.c.interpretation_pk)
        .join(
            latest, and_(latest.c.pk == interp.c.revision_pk, latest.c.revision == reader.c.latest_revision)
        )
        .where(interp.c.policy_pk == ITEMS.c.pk, reader.c.retracted_at.is_(None))
        .exists()
    )
    not_retracted = ITEMS.c.retracted_at.is_(None) | (ITEMS.c.retracted_at >= scope.end)
    where: list[ColumnElement[bool]] = [
        ITEMS.c.pk.in_(select(R.c.item_pk).where(R.c.genre.in_(NORMATIVE))),
        not_retracted,
    ]
    if scope.agency is not None:
        where.append(ITEMS.c.agency_code == scope.agency)
    candidates = (
        select(
            ITEMS.c.index_no,
            latest_title(ITEMS.c.pk).label("title"),
            first_at.label("first_at"),
            genre.label("genre"),
            interpreted.label("interpreted"),
        )
        .where(*where)
        .subquery("candidates")
    )
    rows = conn.execute(
        select(candidates.c.index_no, candidates.c.title, candidates.c.first_at)
        .where(
            candidates.c.first_at >= scope.start,
            candidates.c.first_at < scope.end,
            candidates.c.genre.in_(NORMATIVE),
            ~candidates.c.interpreted,
        )
        .order_by(candidates.c.first_at, candidates.c.index_no)
        .limit(LIST_LIMIT)
    ).all()
    return [
        Uninterpreted(index_no=r.index_no, title=r.title, published_on=_aware(r.first_at, scope).date())
        for r in rows
    ]
