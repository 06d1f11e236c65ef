"""Broadcast mode (群发): one mass send a day, gathered at a cut-off, previewed, sent.

Each local day has one window (:class:`~channels.wechat.schedule.Window`):

1. until the **cut-off** every delivery waits (``NotDue``, no attempt spent);
2. at the cut-off the send is gathered: every delivery that is ready (its website page
   is there) and whose item was accepted before the cut-off, in the order of
   :func:`channels.wechat.plan.order_key` (first accepted first: the first is the
   headline, 头条), up to ``max_articles`` (8). The draft is made and the send written
   down (:meth:`Records.prepare_broadcast`) with a ``clientmsgid`` unique to this
   installation and this send;
3. at ``preview_minutes`` before the send, ``message/mass/preview`` to each of
   ``preview_to`` (recorded, never blocking the send);
4. at ``broadcast_time``, ``message/mass/sendall``.

What is not in the send (over 8, accepted after the cut-off, still waiting for its
website page at the cut-off, or the period's quota is used) waits for the next window,
or with ``overflow = "publish"`` goes out at once in publish mode. An operator may look
at the coming send and send it now (``govpub wechat broadcast --preview | --now``, or the
console): the order brings the cut-off and the send to that moment.

A redelivered task finds its deliveries in the send and repeats the very same call:
WeChat refuses a repeated ``clientmsgid`` with 45065 naming the first ``msg_id``, which
counts as this send only when no other send of ours has that ``msg_id``. Once
``sendall`` answered with a ``msg_id`` the articles are ``unconfirmed`` (pushed, counted
as reached) until ``MASSSENDJOBFINISH`` or ``message/mass/get`` confirms them; an
unanswered poll (40059 and the like) never makes them dead, only ``SEND_FAIL`` does. A
send refused for quota (45028, 45009) is abandoned and gathered again at the next window.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import suppress
from dataclasses import replace
from datetime import datetime

from wechatpy.exceptions import WeChatClientException

from channels.wechat import schedule
from channels.wechat.content import Article, ArticleMaker
from channels.wechat.errors import QUOTA_ERRORS, answer_of, translate, wechat_errors
from channels.wechat.events import SEND_SUCCESS, SENDING, mass_status
from channels.wechat.options import WeChatOptions
from channels.wechat.plan import order_key
from channels.wechat.publish import Publisher
from channels.wechat.records import Job, Outcome, Records
from pipeline.channel import BatchEntry, Ref
from pipeline.crashpoints import crash_point
from pipeline.errors import NotDue, PermanentError, Unconfirmed

Answers = dict[int, Ref | Exception | None]
Members = list[tuple[BatchEntry, int]]
DELETED = "DELETE"


class Broadcaster:
    def __init__(
        self,
        name: str,
        publisher: Publisher,
        records: Records,
        maker: ArticleMaker,
        options: WeChatOptions,
        tz: str,
        due_now: Callable[[datetime], list[int]] = lambda now: [],
    ) -> None:
        self.due_now = due_now  # the channel's deliveries that are due (claimed or not)
        self.name = name
        self.publisher = publisher
        self.client = publisher.client
        self.records = records
        self.maker = maker
        self.options = options
        self.tz = tz

    def run(self, entries: list[BatchEntry], now: datetime, batch: set[int] | None = None) -> Answers:
        """This account's share of a batch; ``batch`` is every delivery of the batch (other
        accounts' too), so that only deliveries no batch took hold the gathering back."""
        answers: Answers = {}
        resumed: dict[int, tuple[Job, Members]] = {}
        fresh: list[BatchEntry] = []
        for entry in entries:
            job = self.records.job_of(entry.ctx.delivery_id)
            if job is not None and job.kind == "broadcast":
                resumed.setdefault(job.pk, (job, []))[1].append((entry, job.idx))
            else:
                fresh.append(entry)
        for job, members in resumed.values():
            answers.update(self._advance(job, members, now))
        answers.update(self._gather(fresh, now, batch))
        return answers

    # -- windows ------------------------------------------------------------------
    def window(self, now: datetime) -> schedule.Window:
        """Today's window, brought forward by an operator's send-now order."""
        window = schedule.todays_send(now, self.options, self.tz)
        early = self.records.send_now_at(window.name)
        return window.sent_early(early) if early is not None else window

    def closed(self, now: datetime) -> tuple[schedule.Window, str] | None:
        """None while today's send can still be gathered, else (the next window, why)."""
        opts = self.options
        today = schedule.todays_send(now, opts, self.tz).name
        used = len(self.records.sends(period=schedule.period(now, opts.account_type, self.tz)))
        if used >= opts.quota:
            why = f"the mass-send quota of this period is used ({used} of {opts.quota})"
            return schedule.next_gathering(now, opts, self.tz, period_used=True), why
        job = self.records.window_job(today, abandoned_too=True)
        if job is not None:
            state = "went out" if job.sent_at else "could not go out" if job.abandoned_at else "is gathered"
            return schedule.next_gathering(
                now, opts, self.tz, period_used=False
            ), f"today's mass send {state}"
        return None

    def _wait(self, entries: list[BatchEntry], until: schedule.Window, why: str, now: datetime) -> Answers:
        """What cannot be in today's send: the next window, or publish mode if so
        configured (never for articles already in a prepared send: they would go twice)."""
        if self.options.overflow == "publish":
            return {e.ctx.delivery_id: self._as_publish(e, now) for e in entries}
        gathered = schedule.hhmm(until.cutoff, self.tz)
        message = f"{why}; waits for the next mass send, gathered {gathered}"
        return {e.ctx.delivery_id: NotDue(message, until.cutoff) for e in entries}

    def _as_publish(self, entry: BatchEntry, now: datetime) -> Ref | Exception:
        entry.ctx.checkpoint(via="publish")
        result: Ref | Exception = answer_of(lambda: self.publisher.publish(entry.item, entry.ctx), now)
        return result

    # -- gathering a send ---------------------------------------------------------
    def _gather(self, entries: list[BatchEntry], now: datetime, batch: set[int] | None = None) -> Answers:
        if not entries:
            return {}
        entries = sorted(entries, key=lambda e: order_key(e.item.accepted_at, e.ctx.delivery_id))
        closed = self.closed(now)
        if closed is not None:
            return self._wait(entries, *closed, now)
        window = self.window(now)
        if now < window.cutoff:
            why = (
                f"waits for the {window.name} mass send: gathered {schedule.hhmm(window.cutoff, self.tz)}, "
                f"sent {schedule.hhmm(window.send_at, self.tz)}"
            )
            return {e.ctx.delivery_id: NotDue(why, window.cutoff) for e in entries}
        if self._not_all_here(entries, now, batch):
            return {e.ctx.delivery_id: NotDue("gathering: more of the send is due", now) for e in entries}
        tomorrow = schedule.next_gathering(now, self.options, self.tz, period_used=False)
        on_time = [e for e in entries if e.item.accepted_at < window.cutoff]
        late = [e for e in entries if e.item.accepted_at >= window.cutoff]
        cut = schedule.hhmm(window.cutoff, self.tz)
        answers = self._wait(
            late, tomorrow, f"accepted after the cut-off of the {window.name} send ({cut})", now
        )
        chosen: list[tuple[BatchEntry, Article]] = []
        for entry in on_time:
            if len(chosen) == self.options.max_articles:
                break
            try:
                article = self.maker.make(
                    entry.item, self.publisher.page_url(entry.item), entry.ctx.blob, now
                )
                chosen.append((entry, article))
            except Exception as exc:
                answers[entry.ctx.delivery_id] = translate(exc, now=now)
        rest = [e for e in on_time if e.ctx.delivery_id not in answers and all(e is not c for c, _ in chosen)]
        full = f"did not fit in the {window.name} send ({len(chosen)} articles)"
        answers.update(self._wait(rest, tomorrow, full, now))
        if chosen:
            answers.update(self._prepare(window, chosen, now))
        return answers

    def _not_all_here(self, entries: list[BatchEntry], now: datetime, batch: set[int] | None) -> bool:
        """Deliveries became due after this batch took its share (an operator's send-now
        order woke them): the send is gathered by the next batch, which takes them all."""
        here = {e.ctx.delivery_id for e in entries} | (batch or set())
        return any(d not in here for d in self.due_now(now))

    def _prepare(
        self, window: schedule.Window, chosen: list[tuple[BatchEntry, Article]], now: datetime
    ) -> Answers:
        ids = [e.ctx.delivery_id for e, _ in chosen]
        period = schedule.period(now, self.options.account_type, self.tz)
        try:
            with wechat_errors(now=now):
                media_id = self.client.draft.add([a.fields for _, a in chosen])
            crash_point("wechat.mass_draft_add")
            members = [(e.ctx.delivery_id, e.item.key) for e, _ in chosen]
            job = self.records.prepare_broadcast(window.name, media_id, period, window.send_at, members, now)
            crash_point("wechat.prepare")
        except Exception as exc:
            return dict.fromkeys(ids, translate(exc, now=now))
        for idx, (entry, article) in enumerate(chosen, start=1):
            entry.ctx.checkpoint(
                clientmsgid=job.clientmsgid, media_id=job.media_id, index=idx, notes=article.notes
            )
        return self._advance(job, [(e, idx) for idx, (e, _) in enumerate(chosen, start=1)], now)

    # -- previewing and sending ---------------------------------------------------
    def _advance(self, job: Job, members: Members, now: datetime) -> Answers:
        ids = [e.ctx.delivery_id for e, _ in members]
        try:
            if job.sent_at is None:
                waiting = self._before_send(job, members, now)
                if waiting is not None:
                    return waiting
                sent = self._sendall(job, members, now)
                if not isinstance(sent, Job):
                    return sent
                job = sent
            return self._confirm(job, members, now)
        except Exception as exc:
            return dict.fromkeys(ids, translate(exc, now=now))

    def _before_send(self, job: Job, members: Members, now: datetime) -> Answers | None:
        """Preview when it is time (at once for a send an operator ordered early): the
        phones always get it before the followers. None once it is time to send."""
        assert job.window is not None and job.send_at is not None
        early = self.records.send_now_at(job.window)
        send_at = min(job.send_at, early) if early is not None else job.send_at
        preview_at = schedule.window_on(
            schedule.local(job.send_at, self.tz).date(), self.options, self.tz
        ).preview_at
        if preview_at is not None and not self.records.previews(job):
            if now >= min(preview_at, send_at):
                self._preview(job, now)
            else:
                send_at = preview_at
        if now >= send_at:
            return None
        n, at = len(self.records.members(job)), schedule.hhmm(job.send_at, self.tz)
        return {
            e.ctx.delivery_id: NotDue(
                f"article {idx} of {n} in the {job.window} mass send, sent {at}", send_at
            )
            for e, idx in members
        }

    def _preview(self, job: Job, now: datetime) -> None:
        """The send on each operator's phone; a failure is recorded, never blocks the send."""
        for recipient in self.options.preview_to:
            try:
                answer = self.client.mass.preview(str(job.media_id), recipient)
                msg_id, error = str(answer.get("msg_id", "")), None
            except Exception as exc:
                msg_id, error = None, str(translate(exc, now=now))
            crash_point("wechat.preview")
            self.records.record_preview(job, recipient, msg_id, error, now)

    def _sendall(self, job: Job, members: Members, now: datetime) -> Job | Answers:
        """``sendall``; the sent job, or the answers when it did not go out."""
        try:
            answer = self.client.mass.sendall(str(job.media_id), str(job.clientmsgid))
        except WeChatClientException as exc:
            if exc.errcode in QUOTA_ERRORS:
                why = str(translate(exc, now=now))
                return self._abandon(job, members, why, now, period_used=exc.errcode == 45028)
            raise
        crash_point("wechat.sendall")
        msg_id = str(answer["msg_id"])
        if answer.get("duplicate"):
            other = self.records.job_by_msg_id(msg_id)
            if other is not None and other.pk != job.pk:  # WeChat names another send: not this one
                why = (
                    f"WeChat refused clientmsgid {job.clientmsgid} as seen (45065) naming msg_id {msg_id}, "
                    f"which is the {other.window} send: this send did not go out"
                )
                return self._abandon(job, members, why, now, period_used=False)
        self.records.sent(job, msg_id, now)
        crash_point("wechat.sent")
        for entry, _ in members:
            entry.ctx.checkpoint(msg_id=msg_id)
        crash_point("wechat.mass_checkpoint")
        return replace(job, job_id=msg_id, sent_at=now)

    def _abandon(self, job: Job, members: Members, why: str, now: datetime, period_used: bool) -> Answers:
        """The send will not go out: its articles are gathered again at the next window."""
        self.records.abandon(job, why, now)
        with suppress(Exception):  # a draft left in the box harms nothing
            self.client.draft.delete(str(job.media_id))
        nxt = schedule.next_gathering(now, self.options, self.tz, period_used=period_used)
        message = f"{why}; gathered again for the next mass send, {schedule.hhmm(nxt.cutoff, self.tz)}"
        return {e.ctx.delivery_id: NotDue(message, nxt.cutoff) for e, _ in members}

    # -- the result ---------------------------------------------------------------
    def _confirm(self, job: Job, members: Members, now: datetime) -> Answers:
        """Delivered when WeChat confirms, dead only when it says SEND_FAIL; otherwise
        the articles went out and wait, ``unconfirmed``, for the confirmation."""
        assert job.job_id is not None
        outcome = self.records.outcome("broadcast", job.job_id)
        if outcome is None:
            try:
                status = mass_status(str(self.client.mass.get(job.job_id).get("msg_status", "")))
            except Exception as exc:
                why = f"message/mass/get could not confirm it yet: {translate(exc, now=now)}"
                return self._unconfirmed(job, members, why, now)
            if status == SENDING:
                return self._unconfirmed(job, members, "WeChat is still sending it (SENDING)", now)
            self.records.record_outcome("broadcast", job.job_id, status, {}, "poll", now)
            outcome = Outcome(status, {})
        if outcome.status not in (SEND_SUCCESS, DELETED):
            failed = PermanentError(
                f"mass send {job.job_id} ended {outcome.status}: WeChat did not send it. If mass-send "
                "protection is on, an administrator must confirm each send within 30 minutes in the MP "
                "console. 立即重试 puts the article in the next mass send"
            )
            self.records.abandon(job, str(failed), now)  # its articles may go in a later send
            return {e.ctx.delivery_id: failed for e, _ in members}
        urls = outcome.result.get("article_urls") or []
        refs: Answers = {}
        for entry, idx in members:
            ref = self._ref(job, entry, idx, urls)
            if outcome.status == DELETED:
                ref["note"] = "sent, then deleted in the MP console (message/mass/get answers DELETE)"
            refs[entry.ctx.delivery_id] = ref
        return refs

    def _unconfirmed(self, job: Job, members: Members, why: str, now: datetime) -> Answers:
        later = self.publisher.later(now)
        return {
            e.ctx.delivery_id: Unconfirmed(
                f"mass send {job.job_id} went out (sendall answered); {why}",
                ref={**self._ref(job, e, idx, []), "confirmed": False},
                retry_at=later,
            )
            for e, idx in members
        }

    @staticmethod
    def _ref(job: Job, entry: BatchEntry, idx: int, urls: list[str]) -> Ref:
        ref: Ref = {
            "mode": "broadcast",
            "msg_id": job.job_id,
            "clientmsgid": job.clientmsgid,
            "media_id": job.media_id,
            "window": job.window,
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
    window = schedule.todays_send(now, options, tz)
    return {
        "channel": records.channel,
        "account": records.account,
        "mode": options.mode,
        "account_type": options.account_type,
        "period": period,
        "limit": options.quota,
        "used": len(sends),
        "remaining": max(0, options.quota - len(sends)),
        "broadcast_time": options.broadcast_time.strftime("%H:%M"),
        "cutoff": options.cutoff_time.strftime("%H:%M"),
        "preview_at": window.preview_at and schedule.hhmm(window.preview_at, tz),
        "sends": sends,
    }
