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
from datetime import UTC, date, datetime, timedelta
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

from pipeline.text import Str


def limited(max_length: int, min_length: int = 0) -> Any:
    """Constraints of a text field (stripped, bounded); the text rule comes with ``Str``."""
    return StringConstraints(strip_whitespace=True, min_length=min_length, max_length=max_length)


def matching(pattern: str) -> Any:
    return StringConstraints(pattern=pattern)


Text = Annotated[Str, limited(200, min_length=1)]
ShortText = Annotated[Str, limited(64)]
LongText = Annotated[Str, limited(2000)]

CHECK_KINDS = ("confidentiality", "legality", "authenticity")
CHECK_LABELS = {"confidentiality": "保密审查", "legality": "合法性审查", "authenticity": "真实性审查"}
MAX_ATTACHMENT_BYTES = 20 * 1024 * 1024


SOURCE_PATTERN = r"^[a-z0-9][a-z0-9_.-]{0,63}$"
ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$"


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class Agency(Strict):
    name: Text
    code: Annotated[Str, matching(r"^[0-9A-Za-z]{6,32}$")]


class Check(Strict):
    kind: Literal["confidentiality", "legality", "authenticity"]
    reviewer: Text
    at: datetime
    result: Literal["pass", "fail"]
    note: LongText | None = None


class Approver(Strict):
    role: Text
    name: Text | None = None
    at: datetime


class Approval(Strict):
    form_no: ShortText = ""
    checks: list[Check] = Field(default_factory=list, max_length=20)
    approver: Approver | None = None


class Attachment(Strict):
    """A file of the item, submitted inline; stored once by its SHA-256."""

    name: Annotated[Str, limited(255, min_length=1)]
    media_type: Annotated[Str, matching(r"^[\w.+-]+/[\w.+-]+$")] = "application/octet-stream"
    content_base64: Str = Field(repr=False)

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

    source: Annotated[Str, matching(SOURCE_PATTERN)] = ""
    id: Annotated[Str, matching(ID_PATTERN)]
    revision: int = Field(ge=1, le=1_000_000)
    index_no: Annotated[Str, matching(r"^[0-9A-Za-z]{6,32}/\d{4}-\d{5}$")] | None = Field(
        default=None,
        description="索引号 CODE/YYYY-NNNNN; omitted: the next free serial of the agency and year. "
        "One that another item holds is refused with 409 index_no_taken.",
    )
    title: Text
    wechat_title: ShortText | None = None
    agency: Agency
    generated_on: date = Field(
        ge=date(1949, 10, 1),
        le=date(2999, 12, 31),
        description="生成日期, the date the information was formed: at most one day after today's "
        "date in the agency's time zone (settings.timezone); a later date is refused with 422.",
    )
    doc_no: ShortText | None = None
    category: Text
    subcategory: ShortText | None = None
    genre: ShortText | None = None
    validity: Literal["有效", "废止", "失效"] | None = None
    keywords: list[ShortText] = Field(default_factory=list, max_length=20)
    summary: LongText = ""
    body_html: Annotated[Str, StringConstraints(max_length=2_000_000)] = ""
    attachments: list[Attachment] = Field(default_factory=list, max_length=50)
    cover_image: Attachment | None = None
    channels: list[ShortText] | None = None
    approval: Approval


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


FUTURE_DAYS = 1  # how far past today (in the agency's zone) a 生成日期 may lie: clocks and zones


def date_problems(item: ItemIn, now: datetime, timezone: str) -> list[str]:
    """生成日期 is when the information was formed: it cannot lie in the future. One
    day of tolerance past today's date in the agency's time zone absorbs an upstream
    clock or zone a little ahead of ours; anything later is refused."""
    today = now.astimezone(ZoneInfo(timezone)).date()
    latest = today + timedelta(days=FUTURE_DAYS)
    if item.generated_on > latest:
        return [
            f"generated_on: {item.generated_on} is in the future (today is {today} in {timezone}; "
            f"at most {latest} is accepted)"
        ]
    return []


def problems(
    item: ItemIn,
    taxonomy: dict[str, list[str]],
    channels: set[str],
    now: datetime | None = None,
    timezone: str = "Asia/Shanghai",
) -> list[str]:
    now = now or datetime.now(UTC)
    return (
        approval_problems(item.approval, now)
        + date_problems(item, now, timezone)
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

    @classmethod
    def model_validate(cls, obj: Any, **kwargs: Any) -> Published:
        """A stored revision, read as it was accepted (see :func:`pipeline.text.check_text`)."""
        kwargs["context"] = {"stored": True, **(kwargs.get("context") or {})}
        return super().model_validate(obj, **kwargs)

    @property
    def key(self) -> str:
        """The item's identity across revisions, safe in paths and URLs."""
        return self.index_no.replace("/", "-")
