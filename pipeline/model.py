"""The disclosure item as upstream systems submit it, and its validation.

Structure and types are checked by pydantic; the approval rule (一事一审查、先审查、
后公开) and the agency's taxonomy are checked by :func:`problems`, which lists
*every* problem at once so an upstream system can fix an item in one round.

Besides the core fields, an item may carry the top-level fields the installed channel
kinds declare (:class:`pipeline.plugin.ItemField`): :class:`ItemIn` validates them in
the same pass as the core's (same errors, same 422), and :class:`Published` hands them
to channels in ``fields``.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from datetime import UTC, date, datetime, timedelta
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ModelWrapValidatorHandler,
    StringConstraints,
    TypeAdapter,
    create_model,
    field_validator,
    model_validator,
)

from pipeline import registry
from pipeline.errors import ConfigError
from pipeline.plugin import ItemField
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
MAX_INTERPRETED = 20


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


class Interpreted(Strict):
    """An item this one interprets (政策解读 → the policy): its ``source`` (omitted: the
    interpretation's own) and ``id``, resolved at intake to an item within the source's
    reach (:mod:`pipeline.interpretations`)."""

    source: Annotated[Str, matching(SOURCE_PATTERN)] = ""
    id: Annotated[Str, matching(ID_PATTERN)]


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


def _channel_field_schemas(schema: dict[str, Any]) -> None:
    """The OpenAPI description lists the installed kinds' fields beside the core's."""
    for name, declared in registry.item_fields().items():
        field_schema = TypeAdapter(declared.annotation | None).json_schema()
        schema.setdefault("properties", {})[name] = {**field_schema, "description": declared.description}


class ItemIn(Strict):
    """One disclosure item (政府信息公开目录 metadata plus content and approval).

    Validating ``ItemIn`` validates with the model that also holds the fields of the
    installed kinds (:func:`with_channel_fields`), so a field of a kind not installed is
    an unknown field, refused like any other."""

    model_config = ConfigDict(
        extra="forbid", str_strip_whitespace=True, json_schema_extra=_channel_field_schemas
    )

    source: Annotated[Str, matching(SOURCE_PATTERN)] = ""
    id: Annotated[Str, matching(ID_PATTERN)]
    revision: int = Field(ge=1, le=1_000_000)
    index_no: Annotated[Str, matching(r"^[0-9A-Za-z]{6,32}/\d{4}-\d{5}$")] | None = Field(
        default=None,
        description="索引号 CODE/YYYY-NNNNN; omitted: the next free serial of the agency and year. "
        "One that another item holds is refused with 409 index_no_taken.",
    )
    title: Text
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
    interprets: list[Interpreted] = Field(
        default_factory=list,
        max_length=MAX_INTERPRETED,
        description="政策解读: the items this one interprets ({source, id}; source omitted: this "
        "item's). Each must be an item of an agency the source is bound to, accepted before or "
        "earlier in the same batch, not retracted, not this item; otherwise 422 "
        "interprets_unknown. This item goes live on no channel before them (docs/interpretations.md).",
    )
    approval: Approval

    @model_validator(mode="wrap")
    @classmethod
    def _with_channel_fields(cls, data: Any, handler: ModelWrapValidatorHandler[ItemIn]) -> ItemIn:
        if cls is ItemIn and not isinstance(data, ItemIn):
            return with_channel_fields().model_validate(data)
        return handler(data)

    @property
    def fields(self) -> dict[str, Any]:
        """The installed kinds' fields, by name (None: not given)."""
        return {name: getattr(self, name) for name in type(self).model_fields if name not in CORE_FIELDS}

    def hashed_document(self) -> dict[str, Any]:
        """The document as its ``body_hash`` reads it: a kind's field left empty is left
        out, so installing a kind changes no stored hash, unless the field was a core
        field once (``ItemField.hashed_when_empty``) and stored hashes counted it."""
        declared = registry.item_fields()
        return {
            key: value
            for key, value in self.model_dump(mode="json").items()
            if (value is not None or key not in declared or declared[key].hashed_when_empty)
            and (key not in UNHASHED_WHEN_EMPTY or value)
        }


CORE_FIELDS = frozenset(ItemIn.model_fields)
# core fields added after hashes were stored: left out of the hash while empty, so an item
# submitted again as before still reads as the same body
UNHASHED_WHEN_EMPTY = frozenset({"interprets"})
_WITH_FIELDS: dict[tuple[tuple[str, int], ...], type[ItemIn]] = {}


def with_channel_fields() -> type[ItemIn]:
    """:class:`ItemIn` plus the fields the installed kinds declare (one model per set)."""
    declared = registry.item_fields()
    key = tuple((name, id(item_field)) for name, item_field in declared.items())
    if key not in _WITH_FIELDS:
        _WITH_FIELDS[key] = _extended(declared)
    return _WITH_FIELDS[key]


def _extended(declared: dict[str, ItemField]) -> type[ItemIn]:
    for name in declared.keys() & CORE_FIELDS:
        raise ConfigError(f"item field {name}", name, "a name no core field of the item has")
    extra: dict[str, Any] = {
        name: (f.annotation | None, Field(default=None, description=f.description))
        for name, f in declared.items()
    }
    model: type[ItemIn] = create_model("ItemIn", __base__=ItemIn, **extra)
    return model


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


class ByIndexNo:
    """What an item's 索引号 gives: its page key and its agency (the number's prefix)."""

    index_no: str

    @property
    def key(self) -> str:
        return self.index_no.replace("/", "-")

    @property
    def agency_code(self) -> str:
        return self.index_no.partition("/")[0]


class InterpretedItem(ByIndexNo, Strict):
    """A policy an item interprets, as its revision stored it: the page address follows
    from ``index_no`` (its agency is the 索引号's prefix); ``title`` as it was then."""

    source: str
    id: str
    index_no: str
    title: str


class StoredAttachment(Strict):
    """An attachment as stored: its bytes live in the blob table under ``sha256``."""

    name: str
    media_type: str
    size: int
    sha256: str


class Published(Strict):
    """An item revision as channels see it: validated, sanitised, with its 索引号.

    The fields of channel kinds ride along as extra top-level keys (the intake validated
    them; a stored revision keeps those of a kind removed since) and are read through
    ``fields``."""

    model_config = ConfigDict(extra="allow", frozen=True)

    source: str
    id: str
    revision: int
    index_no: str
    title: str
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
    interprets: list[InterpretedItem] = Field(default_factory=list)
    approval: Approval
    accepted_at: datetime

    @classmethod
    def model_validate(cls, obj: Any, **kwargs: Any) -> Published:
        """A stored revision, read as it was accepted (see :func:`pipeline.text.check_text`)."""
        kwargs["context"] = {"stored": True, **(kwargs.get("context") or {})}
        return super().model_validate(obj, **kwargs)

    @property
    def fields(self) -> dict[str, Any]:
        """The channel kinds' fields of this revision, by name (see ``ItemField``)."""
        return dict(self.__pydantic_extra__ or {})

    @property
    def key(self) -> str:
        """The item's identity across revisions, safe in paths and URLs."""
        return self.index_no.replace("/", "-")
