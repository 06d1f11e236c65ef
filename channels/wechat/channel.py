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

Platform mode: one channel serves several official accounts (:mod:`.accounts`): each
delivery goes to the account that serves its item's agency, chosen at its first attempt
and kept in its progress; a batch gathers one mass send per account in broadcast mode.
"""

from __future__ import annotations

from datetime import datetime
from functools import partial
from typing import Any

from sqlalchemy import select

from channels.wechat import schedule
from channels.wechat.accounts import Account
from channels.wechat.broadcast import Broadcaster, quota_status
from channels.wechat.client import GovpubWeChatClient
from channels.wechat.errors import answer_of, translate
from channels.wechat.options import check_options, parse_options
from channels.wechat.overview import quota_facts
from channels.wechat.plan import coming_send
from channels.wechat.publish import Publisher
from pipeline import db
from pipeline.channel import BatchEntry, Channel, ChannelEnv, DeliveryContext, Health, Ref
from pipeline.errors import GovpubError, PermanentError
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
        self.own = Account(name, "", self.opts, env, self.page_url)
        self._accounts: dict[str, Account] = {"": self.own}
        self.batched = any(a.opts.mode == "broadcast" for a in self.accounts())
        self.records = self.own.records

    # -- accounts -------------------------------------------------------------------
    def accounts(self) -> list[Account]:
        """The instance's own account, then every agency's own (its overlay gives an
        ``appid`` of its own), by agency code."""
        codes = sorted(getattr(self.env.settings, "agencies", {}) or {})
        found = [self.own]
        for code in codes:
            account = self._account(code)
            if account is not None and account.code == code:
                found.append(account)
        return found

    def account(self, code: str) -> Account:
        """The account ``code`` (``""``: the instance's own); PermanentError when it is not
        (or no longer) configured on this channel."""
        found = self._account(code)
        if found is None or found.code != code:
            raise PermanentError(
                f"WeChat account {code!r} is not configured on channel {self.name} any more "
                f"([agencies.{code}.channels.{self.name}] with an appid of its own): a delivery started "
                "on it cannot move to another account; restore the account's options, or skip the delivery"
            )
        return found

    def _account(self, code: str) -> Account | None:
        if code in self._accounts:
            return self._accounts[code]
        resolved = self.env.options_for(self.name, code)
        if resolved is None or resolved.account != code:
            return None
        account = Account(
            self.name, code, parse_options(self.name, resolved.options), self.env, self.page_url
        )
        self._accounts[code] = account
        return account

    def account_by_path(self, path: str) -> Account | None:
        """The account whose callback and console URLs carry ``path`` (its agency's column
        path, or its code)."""
        for account in self.accounts():
            if account.code and path in (account.path, account.code):
                return account
        return None

    def serving(self, agency_code: str) -> Account | None:
        """The account that serves the agency now (None: none does)."""
        resolved = self.env.options_for(self.name, agency_code)
        return None if resolved is None else self._account(resolved.account)

    def account_of(self, item: Published, ctx: DeliveryContext, previous: Ref | None = None) -> Account:
        """The account of this delivery: the one its first attempt recorded; else, for a
        retraction or an update, the one the live article is on; else the one serving its
        agency now, recorded in its progress before anything is sent."""
        if "account" in ctx.progress:
            return self.account(str(ctx.progress["account"]))
        if previous is not None and "account" in previous:
            account = self.account(str(previous["account"]))
        else:
            found = self.serving(item.agency.code)
            if found is None:
                raise PermanentError(
                    f"channel {self.name} does not serve agency {item.agency.code} (any more): no WeChat "
                    f"account of its own ([agencies.{item.agency.code}.channels.{self.name}]), none of its "
                    "parent's, and it does not head the tree"
                )
            account = found
        ctx.checkpoint(account=account.code, appid=account.opts.appid)
        return account

    # -- the platform account's parts (single-account callers and tests) --------------
    @property
    def client(self) -> GovpubWeChatClient:
        return self.own.client

    @property
    def publisher(self) -> Publisher:
        return self.own.publisher

    @property
    def broadcaster(self) -> Broadcaster:
        return self.own.broadcaster

    def page_url(self, item: Published) -> str:
        return item_url(self.env.settings, item, agencies=self.env.agencies)

    # -- the channel contract -----------------------------------------------------
    def publish(self, item: Published, ctx: DeliveryContext) -> Ref:
        account = self.account_of(item, ctx)
        return _tagged(account, account.publisher.publish(item, ctx))

    def update(self, item: Published, previous: Ref, ctx: DeliveryContext) -> Ref:
        """WeChat cannot edit a published article: publish the new revision (without a
        push), then delete the earlier article once the new one is live (on the account
        the earlier one is on)."""
        account = self.account_of(item, ctx, previous)
        return _tagged(account, account.publisher.publish(item, ctx, replaces=previous))

    def retract(self, item: Published, previous: Ref | None, reason: str, ctx: DeliveryContext) -> Ref | None:
        account = self.account_of(item, ctx, previous)
        return account.tag(account.publisher.retract(item, previous, reason, ctx))

    def publish_batch(self, entries: list[BatchEntry]) -> dict[int, Ref | Exception | None]:
        """Retractions, new revisions, deliveries already on the publish path and those of
        accounts in publish mode go one by one; the rest are gathered into their account's
        mass send (one per account: an account out of quota holds back only its own)."""
        answers: dict[int, Ref | Exception | None] = {}
        gathered: dict[str, list[BatchEntry]] = {}
        for entry in entries:
            try:
                account = self.account_of(entry.item, entry.ctx, entry.previous)
            except Exception as exc:
                answers[entry.ctx.delivery_id] = translate(exc)
                continue
            single = entry.action == "retract" or entry.previous is not None
            if single or entry.ctx.progress.get("via") == "publish" or account.opts.mode != "broadcast":
                answers[entry.ctx.delivery_id] = answer_of(partial(self._one, account, entry))
            else:
                gathered.setdefault(account.code, []).append(entry)
        batch = {e.ctx.delivery_id for e in entries}
        for code, group in gathered.items():
            account = self.account(code)
            sent = account.broadcaster.run(group, self.env.clock(), batch=batch)
            answers.update({d: _tagged(account, a) for d, a in sent.items()})
        return answers

    def _one(self, account: Account, entry: BatchEntry) -> Ref | None:
        if entry.action == "retract":
            return account.tag(account.publisher.retract(entry.item, entry.previous, entry.reason, entry.ctx))
        return _tagged(account, account.publisher.publish(entry.item, entry.ctx, replaces=entry.previous))

    def confirmed_ref(self, progress: dict[str, Any], url: str, ident: str) -> Ref:
        """An article an operator found in the account's publish list (a lost submit
        answer): its link, and its ``article_id`` so that it can be replaced or deleted."""
        ref = {
            "mode": "publish",
            "media_id": progress.get("media_id"),
            "article_id": ident,
            "index": 1,
            "article_url": url,
            "confirmed_by": "operator",
        }
        if "account" in progress:  # the account it was submitted on: where it is replaced or deleted
            ref.update(account=progress["account"], appid=progress.get("appid"))
        return ref

    def health(self) -> Health:
        """Every account's token can be had (each fetched once, then shared)."""
        bad = []
        for account in self.accounts():
            try:
                account.client.access_token  # noqa: B018 - fetching (or finding) the token is the check
            except Exception as exc:
                bad.append(f"{account.label} ({account.opts.appid}): {translate(exc)}")
        if bad:
            return Health(ok=False, detail="; ".join(bad))
        n = len(self.accounts())
        return Health(
            ok=True, detail=f"{self.opts.mode} mode, token available" + (f" ({n} accounts)" if n > 1 else "")
        )

    def coming_send(self, code: str = "") -> dict[str, Any]:
        """Today's mass send of one account as an operator checks it (:func:`.plan.coming_send`)."""
        account = self.account(code)
        self._broadcast_only(account)
        return coming_send(account, self.env.clock())

    def send_now(self, operator: str, code: str = "") -> list[int]:
        """An operator's order to send an account's mass send now: gathered from what is
        ready, without waiting for the cut-off or the send time. Returns the deliveries to run."""
        account = self.account(code)
        self._broadcast_only(account)
        now = self.env.clock()
        closed = account.broadcaster.closed(now)
        if closed is not None and not self._gathered_unsent(account, now):
            nxt, why = closed
            raise SendNowRefused(
                f"{why}: nothing to send now (next mass send gathered {nxt.cutoff:%Y-%m-%d %H:%M})"
            )
        window = account.broadcaster.window(now)
        account.records.send_now(window.name, operator, now)
        return self.env.wake(self._waiting_ids(), now)

    def _gathered_unsent(self, account: Account, now: datetime) -> bool:
        tz = self.env.settings.timezone
        job = account.records.window_job(schedule.todays_send(now, account.opts, tz).name)
        return job is not None and job.sent_at is None

    def _waiting_ids(self) -> list[int]:
        D = db.deliveries
        with self.env.engine.connect() as conn:
            return list(
                conn.execute(
                    select(D.c.id).where(D.c.channel == self.name, D.c.state.in_(("waiting", "retrying")))
                ).scalars()
            )

    def _broadcast_only(self, account: Account) -> None:
        if account.opts.mode != "broadcast":
            raise SendNowRefused(
                f"channel {self.name}, account {account.label}, is in {account.opts.mode} mode: "
                "it makes no mass sends"
            )

    def quota(self, code: str = "") -> dict[str, object]:
        """Mass-send quota use of the current period of one account (the operator console)."""
        account = self.account(code)
        status = quota_status(account.records, account.opts, self.env.settings.timezone, self.env.clock())
        return {**status, "account": account.code, "appid": account.opts.appid, "label": account.label}

    def quotas(self) -> list[dict[str, object]]:
        """Every account's quota use."""
        return [self.quota(a.code) for a in self.accounts()]

    def overview_facts(self) -> dict[str, str]:
        """How it sends, the quota and the next broadcast window (the operations overview)."""
        return quota_facts(self.quota(), self.env.clock(), self.env.settings.timezone)


def _tagged(account: Account, answer: Any) -> Any:
    """A Ref (or an Unconfirmed's ref) names the account; errors pass as they are."""
    if isinstance(answer, dict):
        return account.tag(answer)
    ref = getattr(answer, "ref", None)
    if isinstance(ref, dict):
        answer.ref = account.tag(ref)
    return answer


def quota_use(services: Any, name: str) -> dict[str, object]:
    """The operator console's view of a WeChat channel's mass-send quota."""
    channel = services.channel(name)
    if not isinstance(channel, WeChatChannel):
        raise TypeError(f"channel {name} is not a WeChat channel")
    return channel.quota()
