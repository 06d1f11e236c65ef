"""Publish mode (发布): one draft, one ``freepublish/submit``, the result later.

``freepublish/submit`` has no duplicate guard: submitting twice publishes twice. So the
steps are checkpointed (``media_id``, then ``submitting``, then ``publish_id``) and a
redelivered attempt looks at them first:

- the submit was recorded in ``wechat_jobs`` but the attempt died before its checkpoint:
  that recorded ``publish_id`` is this delivery's, and it is followed as usual;
- it died between the submit and the record: the draft tells (it leaves the draft box
  once submitted), and the article is looked for among the published ones
  (``freepublish/batchget``), never submitted again. An account that may not call
  ``batchget``, or an article not found after ``lost_submit_checks`` looks, leaves the
  delivery ``in_doubt`` for an operator (:mod:`pipeline.doubt`).

Whatever this delivery published is its own: the clean-up of articles that superseded
revisions left behind never touches a job recorded for this very delivery.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from channels.wechat.client import GovpubWeChatClient
from channels.wechat.content import ArticleMaker, wechat_title
from channels.wechat.errors import publish_failure, wechat_errors
from channels.wechat.events import SEND_SUCCESS, SENDING, mass_status, publish_result
from channels.wechat.options import WeChatOptions
from channels.wechat.records import Job, Outcome, Records
from pipeline.channel import DeliveryContext, Ref
from pipeline.crashpoints import crash_point
from pipeline.errors import AwaitingConfirmation, InDoubt, PermanentError
from pipeline.model import Published

PUBLISHING = 1
CANNOT_RECALL = (
    "a mass-sent message cannot be recalled: followers who received it keep the card; "
    "the article itself was deleted and no longer opens"
)


class Publisher:
    def __init__(
        self,
        client: GovpubWeChatClient,
        records: Records,
        maker: ArticleMaker,
        options: WeChatOptions,
        page_url: Any,
    ) -> None:
        self.client = client
        self.records = records
        self.maker = maker
        self.options = options
        self.page_url = page_url  # Published -> its website URL (阅读原文)

    def later(self, now: datetime) -> datetime:
        return now + timedelta(seconds=self.options.poll_seconds)

    # -- publishing ---------------------------------------------------------------
    def publish(self, item: Published, ctx: DeliveryContext, replaces: Ref | None = None) -> Ref:
        with wechat_errors(now=ctx.now):
            if ctx.progress.get("operator_resubmit"):
                self._start_afresh(ctx)
            if not ctx.progress.get("publish_id"):
                self._adopt_recorded(ctx)
            if not ctx.progress.get("publish_id"):
                if ctx.progress.get("submitting"):
                    found = self._recover(item, ctx, replaces)
                    if found is not None:
                        return found
                self._submit(item, ctx)
            return self._finish(item, ctx, replaces)

    @staticmethod
    def _start_afresh(ctx: DeliveryContext) -> None:
        """An operator checked that the earlier submission is not on the account: a new
        draft and a new submit (the old draft left the box when it was submitted)."""
        again = int(ctx.progress.get("resubmitted", 0)) + 1
        ctx.checkpoint(
            operator_resubmit=False, media_id=None, submitting=False, lost_checks=0, resubmitted=again
        )

    def _adopt_recorded(self, ctx: DeliveryContext) -> None:
        """The submit of this very draft was recorded, but the attempt died before its
        checkpoint: the recorded ``publish_id`` is this delivery's own."""
        job = self.records.job_of(ctx.delivery_id)
        media_id = ctx.progress.get("media_id")
        if job is not None and job.kind == "publish" and job.job_id and media_id and job.media_id == media_id:
            ctx.checkpoint(publish_id=job.job_id, submitting=False)

    def _submit(self, item: Published, ctx: DeliveryContext) -> None:
        if not ctx.progress.get("media_id"):
            article = self.maker.make(item, self.page_url(item), ctx.blob, ctx.now)
            media_id = self.client.draft.add([article.fields])
            crash_point("wechat.draft_add")
            ctx.checkpoint(via="publish", media_id=media_id, notes=article.notes)
        media_id = str(ctx.progress["media_id"])
        ctx.checkpoint(submitting=True)
        answer = self.client.freepublish.submit(media_id)
        crash_point("wechat.submit")
        publish_id = str(answer["publish_id"])
        self.records.record_publish(publish_id, media_id, ctx.delivery_id, item.key, ctx.now)
        crash_point("wechat.record")
        ctx.checkpoint(publish_id=publish_id, submitting=False)
        crash_point("wechat.checkpoint")

    def _recover(self, item: Published, ctx: DeliveryContext, replaces: Ref | None) -> Ref | None:
        """An earlier attempt may have submitted: resubmit only if the draft is still there."""
        try:
            self.client.draft.get(str(ctx.progress["media_id"]))
            return None  # still in the draft box: the submit never took effect
        except Exception as exc:
            if getattr(exc, "errcode", None) != 40007:
                raise
        try:
            published = self.client.freepublish.batchget(0, 20).get("item", [])
        except Exception as exc:
            if getattr(exc, "errcode", None) == 48001:  # the account may not list its publications
                raise self._lost(item, ctx, "this account may not call freepublish/batchget (48001)") from exc
            raise
        skip = (replaces or {}).get("article_id")
        for entry in published:
            for idx, news in enumerate(entry.get("content", {}).get("news_item", []), start=1):
                same = news.get("content_source_url") == self.page_url(item)
                if same and news.get("title") == wechat_title(item) and entry.get("article_id") != skip:
                    ctx.checkpoint(submitting=False, article_id=entry["article_id"])
                    url = str(news.get("url", ""))
                    return self._ref(item, ctx, entry["article_id"], url, idx, replaces)
        checks = int(ctx.progress.get("lost_checks", 0)) + 1
        ctx.checkpoint(lost_checks=checks)
        if checks >= self.options.lost_submit_checks:
            raise self._lost(
                item, ctx, f"it is not among the account's 20 latest publications ({checks} looks)"
            )
        raise AwaitingConfirmation(
            f"draft {ctx.progress['media_id']} was submitted by an earlier attempt whose answer was lost; "
            "looking for the published article",
            retry_at=self.later(ctx.now),
        )

    @staticmethod
    def _lost(item: Published, ctx: DeliveryContext, why: str) -> InDoubt:
        """Submitted, answer lost, and no way to look it up: an operator must check."""
        n = ctx.delivery_id
        return InDoubt(
            "submitted, answer lost: check the account's publish list. freepublish/submit was sent for "
            f"draft {ctx.progress.get('media_id')} of 「{wechat_title(item)}」 and its answer was lost; "
            f"{why}. "
            "It may have been published, so it is not submitted again by itself. Look for it in the MP "
            "console (内容与互动 → 发表记录). Published: `govpub wechat confirm "
            f"{n} --article-url URL --article-id ID` (or 确认已发布 in the console). Not there: `govpub "
            f"wechat resubmit {n} --note '…'` (or 确认未发布，重新提交)."
        )

    def _finish(self, item: Published, ctx: DeliveryContext, replaces: Ref | None) -> Ref:
        publish_id = str(ctx.progress["publish_id"])
        outcome = self.records.outcome("publish", publish_id)
        if outcome is None:
            status, result = publish_result(self.client.freepublish.get(publish_id))
            if status == PUBLISHING:
                raise AwaitingConfirmation(
                    f"publish_id {publish_id} is being published (publish_status 1)",
                    retry_at=self.later(ctx.now),
                )
            self.records.record_outcome("publish", publish_id, str(status), result, "poll", ctx.now)
            outcome = Outcome(str(status), result)
        if int(outcome.status) != 0:
            raise publish_failure(int(outcome.status), outcome.result.get("fail_idx", []))
        urls = outcome.result.get("article_urls") or [""]
        return self._ref(item, ctx, str(outcome.result.get("article_id", "")), urls[0], 1, replaces)

    def _ref(
        self,
        item: Published,
        ctx: DeliveryContext,
        article_id: str,
        url: str,
        index: int,
        replaces: Ref | None,
    ) -> Ref:
        ref: Ref = {
            "mode": "publish",
            "publish_id": ctx.progress.get("publish_id"),
            "media_id": ctx.progress.get("media_id"),
            "article_id": article_id,
            "index": index,
            "article_url": url,
        }
        if ctx.progress.get("notes"):
            ref["notes"] = ctx.progress["notes"]
        if replaces:  # the earlier revision's article goes once the new one is live
            if not ctx.progress.get("replaced"):
                self.remove(replaces)
                ctx.checkpoint(replaced=True)
            ref["replaced"] = replaces.get("article_url") or replaces.get("article_id")
        orphans = self._in_flight(item, ctx, exclude=ctx.progress.get("publish_id"))
        if orphans:  # earlier revisions superseded while WeChat was still publishing them
            ref["removed_orphans"] = [self.remove(o) for o in orphans]
        return ref

    # -- removal ------------------------------------------------------------------
    def remove(self, ref: Ref) -> Ref:
        """Delete one live article by its explicit 1-based index (0 would delete them all)."""
        index = int(ref.get("index") or 0)
        if index < 1:
            raise PermanentError(
                f"refusing to delete with index {index}: it would delete the whole publication"
            )
        if ref.get("mode") == "broadcast":
            self.client.mass.delete(str(ref["msg_id"]), index)
            return {
                "deleted": ref.get("article_url") or f"msg {ref['msg_id']} #{index}",
                "note": CANNOT_RECALL,
            }
        if not ref.get("article_id"):
            raise PermanentError(
                f"the article {ref.get('article_url') or ''} was confirmed by an operator without its "
                "article_id, so govpub cannot delete it: delete it in the MP console (发表记录)"
            )
        self.client.freepublish.delete(str(ref["article_id"]), index)
        return {"deleted": ref.get("article_url") or ref.get("article_id")}

    def retract(self, item: Published, previous: Ref | None, reason: str, ctx: DeliveryContext) -> Ref | None:
        if ctx.progress.get("retracted"):
            return dict(ctx.progress["retracted"])
        with wechat_errors(now=ctx.now):
            targets = [previous] if previous else []
            targets += [t for t in self._in_flight(item, ctx) if t not in targets]
            if not targets:
                return None
            ref: Ref = {"reason": reason, "removed": [self.remove(t) for t in targets]}
        ctx.checkpoint(retracted=ref)
        return ref

    def _in_flight(self, item: Published, ctx: DeliveryContext, exclude: str | None = None) -> list[Ref]:
        """Articles of this item whose deliveries never recorded them (retracted or superseded
        while the result was awaited): wait for a result still to come, then name what went
        out, so it can be deleted."""
        found: list[Ref] = []
        for job in self.records.jobs_for_item(item.key, undelivered=True):
            assert job.job_id is not None
            if job.job_id == exclude or job.delivery_id == ctx.delivery_id:  # this delivery's own
                continue
            if job.kind == "publish":
                outcome = self.records.outcome("publish", job.job_id)
                if outcome is None:
                    status, result = publish_result(self.client.freepublish.get(job.job_id))
                    outcome = Outcome(str(status), result)
                if int(outcome.status) == PUBLISHING:
                    raise AwaitingConfirmation(
                        f"publish_id {job.job_id} still publishing", self.later(ctx.now)
                    )
                if int(outcome.status) == 0:
                    found.append({"mode": "publish", "article_id": outcome.result["article_id"], "index": 1})
            elif self._mass_status(job) == SEND_SUCCESS:
                found.append({"mode": "broadcast", "msg_id": job.job_id, "index": job.idx})
        return found

    def _mass_status(self, job: Job) -> str:
        assert job.job_id is not None
        outcome = self.records.outcome("broadcast", job.job_id)
        if outcome is not None:
            return outcome.status
        status = mass_status(str(self.client.mass.get(job.job_id).get("msg_status", "")))
        if status == SENDING:
            raise AwaitingConfirmation(f"mass send {job.job_id} still sending")
        return status
