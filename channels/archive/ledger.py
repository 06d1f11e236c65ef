"""The record of a receiver's packages: freeze the members of a package once, then
note when it was built and when the receiver confirmed it.

Freezing picks every delivery of the receiver that waits (pending, queued, sending
or retrying), belongs to the period or an earlier one, is in no package yet and is
not superseded by a newer revision. So a late delivery of an exported period goes
into the next package, and two workers freezing the same package agree: the
primary keys let only one of them write it.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, and_, case, exists, insert, or_, select, update
from sqlalchemy.exc import IntegrityError

from channels.archive.periods import Period
from channels.archive.tables import archive_members, archive_packages
from pipeline import db, states
from pipeline.model import Published

D, R, ITEMS, M, P = db.deliveries, db.revisions, db.items, archive_members, archive_packages
CHUNK = 200


@dataclass(frozen=True)
class Package:
    package_id: str
    receiver: str
    period: str
    period_start: datetime
    period_end: datetime
    frozen_at: datetime
    item_count: int
    retraction_count: int
    file_name: str | None
    sha256: str | None
    size: int | None
    built_at: datetime | None
    receipt: str | None
    confirmed_at: datetime | None
    last_error: str | None
    agency_code: str | None

    @property
    def confirmed(self) -> bool:
        return self.confirmed_at is not None

    def ref(self) -> dict[str, Any]:
        """What a delivery in this package answers: the package and its checksum."""
        return {"package_id": self.package_id, "sha256": self.sha256, "receipt": self.receipt}


@dataclass(frozen=True)
class Member:
    delivery_id: int
    index_no: str
    action: str
    revision_pk: int
    snapshot: dict[str, Any]


def _package(row: Any) -> Package:
    return Package(**{c.name: getattr(row, c.name) for c in P.columns})


class Ledger:
    def __init__(self, engine: Engine, receiver: str) -> None:
        self.engine = engine
        self.receiver = receiver

    def package_id(self, label: str, agency: str | None = None) -> str:
        """``{receiver}-{agency}-{period}`` (one agency's package of a period), or
        ``{receiver}-{label}`` for a per-item package (its 索引号 names the agency)."""
        return f"{self.receiver}-{agency}-{label}" if agency else f"{self.receiver}-{label}"

    def exported(self, agency: str, period: str) -> bool:
        """Whether this receiver's package of ``agency`` and ``period`` exists (frozen);
        a package made before platform mode without a recorded agency was everyone's."""
        with self.engine.connect() as conn:
            found = conn.execute(
                select(P.c.package_id).where(
                    P.c.receiver == self.receiver,
                    or_(P.c.agency_code == agency, P.c.agency_code.is_(None)),
                    P.c.period == period,
                )
            ).first()
        return found is not None

    def get(self, package_id: str) -> Package | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(P).where(P.c.package_id == package_id)).first()
        return _package(row) if row else None

    def packages_of(self, delivery_ids: list[int]) -> dict[int, str]:
        """Which package each delivery is in (those in none are left out)."""
        found: dict[int, str] = {}
        with self.engine.connect() as conn:
            for chunk in _chunks(delivery_ids):
                rows = conn.execute(select(M.c.delivery_id, M.c.package_id).where(M.c.delivery_id.in_(chunk)))
                found.update({r.delivery_id: r.package_id for r in rows})
        return found

    def moments(self, delivery_ids: list[int]) -> dict[int, datetime]:
        """When each delivery's item was disclosed (accepted) or retracted: its period."""
        return {k: moment for k, (moment, _) in self.placing(delivery_ids).items()}

    def placing(self, delivery_ids: list[int]) -> dict[int, tuple[datetime, str]]:
        """Each delivery's moment (its period) and agency (its package's)."""
        with self.engine.connect() as conn:
            return {
                r.id: (r.moment, r.agency_code)
                for chunk in _chunks(delivery_ids)
                for r in conn.execute(
                    select(D.c.id, _moment().label("moment"), D.c.agency_code)
                    .join(R, R.c.pk == D.c.revision_pk)
                    .join(ITEMS, ITEMS.c.pk == D.c.item_pk)
                    .where(D.c.id.in_(chunk))
                )
            }

    def superseded(self, delivery_ids: list[int]) -> set[int]:
        """Publications a newer revision of the same item replaces on this receiver."""
        with self.engine.connect() as conn:
            return {
                r.id
                for chunk in _chunks(delivery_ids)
                for r in conn.execute(select(D.c.id).where(D.c.id.in_(chunk), _superseded()))
            }

    # -- freezing ----------------------------------------------------------------
    def freeze(
        self, package_id: str, period: Period, now: datetime, agency: str, only: int | None = None
    ) -> Package | None:
        """The package, its members (``agency``'s deliveries) chosen now if they were not
        yet; None when nothing waits for it. ``only`` freezes a one-delivery package
        (per-item receivers)."""
        for _ in range(3):
            existing = self.get(package_id)
            if existing is not None:
                return existing
            try:
                return self._freeze(package_id, period, now, agency, only)
            except IntegrityError:  # another worker froze it, or took one of its members
                continue
        return self.get(package_id)

    def _freeze(
        self, package_id: str, period: Period, now: datetime, agency: str, only: int | None
    ) -> Package | None:
        with self.engine.begin() as conn:
            candidates = list(conn.execute(self._candidates(period, agency, only)).all())
            if not candidates:
                return None
            snapshots = _snapshots(conn, self.receiver, candidates)
            retractions = sum(1 for c in candidates if c.action == "retract")
            conn.execute(
                insert(P).values(
                    package_id=package_id,
                    receiver=self.receiver,
                    period=period.label,
                    period_start=period.start,
                    period_end=period.end,
                    frozen_at=now,
                    item_count=len(candidates) - retractions,
                    retraction_count=retractions,
                    agency_code=agency,
                )
            )
            conn.execute(
                insert(M),
                [
                    {
                        "delivery_id": c.id,
                        "package_id": package_id,
                        "index_no": c.index_no,
                        "action": c.action,
                        "revision_pk": c.revision_pk,
                        "snapshot": snapshots[c.id],
                    }
                    for c in candidates
                ],
            )
            return _package(conn.execute(select(P).where(P.c.package_id == package_id)).one())

    def _candidates(self, period: Period, agency: str, only: int | None) -> Any:
        query = (
            select(
                D.c.id,
                D.c.item_pk,
                D.c.revision_pk,
                D.c.revision,
                D.c.action,
                ITEMS.c.index_no,
                ITEMS.c.retracted_at,
                ITEMS.c.retract_reason,
            )
            .join(R, R.c.pk == D.c.revision_pk)
            .join(ITEMS, ITEMS.c.pk == D.c.item_pk)
            .where(
                D.c.channel == self.receiver,
                D.c.agency_code == agency,
                D.c.state.in_(states.ACTIVE_STATES),
                ~exists().where(M.c.delivery_id == D.c.id),
                ~_superseded(),
            )
            .order_by(ITEMS.c.index_no, D.c.action)
        )
        if only is not None:
            return query.where(D.c.id == only)
        return query.where(_moment() < period.end)

    def agencies_for(self, period: Period) -> list[str]:
        """The agencies with a package of ``period`` here, or a delivery waiting for it
        (or an earlier period): the packages ``govpub archive export`` makes."""
        with self.engine.connect() as conn:
            packed = conn.execute(
                select(P.c.agency_code).where(
                    P.c.receiver == self.receiver, P.c.period == period.label, P.c.agency_code.is_not(None)
                )
            ).scalars()
            waiting = conn.execute(
                select(D.c.agency_code)
                .join(R, R.c.pk == D.c.revision_pk)
                .join(ITEMS, ITEMS.c.pk == D.c.item_pk)
                .where(
                    D.c.channel == self.receiver,
                    D.c.state.in_(states.ACTIVE_STATES),
                    ~exists().where(M.c.delivery_id == D.c.id),
                    _moment() < period.end,
                )
                .distinct()
            ).scalars()
            return sorted({*packed, *waiting})

    # -- reading members ---------------------------------------------------------
    def members(self, package_id: str) -> Iterator[tuple[Member, Published]]:
        """The members in package order, each with its item, read in short chunks so a
        long build never holds a database transaction (SQLite would block the intake)."""
        with self.engine.connect() as conn:
            ids = list(
                conn.execute(
                    select(M.c.delivery_id)
                    .where(M.c.package_id == package_id)
                    .order_by(M.c.index_no, M.c.action, M.c.delivery_id)
                ).scalars()
            )
        for chunk in _chunks(ids, CHUNK):
            with self.engine.connect() as conn:
                rows = conn.execute(
                    select(M, R.c.document)
                    .join(R, R.c.pk == M.c.revision_pk)
                    .where(M.c.delivery_id.in_(chunk))
                ).all()
            by_id = {r.delivery_id: r for r in rows}
            for delivery_id in chunk:
                r = by_id[delivery_id]
                member = Member(r.delivery_id, r.index_no, r.action, r.revision_pk, dict(r.snapshot))
                yield member, Published.model_validate(r.document)

    def blobs(self, sha256s: list[str]) -> dict[str, bytes]:
        """Several stored attachments in one query (one query per file is the slow part
        of a big package)."""
        if not sha256s:
            return {}
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(db.blobs.c.sha256, db.blobs.c.data).where(db.blobs.c.sha256.in_(sha256s))
            )
            return {r.sha256: bytes(r.data) for r in rows}

    # -- outcomes ----------------------------------------------------------------
    def record_built(self, package_id: str, file_name: str, sha256: str, size: int, now: datetime) -> None:
        self._set(package_id, file_name=file_name, sha256=sha256, size=size, built_at=now)

    def record_confirmed(self, package_id: str, receipt: str, now: datetime) -> None:
        self._set(package_id, receipt=receipt, confirmed_at=now, last_error=None)

    def record_error(self, package_id: str, message: str) -> None:
        self._set(package_id, last_error=message[:4000])

    def _set(self, package_id: str, **values: Any) -> None:
        with self.engine.begin() as conn:
            conn.execute(update(P).where(P.c.package_id == package_id).values(**values))


