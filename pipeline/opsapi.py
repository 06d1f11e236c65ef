"""The operator API: what an operator does in the console, as JSON under ``/v1/ops``,
for scripts and ``govpub ops``.

A console account's API token (``govpub users token NAME``, stored hashed in
``console_users.api_token_hash``) in ``Authorization: Bearer`` stands for that user and
its reach: lists hold only its agencies' items and deliveries, and another agency's
item or delivery answers 404 exactly like one that does not exist. Actions go through
:mod:`pipeline.console.operations`, the console's own code: an auditor's token is
refused (403 ``read_only``), every action is audited with the item's agency.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from pipeline.console import operations, queries
from pipeline.console.auth import User
from pipeline.errors import NotFound, Unauthorized
from pipeline.intake import ERRORS
from pipeline.services import Services
from pipeline.tenancy import OutOfReach, Reach
from pipeline.text import Str

T = TypeVar("T")
# read before the bearer token is checked: an action's body is a reason or a URL
OPS_BODY_BYTES = 16 * 1024
router = APIRouter(prefix="/v1/ops", tags=["operator API"], responses=ERRORS)


def ops_user(request: Request) -> User:
    """The console user whose operator API token the request carries, or 401."""
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("send 'Authorization: Bearer <token>' (govpub users token NAME)")
    user = request.app.state.console.accounts.for_token(token.strip())
    if user is None:
        raise Unauthorized("unknown or revoked operator token")
    return user


Operator = Annotated[User, Depends(ops_user)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class SkipIn(Strict):
    reason: Str = Field(min_length=2, max_length=500)


class ConfirmIn(Strict):
    url: Str = Field(max_length=2000)
    ident: Str = Field(default="", max_length=200)


class ResubmitIn(Strict):
    note: Str = Field(default="", max_length=500)


class RetractIn(Strict):
    reason: Str = Field(min_length=2, max_length=500)


def _services(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


def _within(call: Callable[[], T]) -> T:
    """Run an operation; out of reach becomes the 404 a missing thing gets."""
    try:
        return call()
    except OutOfReach as exc:
        raise NotFound(exc.message) from exc


@router.get("/whoami")
def whoami(user: Operator) -> dict[str, Any]:
    """The token's user, role and agencies (null: every agency), and whether it may act."""
    agencies = None if user.reach.platform else sorted(user.reach.agencies or ())
    return {"username": user.username, "role": user.role, "agencies": agencies, "may_act": user.may_act}


@router.get("/items")
async def list_items(
    request: Request, user: Operator, q: str = "", agency: str = "", before: int | None = None
) -> dict[str, Any]:
    """Items within reach (``q``: a 索引号 prefix, an item id or words of the title),
    newest first; ``next_before`` pages on."""
    reach = _within(lambda: _narrow(user, agency))
    services = _services(request)
    rows, next_before = await run_in_threadpool(
        queries.search_items, services.engine, q.strip()[:200], reach, before
    )
    return {"items": [_json(r) for r in rows], "next_before": next_before}


@router.get("/items/{item_pk}")
async def item(request: Request, user: Operator, item_pk: int) -> dict[str, Any]:
    """The item, its revisions' titles and its deliveries (ids to act on)."""
    services = _services(request)
    data = await run_in_threadpool(queries.item_timeline, services.engine, item_pk, user.reach)
    if data is None:
        raise NotFound(f"no item {item_pk}")
    fields = (
        "id",
        "channel",
        "action",
        "state",
        "revision",
        "attempts",
        "reason",
        "last_error",
        "agency_code",
    )
    return {
        "item": _json(data["item"]),
        "title": data["latest"]["title"],
        "deliveries": [_json({k: d[k] for k in fields}) for d in data["deliveries"]],
        "findings": data["findings"],
    }


@router.get("/deliveries")
async def list_deliveries(
    request: Request,
    user: Operator,
    channel: str = "",
    state: str = "",
    source: str = "",
    agency: str = "",
    date_from: Annotated[date | None, Query()] = None,
    date_to: Annotated[date | None, Query()] = None,
    before: int | None = None,
) -> dict[str, Any]:
    """Deliveries within reach, newest first (``state=failing``: retrying, in doubt, dead)."""
    reach = _within(lambda: _narrow(user, agency))
    services = _services(request)
    chosen = queries.DeliveryFilter(channel, state, source, date_from, date_to, before, agency)
    rows, next_before = await run_in_threadpool(
        queries.list_deliveries, services.engine, chosen, services.settings.timezone, reach
    )
    return {"deliveries": [_json(r) for r in rows], "next_before": next_before}


@router.post("/deliveries/{delivery_id}/retry", max_body_size=OPS_BODY_BYTES)
def retry(request: Request, user: Operator, delivery_id: int) -> dict[str, Any]:
    enqueue = request.app.state.enqueue
    return _within(lambda: operations.retry(_services(request), enqueue, user, delivery_id)).as_json()


@router.post("/deliveries/{delivery_id}/skip", max_body_size=OPS_BODY_BYTES)
def skip(request: Request, user: Operator, delivery_id: int, body: SkipIn) -> dict[str, Any]:
    return _within(lambda: operations.skip(_services(request), user, delivery_id, body.reason)).as_json()


@router.post("/deliveries/{delivery_id}/release", max_body_size=OPS_BODY_BYTES)
def release(request: Request, user: Operator, delivery_id: int, body: SkipIn) -> dict[str, Any]:
    """A delivery held by the checks goes out, with the operator's reason (audited)."""
    enqueue = request.app.state.enqueue
    done = _within(lambda: operations.release(_services(request), enqueue, user, delivery_id, body.reason))
    return done.as_json()


@router.post("/items/{item_pk}/release", max_body_size=OPS_BODY_BYTES)
def release_item(request: Request, user: Operator, item_pk: int, body: SkipIn) -> dict[str, Any]:
    """Every held delivery of the item goes out, with the operator's reason (audited)."""
    enqueue = request.app.state.enqueue
    done = _within(lambda: operations.release_item(_services(request), enqueue, user, item_pk, body.reason))
    return done.as_json()


@router.post("/deliveries/{delivery_id}/confirm", max_body_size=OPS_BODY_BYTES)
def confirm(request: Request, user: Operator, delivery_id: int, body: ConfirmIn) -> dict[str, Any]:
    """A delivery in doubt is on the channel at ``url``."""
    done = _within(lambda: operations.confirm(_services(request), user, delivery_id, body.url, body.ident))
    return done.as_json()


@router.post("/deliveries/{delivery_id}/resubmit", max_body_size=OPS_BODY_BYTES)
def resubmit(
    request: Request, user: Operator, delivery_id: int, body: ResubmitIn | None = None
) -> dict[str, Any]:
    """A delivery in doubt is not on the channel: send it afresh."""
    enqueue, note = request.app.state.enqueue, body.note if body else ""
    done = _within(lambda: operations.resubmit(_services(request), enqueue, user, delivery_id, note))
    return done.as_json()


@router.post("/items/{item_pk}/retract", max_body_size=OPS_BODY_BYTES)
def retract(request: Request, user: Operator, item_pk: int, body: RetractIn) -> dict[str, Any]:
    enqueue = request.app.state.enqueue
    done = _within(lambda: operations.retract(_services(request), enqueue, user, item_pk, body.reason))
    return done.as_json()


def _narrow(user: User, agency: str) -> Reach:
    return user.reach.narrow(agency.strip() or None)


def _json(row: dict[str, Any]) -> dict[str, Any]:
    return {k: v.isoformat() if hasattr(v, "isoformat") else v for k, v in row.items() if k != "external_ref"}
