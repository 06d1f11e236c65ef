"""Settling a delivery ``in_doubt``: the channel may hold the item and cannot tell (an
answer was lost and no API can look it up), so an operator looks and says which.

- confirm: it is there; the operator gives its link (and the channel's id for it, when
  the channel needs one to update or delete it later). The channel turns that into its
  own reference (``Channel.confirmed_ref``), and the delivery is ``delivered``.
- resubmit: it is not there; the delivery is queued again and the channel sends it
  afresh instead of looking for the earlier attempt's result.

The console and the CLI both call these; each records who did it in the delivery log.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import select

from pipeline import db
from pipeline.errors import GovpubError
from pipeline.services import Services
from pipeline.states import DeliveryState
from pipeline.text import text_problem


class NotInDoubt(GovpubError):
    """The delivery does not exist or is not waiting for an operator's check."""


def _in_doubt(services: Services, delivery_id: int) -> Any:
    with services.engine.connect() as conn:
        row = conn.execute(
            select(db.deliveries.c.channel, db.deliveries.c.state, db.deliveries.c.progress).where(
                db.deliveries.c.id == delivery_id
            )
        ).first()
    if row is None:
        raise NotInDoubt(f"there is no delivery {delivery_id}")
    if row.state != DeliveryState.IN_DOUBT:
        raise NotInDoubt(f"delivery {delivery_id} is {row.state}, not in_doubt: there is nothing to settle")
    return row


def _text(what: str, value: str) -> None:
    problem = text_problem(value)
    if problem is not None:
        raise NotInDoubt(f"the {what}: {problem}")


def confirm(services: Services, delivery_id: int, operator: str, url: str, ident: str = "") -> dict[str, Any]:
    """The item is on the channel at ``url``: record the delivery as delivered."""
    _text("link", url)
    _text("id", ident)
    if urlsplit(url).scheme not in ("http", "https") or not urlsplit(url).netloc:
        raise NotInDoubt(f"{url!r} is not an http(s) link: give the published item's link")
    row = _in_doubt(services, delivery_id)
    ref = services.channel(row.channel).confirmed_ref(dict(row.progress or {}), url, ident.strip())
    note = f"checked on the channel: {url}" + (f" ({ident.strip()})" if ident.strip() else "")
    if not services.deliveries.confirm(delivery_id, operator, ref, note, services.clock()):
        raise NotInDoubt(f"delivery {delivery_id} changed meanwhile; look again")
    return ref


def resubmit(services: Services, delivery_id: int, operator: str, note: str) -> str:
    """The item is not on the channel: send it afresh. Returns the channel to enqueue for."""
    if len(note.strip()) < 2:
        raise NotInDoubt("say what you checked (e.g. 'not in the publish list'): it goes in the log")
    _text("note", note)
    row = _in_doubt(services, delivery_id)
    if not services.deliveries.resubmit(delivery_id, operator, note.strip()[:500], services.clock()):
        raise NotInDoubt(f"delivery {delivery_id} changed meanwhile; look again")
    return str(row.channel)
