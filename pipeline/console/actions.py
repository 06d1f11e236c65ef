"""What operators may do from the console: retry a delivery now, skip it with a
reason, settle a delivery in doubt (confirm it with its link, or resubmit it), retract
an item with a reason (confirmed).

Every action is a POST with the session's CSRF token, refused with 403 for an
auditor or a wrong token before anything changes; the operation itself
(:mod:`pipeline.console.operations`, shared with the operator API) checks the user's
reach (a delivery or item of another agency answers the not-found page, like one that
does not exist), records it in the audit log and hands it to the queue.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

import structlog
from fastapi import APIRouter, Form, Request
from fastapi.responses import Response

from pipeline.console import operations
from pipeline.console.auth import User
from pipeline.console.pages import PREFIX, back_to, console_of, not_found, operator
from pipeline.errors import IntakeError
from pipeline.services import Services

log = structlog.get_logger("govpub.console")
router = APIRouter(prefix=PREFIX, include_in_schema=False)
Text = Annotated[str, Form()]


def _act(
    request: Request, csrf: str, back: str, name: str, act: Callable[[Services, User], operations.Done]
) -> Response:
    """Check the operator and the form, run the operation, say what happened."""
    user = operator(request, csrf)
    if isinstance(user, Response):
        return user
    try:
        done = act(console_of(request).services, user)
    except operations.Unseen as exc:
        return not_found(request, exc.in_chinese)
    except IntakeError as exc:  # bad input or a state that does not allow it
        return back_to(back, exc.message)
    log.info(f"console {name}", username=user.username, item=done.item_pk, delivery=done.delivery_id)
    return back_to(back, done.notice)


@router.post("/deliveries/{delivery_id}/retry")
def retry(request: Request, delivery_id: int, csrf: Text = "", back: Text = "") -> Response:
    enqueue = request.app.state.enqueue
    return _act(request, csrf, back, "retry", lambda s, u: operations.retry(s, enqueue, u, delivery_id))


@router.post("/deliveries/{delivery_id}/skip")
def skip(request: Request, delivery_id: int, csrf: Text = "", reason: Text = "", back: Text = "") -> Response:
    return _act(request, csrf, back, "skip", lambda s, u: operations.skip(s, u, delivery_id, reason))


@router.post("/deliveries/{delivery_id}/release")
def release(
    request: Request, delivery_id: int, csrf: Text = "", reason: Text = "", back: Text = ""
) -> Response:
    """A delivery held by the checks goes out, with the operator's reason."""
    enqueue = request.app.state.enqueue
    return _act(
        request, csrf, back, "release", lambda s, u: operations.release(s, enqueue, u, delivery_id, reason)
    )


@router.post("/deliveries/{delivery_id}/confirm")
def confirm(
    request: Request, delivery_id: int, csrf: Text = "", url: Text = "", ident: Text = "", back: Text = ""
) -> Response:
    """A delivery in doubt is on the channel: the operator gives its link."""
    return _act(
        request, csrf, back, "confirm", lambda s, u: operations.confirm(s, u, delivery_id, url, ident)
    )


@router.post("/deliveries/{delivery_id}/resubmit")
def resubmit(
    request: Request, delivery_id: int, csrf: Text = "", note: Text = "", back: Text = ""
) -> Response:
    """A delivery in doubt is not on the channel: send it afresh."""
    enqueue = request.app.state.enqueue
    return _act(
        request, csrf, back, "resubmit", lambda s, u: operations.resubmit(s, enqueue, u, delivery_id, note)
    )


@router.post("/items/{item_pk}/retract")
def retract(
    request: Request, item_pk: int, csrf: Text = "", reason: Text = "", confirm: Text = "", back: Text = ""
) -> Response:
    enqueue = request.app.state.enqueue

    def act(services: Services, user: User) -> operations.Done:
        operations.item_in_reach(services.engine, user, item_pk)  # out of reach: not found first
        if len(reason.strip()) < 2 or confirm != "yes":
            raise operations.NotPossible("撤回需要填写原因并勾选确认")
        return operations.retract(services, enqueue, user, item_pk, reason)

    return _act(request, csrf, back, "retract", act)
