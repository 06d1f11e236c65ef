"""The intake API: approved items in, answered once they are safely stored.

An item is refused (422, every problem listed, nothing stored) unless its
approval record is complete and its category is in the taxonomy. Accepted
items and their delivery rows are committed before the answer; the queue is
told afterwards and a lost message is recovered by the sweeper.
"""

from __future__ import annotations

from typing import Annotated, Any

import structlog
from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field, ValidationError

from pipeline.auth import require_same_source, source_of
from pipeline.errors import Forbidden, IntakeError, ValidationFailed
from pipeline.model import ItemIn, problems
from pipeline.services import Services

log = structlog.get_logger("govpub.intake")
router = APIRouter(prefix="/v1", tags=["intake"])
Source = Annotated[str, Depends(source_of)]


class Receipt(BaseModel):
    source: str
    id: str
    revision: int
    index_no: str
    status: str = Field(description="accepted (new revision) or existing (same resubmission)")
    location: str


class BatchIn(BaseModel):
    items: list[dict[str, Any]] = Field(
        min_length=1,
        max_length=500,
        json_schema_extra={"items": {"$ref": "#/components/schemas/ItemIn"}},
    )


class BatchAnswer(BaseModel):
    status: int
    receipt: Receipt | None = None
    error: dict[str, Any] | None = None


class RetractIn(BaseModel):
    reason: str = Field(min_length=2, max_length=500)


ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"description": text}
    for code, text in {
        400: "malformed request",
        401: "no or unknown token",
        403: "another source's item",
        404: "no such item",
        409: "conflicting or stale revision",
        413: "body too large",
        422: "invalid or unapproved item",
    }.items()
}


def services_of(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


def submit(request: Request, source: str, item: ItemIn) -> tuple[int, Receipt]:
    """Validate, store and enqueue one item; shared by the single and batch routes."""
    services = services_of(request)
    if item.source and item.source != source:
        raise Forbidden(f"token of source {source!r} cannot submit items of {item.source!r}")
    item = item.model_copy(update={"source": source})
    found = problems(item, services.settings.taxonomy, services.channel_names())
    if found:
        raise ValidationFailed("item refused", found)
    accepted = services.store.accept(item, services.wanted_channels(item.channels))
    if accepted.work:
        request.app.state.enqueue(accepted.work)
    receipt = Receipt(
        source=source,
        id=item.id,
        revision=item.revision,
        index_no=accepted.index_no,
        status="accepted" if accepted.created else "existing",
        location=f"/v1/items/{source}/{item.id}",
    )
    return (202 if accepted.created else 200), receipt


@router.post(
    "/items",
    status_code=202,
    response_model=Receipt,
    responses={200: {"model": Receipt, "description": "identical resubmission"}, **ERRORS},
)
def post_item(request: Request, item: ItemIn, source: Source) -> JSONResponse:
    """Submit one approved item (or a new revision of one)."""
    status, receipt = submit(request, source, item)
    return JSONResponse(receipt.model_dump(), status_code=status)


@router.post("/items:batch", response_model=list[BatchAnswer], responses=ERRORS)
def post_batch(request: Request, batch: BatchIn, source: Source) -> list[BatchAnswer]:
    """Submit up to 500 items; each is answered on its own, in order."""
    answers = []
    for raw in batch.items:
        try:
            item = ItemIn.model_validate(raw)
            status, receipt = submit(request, source, item)
            answers.append(BatchAnswer(status=status, receipt=receipt))
        except ValidationError as exc:
            err = ValidationFailed("item refused", validation_details(exc))
            answers.append(BatchAnswer(status=422, error=err.to_json()))
        except IntakeError as exc:
            answers.append(BatchAnswer(status=exc.status, error=exc.to_json()))
    return answers


@router.get("/items/{source}/{item_id}", responses=ERRORS)
def get_item(request: Request, source: str, item_id: str, caller: Source) -> dict[str, Any]:
    """The item's latest revision and the state of each of its deliveries."""
    require_same_source(caller, source)
    return services_of(request).store.item_status(source, item_id)


@router.delete("/items/{source}/{item_id}", status_code=202, responses=ERRORS)
def retract_item(
    request: Request, source: str, item_id: str, body: RetractIn, caller: Source
) -> dict[str, Any]:
    """Retract (撤回) an item everywhere, with a reason kept in the record."""
    require_same_source(caller, source)
    work = services_of(request).store.retract(source, item_id, body.reason)
    if work:
        request.app.state.enqueue(work)
    return {"source": source, "id": item_id, "status": "retracted", "channels": len(work)}


@router.get("/status", tags=["operations"])
def status(request: Request) -> dict[str, dict[str, int]]:
    """Delivery counts: ``{channel: {state: count}}``."""
    return services_of(request).store.counts()


def validation_details(exc: Any) -> list[str]:
    return [
        f"{'.'.join(str(p) for p in err['loc'] if p != 'body') or 'body'}: {err['msg']}"
        for err in exc.errors()
    ]
