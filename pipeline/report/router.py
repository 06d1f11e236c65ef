"""``GET /v1/reports/{year}``: the annual report's data as JSON, the same as
``govpub report --year YEAR --format json``, to each reader what is theirs.

Without a login the answer is the statutory figures (:class:`PublicReport`: counts,
tables, the narrative). A source's token adds the late items and retractions of its
own items. A console session (operator or auditor) gets everything: every title and
withdrawal reason, the delivery log's outcomes and the warnings; a browser sends the
console's cookie only under ``/console/``, so the console has the same report at
``/console/reports/{year}``. The figures are the year's default figures file
(``<data_dir>/reports/figures-<year>[-<agency>].toml``) when there is one, named
relative to ``data_dir``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path as FilePath
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import JSONResponse
from sqlalchemy import select

from pipeline import db
from pipeline.auth import authenticate
from pipeline.intake import ErrorBody
from pipeline.report.access import console_reach, registered
from pipeline.report.build import build_report, figures_for
from pipeline.report.figures import FiguresError
from pipeline.report.model import AnnualReport, PublicReport
from pipeline.report.scope import FIRST_YEAR, LAST_YEAR
from pipeline.services import Services

router = APIRouter(tags=["reports"])
AGENCY = r"^[0-9A-Za-z]{6,32}$"
Year = Annotated[int, Path(ge=FIRST_YEAR, le=LAST_YEAR, description="the year, in the agency's time zone")]
Agency = Annotated[str | None, Query(pattern=AGENCY, description="one agency's code (默认: all)")]


@dataclass(frozen=True)
class Reader:
    """Who asks: a console user (everything), a source (its own items), or anyone."""

    everything: bool = False
    source: str | None = None


@router.get(
    "/v1/reports/{year}",
    response_model=PublicReport | AnnualReport,
    responses={
        401: {"model": ErrorBody, "description": "a token was sent and is not valid"},
        404: {"model": ErrorBody, "description": "no such agency is registered"},
        422: {"model": ErrorBody, "description": "a year or agency out of range, or refused figures"},
    },
)
def annual_report(request: Request, year: Year, agency: Agency = None) -> Any:
    """The statutory figures of the year (counts per channel, category and month,
    timeliness, tables 二 to 四, the narrative); with a source's token also its own late
    items and retractions; with a console session the whole report."""
    return _answer(request, year, agency, _reader(request, agency))


@router.get("/console/reports/{year}", include_in_schema=False)
def console_report(request: Request, year: Year, agency: Agency = None) -> Any:
    """The whole report, for the console's users (the login gate checked the session):
    a user scoped to agencies reads only theirs (one agency: theirs by default); another
    agency's report is not found, as it is for every route of the console."""
    reach = console_reach(request)
    if not reach.platform:
        if agency is None and reach.agencies is not None and len(reach.agencies) == 1:
            agency = next(iter(reach.agencies))
        if agency is None:
            mine = ", ".join(sorted(reach.agencies or ()))
            return _error(422, "agency_required", f"name one of your agencies: ?agency= {mine}")
        if not reach.allows(agency):
            return _error(404, "not_found", f"no report of agency {agency}")
    return _answer(request, year, agency, Reader(everything=True))


def _error(status: int, code: str, message: str) -> JSONResponse:
    return JSONResponse({"error": code, "message": message, "details": []}, status_code=status)


def _reader(request: Request, agency: str | None) -> Reader:
    """A console session reads everything of the agencies it reaches (the platform's
    report only for a platform user)."""
    from pipeline.console.auth import SESSION_COOKIE

    session = request.cookies.get(SESSION_COOKIE)
    console = getattr(request.app.state, "console", None)
    user = console.sessions.user(session) if session and console is not None else None
    if user is not None and (user.reach.platform or (agency is not None and user.reach.allows(agency))):
        return Reader(everything=True)
    if "authorization" in request.headers:
        return Reader(source=authenticate(request))
    return Reader()


def _answer(request: Request, year: int, agency: str | None, reader: Reader) -> Any:
    services: Services = request.app.state.services
    if agency is not None and not registered(services, agency):
        return _error(404, "not_found", f"no agency {agency} is registered")
    try:
        figures, source = figures_for(services.settings, year, agency, None)
    except FiguresError as exc:
        body = {"error": "invalid_figures", "message": str(exc), "details": exc.problems}
        return JSONResponse(body, status_code=422)
    named = _relative(source, FilePath(services.settings.data_dir)) if source else None
    report = build_report(
        services.engine, services.settings, year, agency=agency, figures=figures, figures_source=named
    )
    if reader.everything:
        return report
    if reader.source is not None:
        return _own_items(report, reader.source, services)
    return PublicReport.of(report)


def _relative(path: str, data_dir: FilePath) -> str:
    """A figures file as the operator knows it, never as a path on this machine."""
    try:
        return str(FilePath(path).resolve().relative_to(data_dir.resolve()))
    except ValueError:
        return FilePath(path).name


def _own_items(report: AnnualReport, source: str, services: Services) -> AnnualReport:
    """The report with the lists that name items cut to ``source``'s own, and without
    what only operators see (the log's outcomes, the warnings, the figures file)."""
    counts = report.counts
    listed = {i.index_no for i in counts.timeliness.late_items} | {
        r.index_no for r in counts.retractions.items
    }
    with services.engine.connect() as conn:
        mine = set(
            conn.execute(
                select(db.items.c.index_no).where(
                    db.items.c.source == source, db.items.c.index_no.in_(listed)
                )
            ).scalars()
        )
    timeliness = counts.timeliness.model_copy(
        update={"late_items": [i for i in counts.timeliness.late_items if i.index_no in mine]}
    )
    retractions = counts.retractions.model_copy(
        update={"items": [r for r in counts.retractions.items if r.index_no in mine]}
    )
    own_counts = counts.model_copy(update={"timeliness": timeliness, "retractions": retractions, "log": []})
    return report.model_copy(update={"counts": own_counts, "warnings": [], "figures_source": None})


def _summary_routes() -> None:
    """The console's platform summary rides on this router (one include in the app)."""
    from pipeline.report.summary_web import router as summary

    router.include_router(summary)


_summary_routes()
