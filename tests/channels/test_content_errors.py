"""A content error inside a channel is permanent, with a message an operator can act
on: an item stored before the intake's text rule (a control character in its agency's
name, a keyword, a check note, an attachment name) goes out where its content can be
written, and dies at once, never retried, where it cannot (the archive's XML)."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select, update

from pipeline import db
from pipeline.app import create_app
from pipeline.config import ChannelConfig
from pipeline.model import ItemIn
from pipeline.schema import upgrade
from pipeline.services import build_services
from tests.channels.archive_support import receiver_options
from tests.helpers import TEST_AGENCY, TEST_AGENCY_NAME, make_item, register_agencies, wait_until

WAITING = ("pending", "queued", "sending", "retrying")


def stored_with_control_characters(services: Any) -> str:
    """An item accepted cleanly, then its stored document given what an older intake let in."""
    pdf = {
        "name": "附件.pdf",
        "media_type": "application/pdf",
        "content_base64": base64.b64encode(b"%PDF").decode(),
    }
    item = ItemIn.model_validate(make_item(1, source="test", keywords=["招生"], attachments=[pdf]))
    accepted = services.store.accept(item, services.channels_for(item.agency.code, None))
    with services.engine.begin() as conn:
        doc = conn.execute(select(db.revisions.c.document)).scalar_one()
        doc["agency"]["name"] += "\x07"
        doc["keywords"] = ["招\x1b生"]
        doc["approval"]["checks"][0]["note"] = "已审\x00核"
        doc["attachments"][0]["name"] = "附\x08件.pdf"
        conn.execute(update(db.revisions).values(document=doc))
    return accepted.index_no


def test_an_unwritable_item_is_dead_at_once_where_it_cannot_be_written(
    settings_for: Any, db_url: str, tmp_path: Path
) -> None:
    channels = {
        "memory": ChannelConfig(kind="memory"),
        "website": ChannelConfig(kind="website"),
        "feed": ChannelConfig(kind="feed"),
        "library": ChannelConfig(
            kind="archive", options=receiver_options(tmp_path / "drop", schedule="per-item")
        ),
    }
    services = build_services(settings_for(database_url=db_url, channels=channels, max_attempts=8))
    upgrade(services.engine)
    register_agencies(services.engine, {TEST_AGENCY: TEST_AGENCY_NAME})
    index_no = stored_with_control_characters(services)

    def settled() -> dict[str, Any] | None:
        with services.engine.connect() as conn:
            rows = conn.execute(select(db.deliveries)).all()
        return {r.channel: r for r in rows} if all(r.state not in WAITING for r in rows) else None

    with TestClient(create_app(services.settings, services)):  # the in-process worker and sweeper
        rows = wait_until(settled, 60, "every delivery settled")
    assert {name: row.state for name, row in rows.items()} == {
        "memory": "delivered",
        "website": "delivered",
        "feed": "delivered",
        "library": "dead",
    }
    archive = rows["library"]
    assert archive.attempts == 1 and archive.last_error_class == "PermanentError"
    assert index_no in archive.last_error and "corrected revision" in archive.last_error
    assert "XML compatible" in archive.last_error
    services.engine.dispose()
