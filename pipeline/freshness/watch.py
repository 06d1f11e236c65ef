"""What is watched after publishing, its limit, and its last publication.

A publication is an item's *first* reach of the channel (``delivered_at`` of its
earliest reached publish delivery): a new revision of an old item is no new content.
A column (a category, or one of its sub-categories) counts the items listed in it now:
by their latest revision's catalogue values, retracted ones left out. An account counts
every item it carried for any agency it serves (an agency's own account, or the
platform's for the head of the tree: :mod:`pipeline.overlays`).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, func, select

from pipeline import db, overlays, registry
from pipeline.agencies import Agency
from pipeline.config import FreshnessLimits, FreshnessSettings, Settings
from pipeline.plugin import ReportRole
from pipeline.services import Services

D, ITEMS, R = db.deliveries, db.items, db.revisions
DAY = 86400.0
STATES = ("ok", "warn", "overdue", "empty")


@dataclass(frozen=True)
class Watched:
    """One column or account of one agency. ``subject`` is its stable key:
    ``column:政策法规``, ``column:政策法规/人事管理``, ``account:INSTANCE:ACCOUNT``."""

    agency: str
    subject: str
    kind: str  # column | account
    label: str
    limit_days: float
    warn_before_days: float
    last_at: datetime | None

    def age_seconds(self, now: datetime) -> float | None:
        return None if self.last_at is None else max(0.0, (now - self.last_at).total_seconds())

    @property
    def due_at(self) -> datetime | None:
        return None if self.last_at is None else self.last_at + timedelta(days=self.limit_days)

    def state(self, now: datetime) -> str:
        """ok, warn (within ``warn_before_days`` of the limit), overdue, or empty (never
        published: an empty column, an account that has not posted yet)."""
        age = self.age_seconds(now)
        if age is None:
            return "empty"
        if age >= self.limit_days * DAY:
            return "overdue"
        if age >= (self.limit_days - self.warn_before_days) * DAY:
            return "warn"
        return "ok"

    def notice_key(self, now: datetime) -> str | None:
        """What identifies this warning, so it is sent once: its state and the
        publication it counts from. None when there is nothing to warn about."""
        state = self.state(now)
        if state not in ("warn", "overdue") or self.last_at is None:
            return None
        return f"{state}@{self.last_at.isoformat()}"


def limits_for(settings: Settings, code: str) -> FreshnessSettings:
    """The platform's ``[freshness]`` with the agency's own limits over it."""
    platform = settings.freshness
    declared = settings.agencies.get(code)
    own: FreshnessLimits | None = declared.freshness if declared is not None else None
    if own is None:
        return platform
    changes: dict[str, Any] = {k: v for k, v in own.model_dump(exclude={"columns"}).items() if v is not None}
    changes["columns"] = {**platform.columns, **own.columns}
    return platform.model_copy(update=changes)


def column_limit(limits: FreshnessSettings, category: str, sub: str | None) -> float:
    """A sub-category's own limit, else its category's, else news-like or not by name."""
    if sub is not None and f"{category}/{sub}" in limits.columns:
        return limits.columns[f"{category}/{sub}"]
    if category in limits.columns:
        return limits.columns[category]
    news = any(word in f"{category}{sub or ''}" for word in limits.news_words)
    return limits.news_days if news else limits.columns_days


def watched(services: Services, agency: str | None = None) -> list[Watched]:
    """Everything watched (of one agency), with its last publication: agencies in the
    registry's order, each its columns in taxonomy order, then its accounts."""
    settings = services.settings
    chosen = [a for a in services.registry.all(include_retired=False) if agency in (None, a.code)]
    portal, media = _kinds()
    with services.engine.connect() as conn:
        columns = _column_lasts(conn, portal) if portal else {}
        posts = _account_lasts(conn, media) if media else {}
    found: list[Watched] = []
    for each in chosen:
        if _has_column(services, each.code, portal):
            found += _columns(settings, each, columns)
    found += _accounts(services, chosen, media, posts)
    order = {a.code: n for n, a in enumerate(chosen)}
    return sorted(found, key=lambda w: order[w.agency])  # stable: columns stay before accounts


def _kinds() -> tuple[list[str], list[str]]:
    installed = registry.plugins()
    portal = [k for k, p in installed.items() if p.report_role == ReportRole.PORTAL]
    return portal, [k for k, p in installed.items() if p.new_media]