def _moment() -> Any:
    return case((D.c.action == "retract", ITEMS.c.retracted_at), else_=R.c.accepted_at)


def _superseded() -> Any:
    newer = D.alias("newer")
    return and_(
        D.c.action == "publish",
        exists().where(
            newer.c.item_pk == D.c.item_pk,
            newer.c.channel == D.c.channel,
            newer.c.action == "publish",
            newer.c.revision > D.c.revision,
        ),
    )


def _snapshots(conn: Any, receiver: str, candidates: list[Any]) -> dict[int, dict[str, Any]]:
    """What the package records about each member as of now: the item's deliveries on
    the other channels, the package that delivered it here before, the retraction."""
    history = _histories(conn, receiver, sorted({c.revision_pk for c in candidates}))
    earlier = _delivered_here(conn, receiver, sorted({c.item_pk for c in candidates}))
    out: dict[int, dict[str, Any]] = {}
    for c in candidates:
        before = [
            pkg
            for rev, pkg in sorted(earlier.get(c.item_pk, []))
            if c.action == "retract" or rev < c.revision
        ]
        snapshot: dict[str, Any] = {"previous_package": before[-1] if before else None}
        if c.action == "retract":
            at = c.retracted_at.isoformat() if c.retracted_at else None
            snapshot.update(retracted_at=at, reason=c.retract_reason or "")
        else:
            snapshot["history"] = history.get(c.revision_pk, [])
        out[c.id] = snapshot
    return out


