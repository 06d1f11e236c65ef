"""The ``wechat`` channel: an official account, in publish or broadcast mode.

Configuration (``[channels.wechat]``, see docs/channels/wechat.md): ``kind = "wechat"``,
``depends_on = ["website"]`` (each article's 阅读原文 is the website page), options
validated by :class:`~channels.wechat.options.WeChatOptions`.

- publish mode: one article per delivery (:mod:`.publish`); the result comes later,
  so an attempt ends with ``AwaitingConfirmation`` and the sweeper wakes the poll
  (or the callback wakes it at once);
- broadcast mode: a batched channel; the runner hands every due delivery to
  :meth:`publish_batch`, which gathers the day's items into one mass send
  (:mod:`.broadcast`). New revisions and retractions go one by one in both modes.
"""

from __future__ import annotations

from datetime import datetime
from functools import cached_property, partial
from typing import Any

import redis
from sqlalchemy import select
from wechatpy.session import SessionStorage
from wechatpy.session.memorystorage import MemoryStorage
from wechatpy.session.redisstorage import RedisStorage

from channels.wechat import schedule
from channels.wechat.broadcast import Broadcaster, quota_status
from channels.wechat.client import GovpubWeChatClient
from channels.wechat.content import ArticleMaker
from channels.wechat.errors import answer_of, translate
from channels.wechat.options import check_options, parse_options
from channels.wechat.overview import quota_facts
from channels.wechat.plan import coming_send, ready_and_due
from channels.wechat.publish import Publisher
from channels.wechat.records import Records
from pipeline import db, outbound
from pipeline.channel import BatchEntry, Channel, ChannelEnv, DeliveryContext, Health, Ref
from pipeline.errors import GovpubError
from pipeline.model import Published
from pipeline.urls import item_url


class SendNowRefused(GovpubError):
    """An operator's send-now order that cannot be followed, with why."""