def _has_column(services: Services, code: str, portal: list[str]) -> bool:
    enabled = services.settings.enabled_channels()
    return any(
        cfg.kind in portal and overlays.resolve(services.settings, services.registry, name, code) is not None
        for name, cfg in enabled.items()
    )


def _columns(
    settings: Settings, agency: Agency, lasts: dict[tuple[str, str, str | None], datetime]
) -> list[Watched]:
    limits = limits_for(settings, agency.code)
    warn = limits.warn_before_days
    found = []
    for category, subs in agency.taxonomy_or(settings.taxonomy).items():
        last = lasts.get((agency.code, category, None))
        limit = column_limit(limits, category, None)
        found.append(Watched(agency.code, f"column:{category}", "column", category, limit, warn, last))
        for sub in subs:
            at = lasts.get((agency.code, category, sub))
            limit = column_limit(limits, category, sub)
            subject, label = f"column:{category}/{sub}", f"{category} · {sub}"
            found.append(Watched(agency.code, subject, "column", label, limit, warn, at))
    return found


def _accounts(
    services: Services, agencies: list[Agency], media: list[str], posts: dict[tuple[str, str], datetime]
) -> list[Watched]:
    """One row per (instance, account): an agency's own account under its code, the
    platform's own (``""``) under the first agency it serves (the head of the tree)."""
    settings, found = services.settings, []
    everyone = services.registry.all(include_retired=False)
    wanted = {a.code for a in agencies}
    for name, cfg in settings.enabled_channels().items():
        if cfg.kind not in media:
            continue
        served: dict[str, list[str]] = {}
        for each in everyone:
            resolved = overlays.resolve(settings, services.registry, name, each.code)
            if resolved is not None:
                served.setdefault(resolved.account, []).append(each.code)
        for account, codes in served.items():
            owner = account or codes[0]
            if owner not in wanted:
                continue
            last = max((posts[(name, c)] for c in codes if (name, c) in posts), default=None)
            limits = limits_for(settings, owner)
            label = f"{registry.label(cfg.kind)} {name}" + ("" if account else "（平台账号）")
            subject = f"account:{name}:{account}"
            days, warn = limits.accounts_days, limits.warn_before_days
            found.append(Watched(owner, subject, "account", label, days, warn, last))
    return found


def _first_reached(kinds: Iterable[str], *keys: Any) -> Any:
    """Per item (and ``keys``), the first time a publish delivery of ``kinds`` reached it."""
    return (
        select(*keys, D.c.item_pk, func.min(D.c.delivered_at).label("first_at"))
        .where(D.c.kind.in_(list(kinds)), D.c.action == "publish", D.c.delivered_at.is_not(None))
        .group_by(*keys, D.c.item_pk)
        .subquery()
    )


def _column_lasts(conn: Connection, portal: list[str]) -> dict[tuple[str, str, str | None], datetime]:
    """(agency, category, sub-category) → its newest item's first publication; with
    sub-category None, the category's (every item in it)."""
    first = _first_reached(portal)
    latest = (R.c.item_pk == ITEMS.c.pk) & (R.c.revision == ITEMS.c.latest_revision)
    query = (
        select(R.c.agency_code, R.c.category, R.c.subcategory, func.max(first.c.first_at))
        .select_from(first.join(ITEMS, ITEMS.c.pk == first.c.item_pk).join(R, latest))
        .where(ITEMS.c.retracted_at.is_(None))
        .group_by(R.c.agency_code, R.c.category, R.c.subcategory)
    )
    found: dict[tuple[str, str, str | None], datetime] = {}
    for code, category, sub, at in conn.execute(query):
        if sub is not None:
            found[(code, category, sub)] = at
        whole = (code, category, None)  # the category: its items with or without a sub-category
        found[whole] = max(at, found.get(whole, at))
    return found


def _account_lasts(conn: Connection, media: list[str]) -> dict[tuple[str, str], datetime]:
    """(instance, agency) → the first publication of its newest item there."""
    first = _first_reached(media, D.c.channel, D.c.agency_code)
    query = select(first.c.channel, first.c.agency_code, func.max(first.c.first_at)).group_by(
        first.c.channel, first.c.agency_code
    )
    return {(channel, code): at for channel, code, at in conn.execute(query)}
