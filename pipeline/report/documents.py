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
from pipeline.report.scope import ChannelRoles, Scope, as_int

GENRES = [genre for _, genres in L.TABLE2_DOCUMENT_ROWS.values() for genre in genres]


def _as_of(documents: Any, moment: Any, name: str) -> Any:
    """(item_pk, genre, validity) of each document's revision in force at ``moment``."""
    r, latest = R.alias(f"{name}_r"), R.alias(f"{name}_latest")
    revs = (
        select(r.c.item_pk, func.max(r.c.revision).label("rev"))
        .where(r.c.item_pk.in_(documents), r.c.accepted_at < moment)
        .group_by(r.c.item_pk)
        .subquery(f"{name}_rev")
    )
    return (
        select(revs.c.item_pk, latest.c.genre, latest.c.validity)
        .join_from(revs, latest, and_(latest.c.item_pk == revs.c.item_pk, latest.c.revision == revs.c.rev))
        .subquery(name)
    )


def year_counts(conn: Connection, scope: Scope, roles: ChannelRoles) -> dict[str, tuple[int, int, int]]:
    """{row key: (本年制发, 本年废止, 现行有效)} for the scope's year."""
    documents = select(R.c.item_pk).where(R.c.genre.in_(GENRES)).distinct()
    now, before = _as_of(documents, scope.end, "now"), _as_of(documents, scope.start, "before")
    w = D.alias("w")
    live = (
        select(w.c.item_pk, func.min(w.c.delivered_at).label("first_at"))
        .where(
            w.c.item_pk.in_(documents),
            delivered(w),
            roles.plays(w.c.channel, "website"),
            w.c.delivered_at < scope.end,
        )
        .group_by(w.c.item_pk)
        .subquery("live")
    )
    invalid_now = func.coalesce(now.c.validity, "").in_(L.INVALID_VALIDITY)
    invalid_before = and_(
        live.c.first_at < scope.start, func.coalesce(before.c.validity, "").in_(L.INVALID_VALIDITY)
    )
    row = case(*[(now.c.genre.in_(genres), key) for key, (_, genres) in L.TABLE2_DOCUMENT_ROWS.items()])
    source = now.join(live, live.c.item_pk == now.c.item_pk).outerjoin(
        before, before.c.item_pk == now.c.item_pk
    )
    where = [now.c.genre.in_(GENRES)]
    if scope.agency is not None:
        source = source.join(ITEMS, ITEMS.c.pk == now.c.item_pk)
        where.append(ITEMS.c.agency_code == scope.agency)
    per_item = (
        select(
            row.label("row"),
            case((live.c.first_at >= scope.start, 1), else_=0).label("issued"),
            case((and_(invalid_now, ~invalid_before), 1), else_=0).label("repealed"),
            case((invalid_now, 0), else_=1).label("in_force"),
        )
        .select_from(source)
        .where(*where)
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
