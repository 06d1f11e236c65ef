"""Broadcast mode (群发): the day's items in one mass send, within the account's quota.

At ``broadcast_time`` (local) every publish delivery that waits is taken oldest first;
up to ``max_articles`` (8) go into one draft and one ``message/mass/sendall``. What does
not fit waits for the next window (``NotDue``) or, with ``overflow = "publish"``, goes
out through publish mode without a push.

A send is written down (:meth:`Records.prepare_broadcast`: its articles, draft and a
``clientmsgid`` derived from its deliveries) before ``sendall``. A redelivered task
finds its deliveries in that send and repeats the very same call; WeChat refuses a
repeated ``clientmsgid`` with 45065 and the first ``msg_id``, so it cannot go out twice.
"""

from __future__ import annotations

import hashlib
from datetime import datetime

from channels.base import BatchEntry, Ref
from channels.wechat import schedule
from channels.wechat.content import Article, ArticleMaker
from channels.wechat.errors import answer_of, translate, wechat_errors
from channels.wechat.events import SEND_SUCCESS, SENDING, mass_status
from channels.wechat.options import WeChatOptions
from channels.wechat.publish import Publisher
from channels.wechat.records import Job, Outcome, Records
from pipeline.errors import AwaitingConfirmation, NotDue, PermanentError

Answers = dict[int, Ref | Exception | None]


def clientmsgid(channel: str, period: str, delivery_ids: list[int]) -> str:
    """Deterministic per set of deliveries: ``gp`` + period + 40 hex digits (≤ 64 bytes)."""
    digest = hashlib.sha256(f"{channel}|{sorted(delivery_ids)}".encode()).hexdigest()[:40]
    return f"gp{period.replace('-', '')}-{digest}"