def _histories(conn: Any, receiver: str, revision_pks: list[int]) -> dict[int, list[dict[str, Any]]]:
    """Per revision, its publication on every other channel: state, time, reference."""
    found: dict[int, list[dict[str, Any]]] = {}
    for chunk in _chunks(revision_pks):
        rows = conn.execute(
            select(D.c.revision_pk, D.c.channel, D.c.state, D.c.delivered_at, D.c.external_ref)
            .where(D.c.revision_pk.in_(chunk), D.c.channel != receiver, D.c.action == "publish")
            .order_by(D.c.channel)
        )
        for r in rows:
            found.setdefault(r.revision_pk, []).append(
                {
                    "channel": r.channel,
                    "state": r.state,
                    "at": r.delivered_at.isoformat() if r.delivered_at else None,
                    "ref": _ref_summary(r.external_ref),
                }
            )
    return found


def _delivered_here(conn: Any, receiver: str, item_pks: list[int]) -> dict[int, list[tuple[int, str]]]:
    """Per item, the (revision, package id) this receiver already has."""
    found: dict[int, list[tuple[int, str]]] = {}
    for chunk in _chunks(item_pks):
        rows = conn.execute(
            select(D.c.item_pk, D.c.revision, D.c.external_ref).where(
                D.c.item_pk.in_(chunk),
                D.c.channel == receiver,
                D.c.action == "publish",
                D.c.state == "delivered",
            )
        )
        for r in rows:
            package_id = (r.external_ref or {}).get("package_id")
            if package_id:
                found.setdefault(r.item_pk, []).append((r.revision, str(package_id)))
    return found


def _ref_summary(ref: dict[str, Any] | None) -> str:
    """A channel's reference as one line of text (URL, publish id, package id …)."""
    if not ref:
        return ""
    return "; ".join(
        f"{k}={v}" for k, v in sorted(ref.items()) if isinstance(v, str | int | float) and v != ""
    )


def _chunks(values: list[int], size: int = 500) -> Iterator[list[int]]:
    for start in range(0, len(values), size):
        yield values[start : start + size]


def last_per_receiver(engine: Engine, agency: str | None = None) -> list[Package]:
    """The newest package of every receiver and agency (of one agency: ``agency``), for
    ``govpub archive list``."""
    query = select(P).order_by(P.c.receiver, P.c.agency_code, P.c.period_end.desc(), P.c.package_id.desc())
    if agency:
        query = query.where(P.c.agency_code == agency)
    with engine.connect() as conn:
        seen: dict[tuple[str, str | None], Package] = {}
        for row in conn.execute(query):
            seen.setdefault((row.receiver, row.agency_code), _package(row))
    return list(seen.values())


def packages(
    engine: Engine, receiver: str | None = None, limit: int = 100, agency: str | None = None
) -> list[Package]:
    """Packages newest first, of one receiver or of all, of one agency or of all."""
    query = select(P).order_by(P.c.period_end.desc(), P.c.package_id).limit(limit)
    if receiver:
        query = query.where(P.c.receiver == receiver)
    if agency:
        query = query.where(P.c.agency_code == agency)
    with engine.connect() as conn:
        return [_package(r) for r in conn.execute(query)]
