"""Table 二, 第二十条第（一）项: 规章 and 行政规范性文件 counted from the items.

An item is such a document by its 体裁 (genre); its 有效性 (validity) is read from
the revision in force at a year's end, and it counts once it has been on the website.

- 本年制发: first on the website in the year;
- 本年废止: 废止 or 失效 at the end of the year, but not already so (and on the
  website) at the end of the year before;
- 现行有效: on the website by the end of the year and not 废止/失效 then.

These make 现行有效 = last year's 现行有效 + 本年制发 − 本年废止 by construction, so
a difference says something the log cannot explain (a document revived, a genre
changed, or last year's published figure counted documents govpub never carried);
the report shows it as a warning next to last year's figure.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, and_, case, func, select

from pipeline.report import labels as L
from pipeline.report.counts import ITEMS, D, R, delivered
from pipeline.report.figures import LastYear
from pipeline.report.model import DocumentRow
from pipeline.report.scope import ChannelRoles, Role, Scope, as_int

GENRES = [genre for _, genres in L.TABLE2_DOCUMENT_ROWS.values() for genre in genres]


def _at(column: Any, item_pk: Any, moment: Any) -> Any:
    """``column`` of the item's revision in force at ``moment`` (its latest accepted
    before it): an index probe on ``(item_pk, revision)`` per document."""
    r = R.alias("r_at")
    return (
        select(getattr(r.c, column))
        .where(r.c.item_pk == item_pk, r.c.accepted_at < moment)
        .order_by(r.c.revision.desc())
        .limit(1)
        .scalar_subquery()
    )


def year_counts(conn: Connection, scope: Scope, roles: ChannelRoles) -> dict[str, tuple[int, int, int]]:
    """{row key: (本年制发, 本年废止, 现行有效)} for the scope's year.

    Written as one row per document with scalar subqueries (index probes), not as
    joins of grouped subqueries: PostgreSQL guessed one row for those and re-ran the
    groupings in nested loops, minutes at a million delivery events."""
    documents = select(R.c.item_pk).where(R.c.genre.in_(GENRES)).distinct()
    if scope.agency is not None:  # its items by their agency index, their revisions by item
        agency_items = select(ITEMS.c.pk).where(ITEMS.c.agency_code == scope.agency)
        documents = documents.where(R.c.item_pk.in_(agency_items))
    docs = documents.subquery("documents")
    w = D.alias("w")
    first_at = (
        select(func.min(w.c.delivered_at))
        .where(
            w.c.item_pk == docs.c.item_pk,
            delivered(w),
            roles.plays(w.c.kind, Role.PORTAL),
            w.c.delivered_at < scope.end,
        )
        .scalar_subquery()
    )
    state = (
        select(
            _at("genre", docs.c.item_pk, scope.end).label("genre"),
            _at("validity", docs.c.item_pk, scope.end).label("validity"),
            _at("validity", docs.c.item_pk, scope.start).label("validity_before"),
            first_at.label("first_at"),
        )
        .select_from(docs)
        .subquery("state")
    )
    invalid_now = func.coalesce(state.c.validity, "").in_(L.INVALID_VALIDITY)
    invalid_before = and_(
        state.c.first_at < scope.start, func.coalesce(state.c.validity_before, "").in_(L.INVALID_VALIDITY)
    )
    row = case(*[(state.c.genre.in_(genres), key) for key, (_, genres) in L.TABLE2_DOCUMENT_ROWS.items()])
    per_item = (
        select(
            row.label("row"),
            case((state.c.first_at >= scope.start, 1), else_=0).label("issued"),
            case((and_(invalid_now, ~invalid_before), 1), else_=0).label("repealed"),
            case((invalid_now, 0), else_=1).label("in_force"),
        )
        .where(state.c.first_at.is_not(None), state.c.genre.in_(GENRES))
        .subquery("flags")
    )
    rows = conn.execute(
        select(
            per_item.c.row,
            func.sum(per_item.c.issued),
            func.sum(per_item.c.repealed),
            func.sum(per_item.c.in_force),
        ).group_by(per_item.c.row)
    ).all()
    found = {key: (as_int(a), as_int(b), as_int(c)) for key, a, b, c in rows}
    return {key: found.get(key, (0, 0, 0)) for key in L.TABLE2_DOCUMENT_ROWS}


def document_rows(
    conn: Connection, scope: Scope, roles: ChannelRoles, last_year: LastYear
) -> tuple[list[DocumentRow], list[str]]:
    """The rows, and a warning for each that does not follow from last year's figure."""
    this_year = year_counts(conn, scope, roles)
    from_log = year_counts(conn, scope.previous(), roles)
    rows, warnings = [], []
    for key, (label, _) in L.TABLE2_DOCUMENT_ROWS.items():
        issued, repealed, in_force = this_year[key]
        given = getattr(last_year, key)
        previous = given if given is not None else from_log[key][2]
        rows.append(
            DocumentRow(
                key=key,
                label=label,
                issued=issued,
                repealed=repealed,
                in_force=in_force,
                last_year_in_force=previous,
                last_year_source="figures" if given is not None else "log",
            )
        )
        expected = previous + issued - repealed
        if expected != in_force:
            warnings.append(
                f"table 二 {label} 现行有效件数: the log gives {in_force}, but last year's {previous} "
                f"({'figures file' if given is not None else 'log'}) + 本年制发 {issued} "
                f"− 本年废止 {repealed} = {expected}"
            )
    return rows, warnings
