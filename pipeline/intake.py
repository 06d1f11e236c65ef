"""The intake API: approved items in, answered once they are safely stored.

An item is refused (422, every problem listed, nothing stored) unless its
approval record is complete and its category is in its agency's taxonomy; before
that, its agency must be registered, active and bound to the source
(:mod:`pipeline.intake_agency`). A source reads and retracts only its own items of
its agencies: anything else answers as an item that does not exist. Accepted
items and their delivery rows are committed before the answer; the queue is
told afterwards and a lost message is recovered by the sweeper.
"""

from __future__ import annotations

from typing import Annotated, Any

import structlog
from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field, StringConstraints, ValidationError

from pipeline import registry, retraction
from pipeline.auth import SourceRoute, authenticate, require_same_source, source_of
from pipeline.errors import Forbidden, IntakeError, ValidationFailed
from pipeline.intake_agency import AgencyChecked, checked_agency
from pipeline.model import ItemIn, problems
from pipeline.services import Services
from pipeline.store import Accepted
from pipeline.tenancy import Reach, source_reach
from pipeline.text import Str

log = structlog.get_logger("govpub.intake")
router = APIRouter(prefix="/v1", tags=["intake"], route_class=SourceRoute)
Source = Annotated[str, Depends(source_of)]


class Receipt(BaseModel):
    source: str
    id: str
    revision: int
    index_no: str
    status: str = Field(description="accepted (new revision) or existing (same resubmission)")
    location: str
    warnings: list[str] = Field(
        default_factory=list, description="accepted with a change (the registry's agency name)"
    )


class BatchIn(BaseModel):
    items: list[dict[Str, Any]] = Field(
        min_length=1,
        description="at most batch_max_items items (GOVPUB_BATCH_MAX_ITEMS, 500 by default); "
        "a longer batch is refused whole with 422",
        json_schema_extra={"items": {"$ref": "#/components/schemas/ItemIn"}},
    )


class BatchAnswer(BaseModel):
    status: int
    receipt: Receipt | None = None
    error: dict[str, Any] | None = None


class RetractIn(BaseModel):
    reason: Annotated[Str, StringConstraints(strip_whitespace=True, min_length=2, max_length=500)]


class ErrorBody(BaseModel):
    """Every refusal: a stable code, a sentence, and the details (one per problem)."""

    error: str
    message: str
    details: list[Any] = Field(default_factory=list)


ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorBody, "description": text}
    for code, text in {
        400: "malformed request",
        401: "no or unknown token",
        403: "another source's items, or an agency not bound to the source (agency_not_bound)",
        404: "no such item",
        409: "conflicting or stale revision, or an index_no another item holds",
        413: "body too large",
        422: "invalid or unapproved item; unknown_agency, agency_retired, index_no_agency",
    }.items()
}


