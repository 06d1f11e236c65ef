"""Bounces that come back later as delivery status notifications (RFC 3464, the
``message/delivery-status`` part of a ``multipart/report``): a ``5.x.x`` status is
permanent (the subscriber stops receiving), ``4.x.x`` transient (nothing changes: the
remote system keeps trying). ``govpub email bounce FILE`` applies one."""

from __future__ import annotations

from dataclasses import dataclass
from email import message_from_bytes, policy
from email.message import Message


@dataclass(frozen=True)
class Bounce:
    address: str
    status: str

    @property
    def permanent(self) -> bool:
        return self.status.startswith("5")


def parse(raw: bytes) -> list[Bounce]:
    """The failed recipients a DSN reports (none when ``raw`` is not one)."""
    message = message_from_bytes(raw, policy=policy.compat32)
    found: list[Bounce] = []
    for part in message.walk():
        if part.get_content_type() != "message/delivery-status":
            continue
        for block in _blocks(part):
            action = (block.get("Action") or "").strip().lower()
            recipient = block.get("Final-Recipient") or block.get("Original-Recipient") or ""
            address = recipient.partition(";")[2].strip() or recipient.strip()
            status = (block.get("Status") or "").strip()
            if action in ("failed", "delayed") and address and status[:1] in ("4", "5"):
                found.append(Bounce(address.lower(), status))
    return found


def _blocks(part: Message) -> list[Message]:
    """The per-message and per-recipient field blocks of a delivery-status part."""
    payload = part.get_payload()
    if isinstance(payload, list):
        return [p for p in payload if isinstance(p, Message)]
    blocks = str(payload).replace("\r\n", "\n").split("\n\n")
    return [message_from_bytes(b.strip().encode(), policy=policy.compat32) for b in blocks if b.strip()]
