"""``/console/platform/{year}``: the platform summary in the console (and as xlsx), for
the platform's administrators and auditors only; anyone else finds nothing there."""

from __future__ import annotations

from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from pipeline.report.access import console_reach
from pipeline.report.scope import FIRST_YEAR, LAST_YEAR
from pipeline.report.summary import build_summary
from pipeline.services import Services

router = APIRouter()
Year = Annotated[int, Path(ge=FIRST_YEAR, le=LAST_YEAR)]
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@router.get("/console/platform", include_in_schema=False)
def this_year(request: Request) -> RedirectResponse:
    """The summary of the current year (in the platform's time zone)."""
    services: Services = request.app.state.services
    year = services.clock().astimezone(ZoneInfo(services.settings.timezone)).year
    return RedirectResponse(f"/console/platform/{year}", status_code=303)


@router.get("/console/platform/{year}", include_in_schema=False)
async def platform_summary(
    request: Request,
    year: Year,
    sort: Annotated[str, Query(max_length=40)] = "",
    format: Annotated[str, Query(pattern="^(html|xlsx|json)$")] = "html",
) -> Any:
    from pipeline.console.pages import console_of

    services: Services = request.app.state.services
    console = console_of(request)
    reach = console_reach(request)
    if not reach.platform:
        return console.render(request, "not_found.html", status=404, what=f"平台汇总 {year}")
    made = await run_in_threadpool(build_summary, services.engine, services.settings, year)
    try:
        made = made.sorted_by(sort or None)
    except ValueError as exc:
        return JSONResponse({"error": "bad_sort", "message": str(exc), "details": []}, status_code=422)
    if format == "xlsx":
        from pipeline.report.summary_xlsx import render_summary_xlsx

        body = await run_in_threadpool(render_summary_xlsx, made)
        disposition = f'attachment; filename="platform-summary-{year}.xlsx"'
        return Response(body, media_type=XLSX, headers={"content-disposition": disposition})
    if format == "json":
        return made.as_json()
    return console.render(request, "platform.html", summary=made, sort=sort, year=year)
