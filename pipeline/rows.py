"""The rows an accepted revision writes: its item, revision, findings and deliveries.

Both intake paths (one item at a time in :mod:`pipeline.store`, a set at a time in
:mod:`pipeline.store_set`) build their rows here, so an item is stored the same
whichever path took it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from pipeline import db
from pipeline.checks.findings import NOTHING, Outcome
from pipeline.db import insert_ignore
from pipeline.model import InterpretedItem, ItemIn, Published, StoredAttachment
from pipeline.sanitize import sanitize_html

Work = tuple[int, str]  # (delivery id, channel name): what the queue needs


@dataclass
class Accepted:
    """The answer to one submission."""

    item_pk: int
    index_no: str
    revision: int
    created: bool
    work: list[Work]


@dataclass(frozen=True)
class Stored:
    """An item's row as its revisions and deliveries copy it: pk and agency."""

    item_pk: int
    agency_code: str


def item_row(item: ItemIn, index_no: str, now: datetime) -> dict[str, Any]:
    return {
        "source": item.source,
        "item_id": item.id,
        "index_no": index_no,
        "agency_code": item.agency.code,
        "latest_revision": item.revision,
        "created_at": now,
    }


def published(
    conn: Connection,
    item: ItemIn,
    index_no: str,
    now: datetime,
    interprets: list[InterpretedItem] | None = None,
) -> Published:
    """The revision as channels will read it (sanitised body, attachments kept as blobs,
    the items it interprets as resolved)."""

    def keep(att: Any) -> StoredAttachment:
        data = att.content()
        sha = hashlib.sha256(data).hexdigest()
        insert_ignore(conn, db.blobs, {"sha256": sha, "size": len(data), "data": data})
        return StoredAttachment(name=att.name, media_type=att.media_type, size=len(data), sha256=sha)

    fields = item.model_dump(exclude={"attachments", "cover_image", "channels", "body_html", "interprets"})
    fields["index_no"] = index_no
    fields["interprets"] = interprets or []
    return Published(
        **fields,
        body_html=sanitize_html(item.body_html),
        attachments=[keep(a) for a in item.attachments],
        cover_image=keep(item.cover_image) if item.cover_image else None,
        accepted_at=now,
    )


def revision_row(
    stored: Stored, item: ItemIn, body_hash: str, document: Published, now: datetime
) -> dict[str, Any]:
    return {
        "item_pk": stored.item_pk,
        "agency_code": stored.agency_code,
        "revision": item.revision,
        "body_hash": body_hash,
        "title": item.title,
        "category": item.category,
        "subcategory": item.subcategory,
        "genre": item.genre,
        "validity": item.validity,
        "generated_on": item.generated_on,
        "accepted_at": now,
        "document": document.model_dump(mode="json"),
    }


def finding_rows(
    stored: Stored, revision_pk: int, revision: int, outcome: Outcome, now: datetime
) -> list[dict[str, Any]]:
    """The checks' findings on a new revision."""
    return [
        {
            "item_pk": stored.item_pk,
            "revision_pk": revision_pk,
            "revision": revision,
            "agency_code": stored.agency_code,
            "check_name": f.check,
            "severity": f.severity,
            "location": f.where[:500],
            "found": f.found,
            "suggestion": f.suggestion,
            "note": f.note,
            "created_at": now,
        }
        for f in outcome.findings
    ]


def delivery_rows(
    stored: Stored,
    revision_pk: int,
    revision: int,
    channels: Mapping[str, bool],
    kinds: Mapping[str, str],
    now: datetime,
    action: str = "publish",
    held: Outcome = NOTHING,
) -> list[dict[str, Any]]:
    """One delivery per channel: ``pending``, ``held`` (a check holds it) or ``skipped``
    (not wanted). A channel not in ``kinds`` is of the kind it is named after."""
    return [
        {
            "item_pk": stored.item_pk,
            "agency_code": stored.agency_code,
            "revision_pk": revision_pk,
            "revision": revision,
            "channel": name,
            "kind": kinds.get(name, name),
            "action": action,
            "state": ("held" if name in held.held else "pending") if wanted else "skipped",
            "reason": (held.reason() if name in held.held else None)
            if wanted
            else "not requested for this item",
            "attempts": 0,
            "claim_no": 0,
            "next_attempt_at": now,
            "created_at": now,
            "updated_at": now,
        }
        for name, wanted in channels.items()
    ]
