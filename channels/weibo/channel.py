"""The ``weibo`` channel: one post per item on the agency's official Weibo account.

Idempotent per delivery: the post a delivery made is recorded (``weibo_posts``) and
answered again; before ``statuses/share.json`` the attempt checkpoints the text it
sends, so an attempt after a lost answer first looks for that text on the account's
timeline, and Weibo's own duplicate check (20019) is answered the same way: the post
already there is adopted, never a second one. A new revision is a new post, then the
earlier one is destroyed (Weibo cannot edit); a retraction destroys every post of the
item on the account (``statuses/destroy.json``; 20101, already gone, is done).

Whose account: ``ChannelEnv.options_for`` (an overlay ``[agencies.CODE.channels.NAME]``
gives an agency an account of its own: its ``app_key``, tokens, safe domain)."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from contextlib import suppress
from datetime import datetime, timedelta
from typing import Any, TypeVar
from urllib.parse import urlsplit

from channels.weibo.client import Api, Picture
from channels.weibo.compose import compose
from channels.weibo.errors import Duplicate, Gone, TokenRefused
from channels.weibo.options import WeiboOptions, check_options, parse_options
from channels.weibo.records import Post, Records
from channels.weibo.tokens import Tokens
from pipeline import outbound
from pipeline.channel import Channel, ChannelEnv, DeliveryContext, Health, Ref
from pipeline.errors import PermanentError, RateLimited
from pipeline.model import Published
from pipeline.urls import item_url

T = TypeVar("T")
PICTURE_TYPES = {"image/jpeg": "jpg", "image/png": "png", "image/gif": "gif"}
MAX_PICTURE = 5 * 1024 * 1024


class Account:
    """One Weibo account the instance posts with: its options, API client and tokens."""

    def __init__(
        self, name: str, code: str, opts: WeiboOptions, records: Records, policy: outbound.Policy
    ) -> None:
        self.code, self.opts = code, opts
        self.api = Api(opts, policy)
        self.tokens = Tokens(self.api, records, opts, code, name)

    def call(self, now: datetime, do: Callable[[str], T]) -> T:
        """``do(token)``, renewed once when Weibo refuses the token."""
        token = self.tokens.current(now)
        try:
            return do(token)
        except TokenRefused as exc:
            return do(self.tokens.refused(token, now, str(exc)))


class WeiboChannel(Channel):
    kind = "weibo"

    @classmethod
    def check_options(cls, name: str, options: dict[str, Any]) -> None:
        check_options(name, options)

    def __init__(self, name: str, options: dict[str, Any], env: ChannelEnv) -> None:
        super().__init__(name, options, env)
        self.opts = parse_options(name, options)
        self.records = Records(env.engine, name)
        self.policy = outbound.Policy.from_settings(env.settings.outbound)
        self._accounts: dict[str, Account] = {"": Account(name, "", self.opts, self.records, self.policy)}

    def account_for(self, agency: str) -> Account:
        """The account serving ``agency``: its own (an overlay), its parent's, or the instance's."""
        resolved = self.env.options_for(self.name, agency)
        if resolved is None or resolved.account == "":
            return self._accounts[""]
        if resolved.account not in self._accounts:
            opts = parse_options(self.name, resolved.options)
            self._accounts[resolved.account] = Account(
                self.name, resolved.account, opts, self.records, self.policy
            )
        return self._accounts[resolved.account]

    # -- the contract -------------------------------------------------------------
    def publish(self, item: Published, ctx: DeliveryContext) -> Ref:
        return self._post(item, ctx, None)

    def update(self, item: Published, previous: Ref, ctx: DeliveryContext) -> Ref:
        """Weibo cannot edit a post: post the new revision, then destroy the earlier post."""
        return self._post(item, ctx, previous)

    def retract(self, item: Published, previous: Ref | None, reason: str, ctx: DeliveryContext) -> Ref | None:
        account = self.account_for(item.agency.code)
        ids = [p.post_id for p in self.records.live_posts(account.code, item.source, item.id)]
        if previous and previous.get("post_id") and str(previous["post_id"]) not in ids:
            ids.append(str(previous["post_id"]))
        for post_id in ids:
            self._destroy(account, post_id, ctx.now)
        if previous is None and not ids:
            return None
        return {"post_id": (previous or {}).get("post_id") or ids[-1], "deleted": ids, "reason": reason}

    def health(self) -> Health:
        try:
            token = self._accounts[""].tokens.current(self.env.clock())
            self._accounts[""].api.token_info(token, self.env.clock())
        except Exception as exc:
            return Health(False, f"Weibo: {exc}")
        return Health(True, "Weibo: access token accepted")

    # -- posting ------------------------------------------------------------------
    def _post(self, item: Published, ctx: DeliveryContext, previous: Ref | None) -> Ref:
        account = self.account_for(item.agency.code)
        done = self.records.post_of(ctx.delivery_id)
        if done is None:
            done = self._share(account, item, ctx)
        if previous and previous.get("post_id") and str(previous["post_id"]) != done.post_id:
            self._destroy(account, str(previous["post_id"]), ctx.now)
        return self._ref(done)

    def _share(self, account: Account, item: Published, ctx: DeliveryContext) -> Post:
        link = item_url(self.env.settings, item, agencies=self.env.agencies)
        self._check_domain(account.opts, link)
        text = compose(item, link, with_summary=account.opts.with_summary)
        picture = self._picture(account.opts, item, ctx)
        digest = hashlib.sha256(text.encode()).hexdigest()
        made = self._find(account, text, ctx.now) if ctx.progress.get("shared") == digest else None
        if made is None:
            self._pace(account, ctx.now)
            ctx.checkpoint(shared=digest)  # before the risky step: a lost answer is looked for
            try:
                made = account.call(ctx.now, lambda token: account.api.share(token, text, picture, ctx.now))
                adopted = False
            except Duplicate as exc:
                made = self._find(account, text, ctx.now)
                if made is None:
                    raise PermanentError(
                        f"{exc}, and no post with this text is on the account's latest posts: set the "
                        "item's weibo_text to a text of its own"
                    ) from exc
                adopted = True
        else:
            adopted = True
        return self.records.add_post(
            ctx.delivery_id,
            account.code,
            item.source,
            item.id,
            item.revision,
            {
                "post_id": str(made.get("idstr") or made["id"]),
                "uid": str((made.get("user") or {}).get("idstr") or (made.get("user") or {}).get("id") or ""),
                "text": text,
                "adopted": adopted,
                "posted_at": ctx.now,
            },
        )

    def _find(self, account: Account, text: str, now: datetime) -> dict[str, Any] | None:
        statuses = account.call(now, lambda token: account.api.timeline(token, now))
        return next((s for s in statuses if s.get("text") == text), None)

    def _destroy(self, account: Account, post_id: str, now: datetime) -> None:
        with suppress(Gone):  # already gone: what a retraction wants
            account.call(now, lambda token: account.api.destroy(token, post_id, now))
        self.records.deleted(account.code, post_id, now)

    def _pace(self, account: Account, now: datetime) -> None:
        """Weibo's hourly limit per account, kept here before Weibo has to say 10023."""
        used, oldest = self.records.posted_since(account.code, now - timedelta(hours=1))
        if used >= account.opts.hourly_limit and oldest is not None:
            raise RateLimited(
                f"{used} posts on the account in the last hour (hourly_limit {account.opts.hourly_limit})",
                retry_at=oldest + timedelta(hours=1),
            )

    def _check_domain(self, opts: WeiboOptions, link: str) -> None:
        host = urlsplit(link).netloc.lower()
        domain = opts.safe_domain.lower()
        if host != domain and not host.endswith("." + domain) and host.split(":")[0] != domain:
            raise PermanentError(
                f"the item's page {link} is not under the app's registered safe domain {domain}: "
                "Weibo shares links of that domain only; set safe_domain (and the app's 安全域名) "
                "to the public site's domain"
            )

    def _picture(self, opts: WeiboOptions, item: Published, ctx: DeliveryContext) -> Picture | None:
        cover = item.cover_image
        if not opts.with_cover or cover is None:
            return None
        ext = PICTURE_TYPES.get(cover.media_type)
        if ext is None:
            raise PermanentError(
                f"cover_image is {cover.media_type}; Weibo takes JPEG, PNG or GIF: give another cover "
                "or set with_cover = false"
            )
        data = ctx.blob(cover.sha256)
        if len(data) > MAX_PICTURE:
            raise PermanentError(f"cover_image is {len(data)} bytes; Weibo takes at most 5 MB")
        return (f"cover.{ext}", data, cover.media_type)

    def _ref(self, post: Post) -> Ref:
        url = self.opts.post_url.format(id=post.post_id, uid=post.uid)
        ref: Ref = {"post_id": post.post_id, "url": url, "revision": post.revision}
        if post.account:
            ref["account"] = post.account
        if post.adopted:
            ref["adopted"] = True
        return ref

    # -- what operators see -------------------------------------------------------
    def quota(self) -> dict[str, object]:
        """Posts of the instance's own account in the last hour against ``hourly_limit``."""
        used, _ = self.records.posted_since("", self.env.clock() - timedelta(hours=1))
        limit = self.opts.hourly_limit
        return {"limit": limit, "used": used, "remaining": max(0, limit - used), "period": "最近一小时"}

    def overview_facts(self) -> dict[str, str]:
        quota = self.quota()
        facts = {
            "发帖额度": f"最近一小时：已发 {quota['used']} / {quota['limit']}，剩余 {quota['remaining']}"
        }
        token = self.records.token("")
        if token is not None and token.expires_at is not None:
            facts["授权有效期至"] = f"{token.expires_at:%Y-%m-%d %H:%M} UTC"
        last = self.records.last_post("")
        if last is not None:
            facts["最近发帖"] = f"{last:%Y-%m-%d %H:%M} UTC"
        return facts