class Broadcaster:
    def __init__(
        self,
        name: str,
        publisher: Publisher,
        records: Records,
        maker: ArticleMaker,
        options: WeChatOptions,
        tz: str,
    ) -> None:
        self.name = name
        self.publisher = publisher
        self.client = publisher.client
        self.records = records
        self.maker = maker
        self.options = options
        self.tz = tz

    def run(self, entries: list[BatchEntry], now: datetime) -> Answers:
        answers: Answers = {}
        resumed: dict[int, tuple[Job, list[tuple[BatchEntry, int]]]] = {}
        fresh: list[BatchEntry] = []
        for entry in entries:
            job = self.records.job_of(entry.ctx.delivery_id)
            if job is not None and job.kind == "broadcast":
                resumed.setdefault(job.pk, (job, []))[1].append((entry, job.idx))
            else:
                fresh.append(entry)
        for job, members in resumed.values():
            answers.update(self._send(job, members, now))
        answers.update(self._gather(fresh, now))
        return answers

    # -- windows and quota --------------------------------------------------------
    def _room(self, now: datetime) -> tuple[datetime, str, bool] | None:
        """None when a send may go now, else (when the next may, why, whether the overflow
        policy applies: not before today's window, which every item waits for)."""
        opts = self.options
        if not schedule.window_open(now, opts.broadcast_time, self.tz):
            at = schedule.todays_window(now, opts.broadcast_time, self.tz)
            return at, f"waits for today's mass send at {opts.broadcast_time:%H:%M}", False
        used = len(self.records.sends(period=schedule.period(now, opts.account_type, self.tz)))
        if used >= opts.quota:
            at = schedule.next_window(now, opts.broadcast_time, opts.account_type, self.tz)
            return at, f"the mass-send quota of this period is used ({used} of {opts.quota})", True
        day_start = schedule.local(now, self.tz).replace(hour=0, minute=0, second=0, microsecond=0)
        if self.records.sends(since=day_start):  # one send a day, even with monthly quota left
            at = schedule.next_day_window(now, opts.broadcast_time, self.tz)
            return at, "today's mass send already went out", True
        return None

    def _after_this_send(self, now: datetime) -> datetime:
        opts = self.options
        used = len(self.records.sends(period=schedule.period(now, opts.account_type, self.tz)))
        if used + 1 < opts.quota:
            return schedule.next_day_window(now, opts.broadcast_time, self.tz)
        return schedule.next_window(now, opts.broadcast_time, opts.account_type, self.tz)

    def _wait(self, entries: list[BatchEntry], until: datetime, why: str, overflow: bool = True) -> Answers:
        """What cannot go now: the next window, or publish mode if so configured (never
        for articles already in a prepared send: they would go out twice)."""
        if overflow and self.options.overflow == "publish":
            return {e.ctx.delivery_id: self._as_publish(e) for e in entries}
        local = schedule.local(until, self.tz).strftime("%Y-%m-%d %H:%M")
        return {e.ctx.delivery_id: NotDue(f"{why}; next mass send window {local}", until) for e in entries}

    def _as_publish(self, entry: BatchEntry) -> Ref | Exception:
        entry.ctx.checkpoint(via="publish")
        result: Ref | Exception = answer_of(lambda: self.publisher.publish(entry.item, entry.ctx))
        return result

    # -- a new send ---------------------------------------------------------------
    def _gather(self, entries: list[BatchEntry], now: datetime) -> Answers:
        if not entries:
            return {}
        entries = sorted(entries, key=lambda e: e.ctx.delivery_id)
        wait = self._room(now)
        if wait is not None:
            return self._wait(entries, *wait)
        answers: Answers = {}
        chosen: list[tuple[BatchEntry, Article]] = []
        for entry in entries:
            if len(chosen) == self.options.max_articles:
                break
            try:
                article = self.maker.make(
                    entry.item, self.publisher.page_url(entry.item), entry.ctx.blob, now
                )
                chosen.append((entry, article))
            except Exception as exc:
                answers[entry.ctx.delivery_id] = translate(exc)
        left = [e for e in entries if e.ctx.delivery_id not in answers and all(e is not c for c, _ in chosen)]
        answers.update(
            self._wait(left, self._after_this_send(now), f"did not fit in this send ({len(chosen)} articles)")
        )
        if chosen:
            answers.update(self._prepare(chosen, now))
        return answers

    def _prepare(self, chosen: list[tuple[BatchEntry, Article]], now: datetime) -> Answers:
        ids = [e.ctx.delivery_id for e, _ in chosen]
        period = schedule.period(now, self.options.account_type, self.tz)
        msgid = clientmsgid(self.name, period, ids)
        try:
            job = self.records.job_by_clientmsgid(msgid)
            if job is None:
                with wechat_errors():
                    media_id = self.client.draft.add([a.fields for _, a in chosen])
                members = [(e.ctx.delivery_id, e.item.key) for e, _ in chosen]
                job = self.records.prepare_broadcast(msgid, media_id, period, members, now)
        except Exception as exc:
            return dict.fromkeys(ids, translate(exc))
        for idx, (entry, article) in enumerate(chosen, start=1):
            entry.ctx.checkpoint(clientmsgid=msgid, media_id=job.media_id, index=idx, notes=article.notes)
        return self._send(job, [(e, idx) for idx, (e, _) in enumerate(chosen, start=1)], now)

    # -- sending and its result ---------------------------------------------------
    def _send(self, job: Job, members: list[tuple[BatchEntry, int]], now: datetime) -> Answers:
        ids = [e.ctx.delivery_id for e, _ in members]
        try:
            if job.sent_at is None:
                wait = self._room(now)
                if wait is not None:  # never as publish: the articles are in a prepared send
                    return self._wait([e for e, _ in members], wait[0], wait[1], overflow=False)
                nxt = schedule.next_window(
                    now, self.options.broadcast_time, self.options.account_type, self.tz
                )
                with wechat_errors(next_window=nxt):
                    answer = self.client.mass.sendall(str(job.media_id), str(job.clientmsgid))
                msg_id = str(answer["msg_id"])
                self.records.sent(job, msg_id, now)
                job = Job(job.pk, job.kind, msg_id, job.clientmsgid, job.media_id, now)
                for entry, _ in members:
                    entry.ctx.checkpoint(msg_id=msg_id)
            with wechat_errors():
                outcome = self._outcome(job, now)
        except Exception as exc:
            return dict.fromkeys(ids, translate(exc))
        if outcome.status != SEND_SUCCESS:
            failed = PermanentError(
                f"mass send {job.job_id} ended {outcome.status}: if mass-send protection is on, an "
                "administrator must confirm each send within 30 minutes in the MP console"
            )
            return dict.fromkeys(ids, failed)
        urls = outcome.result.get("article_urls") or []
        return {e.ctx.delivery_id: self._ref(job, e, idx, urls) for e, idx in members}

    def _outcome(self, job: Job, now: datetime) -> Outcome:
        assert job.job_id is not None
        known = self.records.outcome("broadcast", job.job_id)
        if known is not None:
            return known
        status = mass_status(str(self.client.mass.get(job.job_id).get("msg_status", "")))
        if status == SENDING:
            raise AwaitingConfirmation(f"mass send {job.job_id} is being sent", self.publisher.later(now))
        self.records.record_outcome("broadcast", job.job_id, status, {}, "poll", now)
        return Outcome(status, {})

    @staticmethod
    def _ref(job: Job, entry: BatchEntry, idx: int, urls: list[str]) -> Ref:
        ref: Ref = {
            "mode": "broadcast",
            "msg_id": job.job_id,
            "clientmsgid": job.clientmsgid,
            "media_id": job.media_id,
            "index": idx,
            "article_url": urls[idx - 1] if len(urls) >= idx else "",
        }
        if entry.ctx.progress.get("notes"):
            ref["notes"] = entry.ctx.progress["notes"]
        return ref


def quota_status(records: Records, options: WeChatOptions, tz: str, now: datetime) -> dict[str, object]:
    """The mass-send quota of the current period, for the operator console."""
    period = schedule.period(now, options.account_type, tz)
    sends = records.sends(period=period)
    return {
        "channel": records.channel,
        "mode": options.mode,
        "account_type": options.account_type,
        "period": period,
        "limit": options.quota,
        "used": len(sends),
        "remaining": max(0, options.quota - len(sends)),
        "broadcast_time": options.broadcast_time.strftime("%H:%M"),
        "sends": sends,
    }
