"""The disclosure item as upstream systems submit it, and its validation.

Structure and types are checked by pydantic; the approval rule (一事一审查、先审查、
后公开) and the agency's taxonomy are checked by :func:`problems`, which lists
*every* problem at once so an upstream system can fix an item in one round.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from datetime import UTC, date, datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
ShortText = Annotated[str, StringConstraints(strip_whitespace=True, max_length=64)]

CHECK_KINDS = ("confidentiality", "legality", "authenticity")
CHECK_LABELS = {"confidentiality": "保密审查", "legality": "合法性审查", "authenticity": "真实性审查"}
MAX_ATTACHMENT_BYTES = 20 * 1024 * 1024


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class Agency(Strict):
    name: Text
    code: Annotated[str, StringConstraints(pattern=r"^[0-9A-Za-z]{6,32}$")]


class Check(Strict):
    kind: Literal["confidentiality", "legality", "authenticity"]
    reviewer: Text
    at: datetime
    result: Literal["pass", "fail"]
    note: str | None = None


class Approver(Strict):
    role: Text
    name: str | None = None
    at: datetime


class Approval(Strict):
    form_no: Annotated[str, StringConstraints(strip_whitespace=True, max_length=64)] = ""
    checks: list[Check] = Field(default_factory=list, max_length=20)
    approver: Approver | None = None


class Attachment(Strict):
    """A file of the item, submitted inline; stored once by its SHA-256."""

    name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=255)]
    media_type: Annotated[str, StringConstraints(pattern=r"^[\w.+-]+/[\w.+-]+$")] = "application/octet-stream"
    content_base64: str = Field(repr=False)

    @field_validator("content_base64")
    @classmethod
    def _decodable(cls, value: str) -> str:
        try:
            data = base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise ValueError("content_base64 is not valid base64") from exc
        if len(data) > MAX_ATTACHMENT_BYTES:
            raise ValueError(f"attachment larger than {MAX_ATTACHMENT_BYTES} bytes")
        return value

    def content(self) -> bytes:
        return base64.b64decode(self.content_base64)


class ItemIn(Strict):
    """One disclosure item (政府信息公开目录 metadata plus content and approval)."""

    source: Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9_.-]{0,63}$")] = ""
    id: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$")]
    revision: int = Field(ge=1, le=1_000_000)
    index_no: Annotated[str, StringConstraints(pattern=r"^[0-9A-Za-z]{6,32}/\d{4}-\d{5}$")] | None = None
    title: Text
    wechat_title: Annotated[str, StringConstraints(strip_whitespace=True, max_length=64)] | None = None
    agency: Agency
    generated_on: date = Field(ge=date(1949, 10, 1), le=date(2999, 12, 31))
    doc_no: ShortText | None = None
    category: Text
    subcategory: ShortText | None = None
    genre: ShortText | None = None
    validity: Literal["有效", "废止", "失效"] | None = None
    keywords: list[ShortText] = Field(default_factory=list, max_length=20)
    summary: Annotated[str, StringConstraints(strip_whitespace=True, max_length=2000)] = ""
    body_html: Annotated[str, StringConstraints(max_length=2_000_000)] = ""
    attachments: list[Attachment] = Field(default_factory=list, max_length=50)
    cover_image: Attachment | None = None
    channels: list[ShortText] | None = None
    approval: Approval

    @field_validator("title", "summary", "wechat_title", "doc_no", "genre")
    @classmethod
    def _plain_text(cls, value: str | None) -> str | None:
        """Titles and metadata are text: markup in them is kept as literal text downstream,
        never interpreted; control characters are refused here."""
        if value is not None and any(ord(ch) < 32 and ch not in "\t\n" for ch in value):
            raise ValueError("control characters are not allowed")
        return value


def approval_problems(approval: Approval, now: datetime) -> list[str]:
    """Everything that keeps the approval record from being complete."""
    found: list[str] = []
    if not approval.form_no:
        found.append("approval.form_no: 审批表编号 is missing")
    by_kind: dict[str, Check] = {c.kind: c for c in approval.checks}
    for kind in CHECK_KINDS:
        check = by_kind.get(kind)
        label = CHECK_LABELS[kind]
        if check is None:
            found.append(f"approval.checks: {kind} check ({label}) is missing")
        elif check.result != "pass":
            found.append(f"approval.checks: {kind} check ({label}) did not pass")
        elif check.at.tzinfo is None:
            found.append(f"approval.checks: {kind} check time needs a time zone")
        elif check.at > now:
            found.append(f"approval.checks: {kind} check time is in the future")
    approver = approval.approver
    if approver is None:
        found.append("approval.approver: the approver's sign-off (分管领导) is missing")
    elif approver.at.tzinfo is None:
        found.append("approval.approver.at: needs a time zone")
    elif approver.at > now:
        found.append("approval.approver.at: sign-off time is in the future")
    else:
        for check in by_kind.values():
            if check.at.tzinfo is not None and check.at > approver.at:
                found.append(f"approval.checks: {check.kind} check is after the sign-off")
    return found


def taxonomy_problems(item: ItemIn, taxonomy: dict[str, list[str]]) -> list[str]:
    if item.category not in taxonomy:
        return [f"category: {item.category!r} is not one of {sorted(taxonomy)}"]
    subs = taxonomy[item.category]
    if item.subcategory and item.subcategory not in subs:
        return [f"subcategory: {item.subcategory!r} is not a sub-class of {item.category}: {subs}"]
    return []


def channel_problems(item: ItemIn, known: set[str]) -> list[str]:
    unknown = sorted(set(item.channels or []) - known)
    return [f"channels: unknown {unknown}; valid: {sorted(known)}"] if unknown else []


def problems(
    item: ItemIn, taxonomy: dict[str, list[str]], channels: set[str], now: datetime | None = None
) -> list[str]:
    now = now or datetime.now(UTC)
    return (
        approval_problems(item.approval, now)
        + taxonomy_problems(item, taxonomy)
        + channel_problems(item, channels)
    )


def content_hash(payload: dict[str, Any]) -> str:
    """Stable hash of a submitted item, to tell a resubmission from a changed body."""
    canonical = json.dumps(payload, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


class StoredAttachment(Strict):
    """An attachment as stored: its bytes live in the blob table under ``sha256``."""

    name: str
    media_type: str
    size: int
    sha256: str


class Published(Strict):
    """An item revision as channels see it: validated, sanitised, with its 索引号."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    source: str
    id: str
    revision: int
    index_no: str
    title: str
    wechat_title: str | None = None
    agency: Agency
    generated_on: date
    doc_no: str | None = None
    category: str
    subcategory: str | None = None
    genre: str | None = None
    validity: str | None = None
    keywords: list[str] = Field(default_factory=list)
    summary: str = ""
    body_html: str = ""
    attachments: list[StoredAttachment] = Field(default_factory=list)
    cover_image: StoredAttachment | None = None
    approval: Approval
    accepted_at: datetime

    @property
    def key(self) -> str:
        """The item's identity across revisions, safe in paths and URLs."""
        return self.index_no.replace("/", "-")
