"""What the WeChat channel has done, read and written for one official account of one
channel instance (the tables and what each row means: :mod:`channels.wechat.tables`)."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, func, insert, select, update

from channels.wechat.tables import articles, jobs, media, outcomes, previews, windows
from pipeline.db import deliveries, insert_ignore
from pipeline.installation import installation_id


@dataclass(frozen=True)
class Job:
    pk: int
    kind: str
    job_id: str | None
    clientmsgid: str | None
    media_id: str | None
    sent_at: datetime | None
    idx: int = 0  # the article's 1-based position, when looked up for a delivery
    delivery_id: int | None = None  # whose article it is, when looked up by article
    window: str | None = None
    send_at: datetime | None = None
    abandoned_at: datetime | None = None


@dataclass(frozen=True)
class Outcome:
    status: str
    result: dict[str, Any]


class Records:
    """The records of one account (``""``: the instance's own) of one channel."""

    def __init__(self, engine: Engine, channel: str, account: str = "") -> None:
        self.engine = engine
        self.channel = channel
        self.account = account

    # -- uploads ------------------------------------------------------------------
    def media(self, kind: str, sha256: str) -> tuple[str, str] | None:
        with self.engine.connect() as conn:
            row = conn.execute(
                select(media.c.media_id, media.c.url).where(
                    media.c.channel == self.channel,
                    media.c.account == self.account,
                    media.c.kind == kind,
                    media.c.sha256 == sha256,
                )
            ).first()
        return (row.media_id or "", row.url or "") if row else None

    def remember_media(self, kind: str, sha256: str, media_id: str, url: str, now: datetime) -> None:
        values = {
            "channel": self.channel,
            "account": self.account,
            "kind": kind,
            "sha256": sha256,
            "media_id": media_id,
            "url": url,
            "created_at": now,
        }
        with self.engine.begin() as conn:
            insert_ignore(conn, media, values)

    # -- jobs ---------------------------------------------------------------------
    def job_of(self, delivery_id: int) -> Job | None:
        """The latest job this delivery is an article of."""
        with self.engine.connect() as conn:
            row = conn.execute(
                select(jobs, articles.c.idx, articles.c.delivery_id)
                .join(articles, articles.c.job_pk == jobs.c.pk)
                .where(
                    articles.c.delivery_id == delivery_id,
                    jobs.c.channel == self.channel,
                    jobs.c.account == self.account,
                )
                .where(jobs.c.abandoned_at.is_(None))
                .order_by(jobs.c.pk.desc())
                .limit(1)
            ).first()
        return _job(row) if row else None

    def job_by_msg_id(self, msg_id: str) -> Job | None:
        with self.engine.connect() as conn:
            row = conn.execute(
                select(jobs).where(
                    jobs.c.channel == self.channel,
                    jobs.c.account == self.account,
                    jobs.c.kind == "broadcast",
                    jobs.c.job_id == msg_id,
                )
            ).first()
        return _job(row) if row else None

    def window_job(self, window: str, abandoned_too: bool = False) -> Job | None:
        """The mass send prepared for a window (an abandoned one only if asked), if any."""
        query = select(jobs).where(
            jobs.c.channel == self.channel,
            jobs.c.account == self.account,
            jobs.c.kind == "broadcast",
            jobs.c.window == window,
        )
        if not abandoned_too:
            query = query.where(jobs.c.abandoned_at.is_(None))
        with self.engine.connect() as conn:
            row = conn.execute(query.order_by(jobs.c.pk.desc()).limit(1)).first()
        return _job(row) if row else None

    def prepare_broadcast(
        self,
        window: str,
        media_id: str,
        period: str,
        send_at: datetime,
        members: list[tuple[int, str]],
        now: datetime,
    ) -> Job:
        """Write the send before it happens: ``members`` are (delivery id, item key) in
        article order. Its ``clientmsgid`` is ``gp`` + this installation's id + the window
        + a random part: no other installation, and no other send of this one, has it."""
        msgid = f"gp{installation_id(self.engine)}{window.replace('-', '')}-{secrets.token_hex(6)}"
        values = {
            "channel": self.channel,
            "account": self.account,
            "kind": "broadcast",
            "clientmsgid": msgid,
            "media_id": media_id,
            "period": period,
            "window": window,
            "send_at": send_at,
            "created_at": now,
        }
        with self.engine.begin() as conn:
            pk = conn.execute(insert(jobs).values(**values).returning(jobs.c.pk)).scalar_one()
            for idx, (delivery_id, item_key) in enumerate(members, start=1):
                conn.execute(
                    insert(articles).values(job_pk=pk, idx=idx, delivery_id=delivery_id, item_key=item_key)
                )
            row = conn.execute(select(jobs).where(jobs.c.pk == pk)).one()
        return _job(row)

    def members(self, job: Job) -> list[tuple[int, int, str]]:
        """(1-based index, delivery id, item key) of a send's articles, in order."""
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(articles.c.idx, articles.c.delivery_id, articles.c.item_key)
                .where(articles.c.job_pk == job.pk)
                .order_by(articles.c.idx)
            ).all()
        return [(r.idx, r.delivery_id, r.item_key) for r in rows]

    def sent(self, job: Job, msg_id: str, now: datetime) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                update(jobs)
                .where(jobs.c.pk == job.pk, jobs.c.sent_at.is_(None))
                .values(job_id=msg_id, sent_at=now)
            )

    def abandon(self, job: Job, why: str, now: datetime) -> None:
        """A send that did not go out (never sent, or WeChat said SEND_FAIL): its
        articles are free for a later send."""
        with self.engine.begin() as conn:
            conn.execute(
                update(jobs)
                .where(jobs.c.pk == job.pk, jobs.c.abandoned_at.is_(None))
                .values(abandoned_at=now, note=why[:2000])
            )

    # -- previews and operators' orders -------------------------------------------
    def record_preview(
        self, job: Job, recipient: str, msg_id: str | None, error: str | None, now: datetime
    ) -> None:
        values = {"job_pk": job.pk, "recipient": recipient, "at": now, "msg_id": msg_id, "error": error}
        with self.engine.begin() as conn:
            conn.execute(insert(previews).values(**values))

    def previews(self, job: Job) -> list[dict[str, Any]]:
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(previews).where(previews.c.job_pk == job.pk).order_by(previews.c.pk)
            ).all()
        return [dict(r._mapping) for r in rows]

    def send_now(self, window: str, by: str, now: datetime) -> bool:
        """An operator's order to send this window's mass send now; False if one was given."""
        values = {
            "channel": self.channel,
            "account": self.account,
            "window": window,
            "send_now_at": now,
            "send_now_by": by,
        }
        with self.engine.begin() as conn:
            return insert_ignore(conn, windows, values)

    def send_now_at(self, window: str) -> datetime | None:
        with self.engine.connect() as conn:
            found = conn.execute(
                select(windows.c.send_now_at).where(
                    windows.c.channel == self.channel,
                    windows.c.account == self.account,
                    windows.c.window == window,
                )
            ).scalar()
        return found if isinstance(found, datetime) else None

    def record_publish(
        self, publish_id: str, media_id: str, delivery_id: int, item_key: str, now: datetime
    ) -> None:
        values = {
            "channel": self.channel,
            "account": self.account,
            "kind": "publish",
            "job_id": publish_id,
            "media_id": media_id,
        }
        with self.engine.begin() as conn:
            insert_ignore(conn, jobs, {**values, "created_at": now, "sent_at": now})
            pk = conn.execute(
                select(jobs.c.pk).where(
                    jobs.c.channel == self.channel,
                    jobs.c.account == self.account,
                    jobs.c.kind == "publish",
                    jobs.c.job_id == publish_id,
                )
            ).scalar_one()
            article = {"job_pk": pk, "idx": 1, "delivery_id": delivery_id, "item_key": item_key}
            insert_ignore(conn, articles, article)

    def jobs_for_item(self, item_key: str, undelivered: bool = False) -> list[Job]:
        """Every sent job that carries an article of this item, newest first; with
        ``undelivered``, only those whose delivery never recorded it as delivered."""
        query = (
            select(jobs, articles.c.idx, articles.c.delivery_id)
            .join(articles, articles.c.job_pk == jobs.c.pk)
            .where(
                articles.c.item_key == item_key,
                jobs.c.channel == self.channel,
                jobs.c.account == self.account,
            )
            .where(jobs.c.job_id.is_not(None))
        )
        if undelivered:
            D = deliveries
            query = query.join(D, D.c.id == articles.c.delivery_id).where(D.c.state != "delivered")
        with self.engine.connect() as conn:
            rows = conn.execute(query.order_by(jobs.c.pk.desc())).all()
        return [_job(r) for r in rows]

    def deliveries_of(self, kind: str, job_id: str) -> list[int]:
        with self.engine.connect() as conn:
            return list(
                conn.execute(
                    select(articles.c.delivery_id)
                    .join(jobs, articles.c.job_pk == jobs.c.pk)
                    .where(
                        jobs.c.channel == self.channel,
                        jobs.c.account == self.account,
                        jobs.c.kind == kind,
                        jobs.c.job_id == job_id,
                    )
                ).scalars()
            )

    # -- outcomes -----------------------------------------------------------------
    def outcome(self, kind: str, job_id: str) -> Outcome | None:
        with self.engine.connect() as conn:
            row = conn.execute(
                select(outcomes.c.status, outcomes.c.result).where(
                    outcomes.c.channel == self.channel,
                    outcomes.c.account == self.account,
                    outcomes.c.kind == kind,
                    outcomes.c.job_id == job_id,
                )
            ).first()
        return Outcome(row.status, dict(row.result or {})) if row else None

    def record_outcome(
        self, kind: str, job_id: str, status: str, result: dict[str, Any], source: str, now: datetime
    ) -> bool:
        """Keep the first final result of a job; False when one was already kept."""
        values = {
            "channel": self.channel,
            "account": self.account,
            "kind": kind,
            "job_id": job_id,
            "status": status,
            "result": result,
            "source": source,
            "at": now,
        }
        with self.engine.begin() as conn:
            return insert_ignore(conn, outcomes, values)

    # -- quota --------------------------------------------------------------------
    def sends(self, period: str | None = None, since: datetime | None = None) -> list[dict[str, Any]]:
        """Mass sends that went out (the quota use), oldest first."""
        query = select(jobs).where(
            jobs.c.channel == self.channel,
            jobs.c.account == self.account,
            jobs.c.kind == "broadcast",
            jobs.c.sent_at.is_not(None),
        )
        if period is not None:
            query = query.where(jobs.c.period == period)
        if since is not None:
            query = query.where(jobs.c.sent_at >= since)
        with self.engine.connect() as conn:
            rows = conn.execute(query.order_by(jobs.c.sent_at)).all()
            counts: dict[int, int] = dict(
                conn.execute(
                    select(articles.c.job_pk, func.count())
                    .where(articles.c.job_pk.in_([r.pk for r in rows]))
                    .group_by(articles.c.job_pk)
                ).all()
            )
        return [
            {
                "msg_id": r.job_id,
                "clientmsgid": r.clientmsgid,
                "period": r.period,
                "sent_at": r.sent_at.isoformat(),
                "articles": int(counts.get(r.pk, 0)),
            }
            for r in rows
        ]


def _job(row: Any) -> Job:
    return Job(
        pk=row.pk,
        kind=row.kind,
        job_id=row.job_id,
        clientmsgid=row.clientmsgid,
        media_id=row.media_id,
        sent_at=row.sent_at,
        idx=int(getattr(row, "idx", 0) or 0),
        delivery_id=getattr(row, "delivery_id", None),
        window=row.window,
        send_at=row.send_at,
        abandoned_at=row.abandoned_at,
    )
