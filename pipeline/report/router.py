"""``GET /v1/reports/{year}``: the annual report's data as JSON, the same as
``govpub report --year YEAR --format json``.

The figures are the year's default figures file (``<data_dir>/reports/
figures-<year>[-<agency>].toml``) when there is one. The answer carries item titles
and retraction reasons but no content; like ``/v1/overview`` it needs no login, so
put it behind the operators' access rule at the proxy if the draft must stay private.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import JSONResponse

from pipeline.intake import ErrorBody
from pipeline.report.build import build_report, figures_for
from pipeline.report.figures import FiguresError
from pipeline.report.model import AnnualReport
from pipeline.report.scope import FIRST_YEAR, LAST_YEAR
from pipeline.services import Services

router = APIRouter(prefix="/v1", tags=["reports"])
AGENCY = r"^[0-9A-Za-z]{6,32}$"


@router.get(
    "/reports/{year}",
    response_model=AnnualReport,
    responses={422: {"model": ErrorBody, "description": "a year or agency out of range, or refused figures"}},
)
def annual_report(
    request: Request,
    year: Annotated[
        int, Path(ge=FIRST_YEAR, le=LAST_YEAR, description="the year, in the agency's time zone")
    ],
    agency: Annotated[str | None, Query(pattern=AGENCY, description="one agency's code (默认: all)")] = None,
) -> Any:
    """Counts per channel, category and month, timeliness, retractions, table 二's
    documents, the operator's tables 三 and 四, the narrative and any warnings."""
    services: Services = request.app.state.services
    try:
        figures, source = figures_for(services.settings, year, agency, None)
    except FiguresError as exc:
        body = {"error": "invalid_figures", "message": str(exc), "details": exc.problems}
        return JSONResponse(body, status_code=422)
    report = build_report(
        services.engine, services.settings, year, agency=agency, figures=figures, figures_source=source
    )
    return report