def services_of(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


def reach_of(services: Services, source: str) -> Reach:
    with services.engine.connect() as conn:
        return source_reach(conn, source)


def checked(services: Services, source: str, item: ItemIn, reach: Reach) -> AgencyChecked:
    """The item with its source set from the token (and its agency's registered name),
    or the reasons it is refused."""
    if item.source and item.source != source:
        raise Forbidden(f"token of source {source!r} cannot submit items of {item.source!r}")
    found_agency = checked_agency(services.registry, reach, with_source(item, source))
    item, settings = found_agency.item, services.settings
    taxonomy = found_agency.agency.taxonomy_or(settings.taxonomy)
    found = problems(item, taxonomy, services.channel_names(), services.clock(), settings.timezone)
    if found:
        raise ValidationFailed("item refused", found)
    return found_agency


def with_source(item: ItemIn, source: str) -> ItemIn:
    """The item as its source's, every reference it makes spelled out (an omitted source
    of an interpreted item is the item's own), so that the same item always hashes alike."""
    interprets = [ref.model_copy(update={"source": ref.source or source}) for ref in item.interprets]
    return item.model_copy(update={"source": source, "interprets": interprets})


def store_and_enqueue(
    request: Request, items: list[AgencyChecked]
) -> list[tuple[int, Receipt] | IntakeError]:
    """Check the items, commit them (one transaction: a holding finding makes its
    channels' deliveries ``held``), then tell the queue once for all of them."""
    services = services_of(request)
    batch = [(c.item, services.channels_for(c.item.agency.code, c.item.channels)) for c in items]
    outcomes = [services.checks.run(item, channels) for item, channels in batch]  # pipeline.checks.stage
    accepted = services.store.accept_many(batch, outcomes=outcomes)
    work = [w for a in accepted if not isinstance(a, IntakeError) for w in a.work]
    if work:
        request.app.state.enqueue(work)
    return [
        a if isinstance(a, IntakeError) else receipt(c.item, a, c.warnings)
        for c, a in zip(items, accepted, strict=True)
    ]


def receipt(item: ItemIn, accepted: Accepted, warnings: tuple[str, ...] = ()) -> tuple[int, Receipt]:
    answer = Receipt(
        source=item.source,
        id=item.id,
        revision=item.revision,
        index_no=accepted.index_no,
        status="accepted" if accepted.created else "existing",
        location=f"/v1/items/{item.source}/{item.id}",
        warnings=list(warnings),
    )
    return (202 if accepted.created else 200), answer


@router.post(
    "/items",
    status_code=202,
    response_model=Receipt,
    responses={200: {"model": Receipt, "description": "identical resubmission"}, **ERRORS},
)
def post_item(request: Request, item: ItemIn, source: Source) -> JSONResponse:
    """Submit one approved item (or a new revision of one)."""
    services = services_of(request)
    (answer,) = store_and_enqueue(request, [checked(services, source, item, reach_of(services, source))])
    if isinstance(answer, IntakeError):
        raise answer
    status, body = answer
    return JSONResponse(body.model_dump(), status_code=status)


@router.post("/items:batch", response_model=list[BatchAnswer], responses=ERRORS)
def post_batch(request: Request, batch: BatchIn, source: Source) -> list[BatchAnswer]:
    """Submit up to ``batch_max_items`` items; each is answered on its own, in order."""
    services = services_of(request)
    limit = services.settings.batch_max_items
    if len(batch.items) > limit:
        detail = f"items: {len(batch.items)} items; at most {limit} in one batch (batch_max_items)"
        raise ValidationFailed("batch refused", [detail])
    answers: list[BatchAnswer | None] = []
    valid: list[tuple[int, AgencyChecked]] = []
    reach = reach_of(services, source)
    for raw in batch.items:
        try:
            valid.append((len(answers), checked(services, source, ItemIn.model_validate(raw), reach)))
            answers.append(None)
        except ValidationError as exc:
            answers.append(refusal(ValidationFailed("item refused", validation_details(exc))))
        except IntakeError as exc:
            answers.append(refusal(exc))
    stored = store_and_enqueue(request, [item for _, item in valid]) if valid else []
    for (position, _), result in zip(valid, stored, strict=True):
        if isinstance(result, IntakeError):
            answers[position] = refusal(result)
        else:
            answers[position] = BatchAnswer(status=result[0], receipt=result[1])
    return [a for a in answers if a is not None]


def refusal(exc: IntakeError) -> BatchAnswer:
    return BatchAnswer(status=exc.status, error=exc.to_json())


@router.get("/items/{source}/{item_id}", responses=ERRORS)
def get_item(request: Request, source: str, item_id: str, caller: Source) -> dict[str, Any]:
    """The item's latest revision and the state of each of its deliveries (404 for an
    item of an agency the source is no longer bound to, as for one that does not exist)."""
    require_same_source(caller, source)
    services = services_of(request)
    status = services.store.item_status(source, item_id, reach_of(services, caller))
    return {**status, "deliveries": [source_view(d) for d in status["deliveries"]]}


SOURCE_FIELDS = (
    "id", "channel", "action", "revision", "state", "attempts", "reason", "last_error_class", "last_error",
    "next_attempt_at", "created_at", "updated_at", "delivered_at",
)  # fmt: skip
PUBLIC_LINKS = ("url", "page_url", "article_url")


def source_view(delivery: dict[str, Any]) -> dict[str, Any]:
    """A delivery as its source sees it: state, attempts, times, why it failed, where
    the item can be read (public http(s) links) and the channel's notes for people
    ("image 2 could not be fetched: shown as its alt text"). Never the channel's
    receipt (archive receipts, package and WeChat ids), the worker, the lease or
    internal keys."""
    ref = delivery.get("external_ref") or {}
    links = {
        key: str(ref[key])
        for key in PUBLIC_LINKS
        if isinstance(ref.get(key), str) and str(ref[key]).startswith(("https://", "http://"))
    }
    notes = [str(n) for n in ref.get("notes") or [] if isinstance(n, str)]
    return {**{key: delivery.get(key) for key in SOURCE_FIELDS}, "links": links, "notes": notes}


@router.delete("/items/{source}/{item_id}", status_code=202, responses=ERRORS)
def retract_item(
    request: Request, source: str, item_id: str, body: RetractIn, caller: Source
) -> dict[str, Any]:
    """Retract (撤回) an item everywhere, with a reason kept in the record."""
    require_same_source(caller, source)
    services = services_of(request)
    reach = reach_of(services, caller)
    work = retraction.retract(services, request.app.state.enqueue, source, item_id, body.reason, reach=reach)
    return {"source": source, "id": item_id, "status": "retracted", "channels": len(work)}


@router.get("/status", tags=["operations"], responses={401: ERRORS[401]})
def status(request: Request) -> dict[str, dict[str, int]]:
    """Delivery counts: ``{channel: {state: count}}``; with a source's token, of the
    items of its agencies only (without one: the installation's, as ``/`` and
    ``/metrics`` show them)."""
    services = services_of(request)
    if "authorization" not in request.headers:
        return services.store.counts()
    return services.store.counts(reach_of(services, authenticate(request)))


def validation_details(exc: Any) -> list[str]:
    return [validation_detail(err) for err in exc.errors()]


def validation_detail(err: Any) -> str:
    """``where: what``; an unknown top-level field (perhaps one of a channel kind not
    installed here) also names the fields the installed kinds add to the item."""
    where = ".".join(str(p) for p in err["loc"] if p != "body") or "body"
    if err["type"] == "extra_forbidden" and "." not in where:
        added = ", ".join(sorted(registry.item_fields())) or "none"
        return f"{where}: {err['msg']} (fields the installed channels add: {added})"
    return f"{where}: {err['msg']}"