class WeChatChannel(Channel):
    kind = "wechat"

    @classmethod
    def check_options(cls, name: str, options: dict[str, Any]) -> None:
        check_options(name, options)

    def __init__(self, name: str, options: dict[str, Any], env: ChannelEnv) -> None:
        super().__init__(name, options, env)
        self.opts = parse_options(name, options)
        self.batched = self.opts.mode == "broadcast"
        self.records = Records(env.engine, name)

    # -- parts, built on first use (in the worker process that uses them) ---------
    @cached_property
    def client(self) -> GovpubWeChatClient:
        return GovpubWeChatClient(self.opts, self._token_store())

    def _token_store(self) -> SessionStorage:
        """Redis when there is one (every worker shares the token), else this process."""
        url = self.opts.redis_url or self.env.settings.redis
        if not url:
            return MemoryStorage()
        return RedisStorage(redis.Redis.from_url(url, socket_timeout=10), prefix="wechatpy")

    @cached_property
    def publisher(self) -> Publisher:
        policy = outbound.Policy.from_settings(self.env.settings.outbound)
        maker = ArticleMaker(self.client, self.records, self.opts, policy)
        return Publisher(self.client, self.records, maker, self.opts, self.page_url)

    @cached_property
    def broadcaster(self) -> Broadcaster:
        tz = self.env.settings.timezone
        due = partial(ready_and_due, self.env, self.name)
        return Broadcaster(self.name, self.publisher, self.records, self.publisher.maker, self.opts, tz, due)

    def page_url(self, item: Published) -> str:
        return item_url(self.env.settings, item, agencies=self.env.agencies)

    # -- the channel contract -----------------------------------------------------
    def publish(self, item: Published, ctx: DeliveryContext) -> Ref:
        return self.publisher.publish(item, ctx)

    def update(self, item: Published, previous: Ref, ctx: DeliveryContext) -> Ref:
        """WeChat cannot edit a published article: publish the new revision (without a
        push), then delete the earlier article once the new one is live."""
        return self.publisher.publish(item, ctx, replaces=previous)

    def retract(self, item: Published, previous: Ref | None, reason: str, ctx: DeliveryContext) -> Ref | None:
        return self.publisher.retract(item, previous, reason, ctx)

    def publish_batch(self, entries: list[BatchEntry]) -> dict[int, Ref | Exception | None]:
        """Retractions, new revisions and deliveries already on the publish path go one by
        one; the rest are gathered into the mass send."""
        answers: dict[int, Ref | Exception | None] = {}
        gathered: list[BatchEntry] = []
        for entry in entries:
            single = entry.action == "retract" or entry.previous is not None
            if single or entry.ctx.progress.get("via") == "publish":
                answers[entry.ctx.delivery_id] = answer_of(partial(self._one, entry))
            else:
                gathered.append(entry)
        answers.update(self.broadcaster.run(gathered, self.env.clock()))
        return answers

    def _one(self, entry: BatchEntry) -> Ref | None:
        if entry.action == "retract":
            return self.retract(entry.item, entry.previous, entry.reason, entry.ctx)
        return self.publisher.publish(entry.item, entry.ctx, replaces=entry.previous)

    def confirmed_ref(self, progress: dict[str, Any], url: str, ident: str) -> Ref:
        """An article an operator found in the account's publish list (a lost submit
        answer): its link, and its ``article_id`` so that it can be replaced or deleted."""
        return {
            "mode": "publish",
            "media_id": progress.get("media_id"),
            "article_id": ident,
            "index": 1,
            "article_url": url,
            "confirmed_by": "operator",
        }

    def health(self) -> Health:
        try:
            self.client.access_token  # noqa: B018 - fetching (or finding) the token is the check
        except Exception as exc:
            return Health(ok=False, detail=str(translate(exc)))
        return Health(ok=True, detail=f"{self.opts.mode} mode, token available")

    def coming_send(self) -> dict[str, Any]:
        """Today's mass send as an operator checks it (:func:`.plan.coming_send`)."""
        self._broadcast_only()
        return coming_send(self, self.env.clock())

    def send_now(self, operator: str) -> list[int]:
        """An operator's order to send today's mass send now: gathered from what is ready,
        without waiting for the cut-off or the send time. Returns the deliveries to run."""
        self._broadcast_only()
        now = self.env.clock()
        closed = self.broadcaster.closed(now)
        if closed is not None and not self._gathered_unsent(now):
            nxt, why = closed
            raise SendNowRefused(
                f"{why}: nothing to send now (next mass send gathered {nxt.cutoff:%Y-%m-%d %H:%M})"
            )
        window = self.broadcaster.window(now)
        self.records.send_now(window.name, operator, now)
        return self.env.wake(self._waiting_ids(), now)

    def _gathered_unsent(self, now: datetime) -> bool:
        job = self.records.window_job(schedule.todays_send(now, self.opts, self.env.settings.timezone).name)
        return job is not None and job.sent_at is None

    def _waiting_ids(self) -> list[int]:
        D = db.deliveries
        with self.env.engine.connect() as conn:
            return list(
                conn.execute(
                    select(D.c.id).where(D.c.channel == self.name, D.c.state.in_(("waiting", "retrying")))
                ).scalars()
            )

    def _broadcast_only(self) -> None:
        if self.opts.mode != "broadcast":
            raise SendNowRefused(f"channel {self.name} is in {self.opts.mode} mode: it makes no mass sends")

    def quota(self) -> dict[str, object]:
        """Mass-send quota use of the current period (for the operator console)."""
        return quota_status(self.records, self.opts, self.env.settings.timezone, self.env.clock())

    def overview_facts(self) -> dict[str, str]:
        """How it sends, the quota and the next broadcast window (the operations overview)."""
        return quota_facts(self.quota(), self.env.clock(), self.env.settings.timezone)


def quota_use(services: Any, name: str) -> dict[str, object]:
    """The operator console's view of a WeChat channel's mass-send quota."""
    channel = services.channel(name)
    if not isinstance(channel, WeChatChannel):
        raise TypeError(f"channel {name} is not a WeChat channel")
    return channel.quota()
