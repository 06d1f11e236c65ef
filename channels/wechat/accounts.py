"""The official accounts one WeChat channel serves (platform mode, 集约化).

The instance's own options are the platform's account (code ``""``: the district's);
an agency with ``[agencies.CODE.channels.NAME]`` and an ``appid`` of its own has its
own account (code: the agency's code), one with ``use = "parent"`` or ``"platform"``
publishes on whichever account serves that (:mod:`pipeline.overlays`). An agency with
no overlay is served by the instance's own account only when it heads the tree (no
parent): the plug-in's ``agency_default`` is ``"head"``, so a department without an
account is never published on the district's by accident.

Each :class:`Account` has its own token (wechatpy keys it by appid), records (keyed by
account in every WeChat table), quota, broadcast window and callback
(``/wechat/callback/{channel}/{account path}``). The account a delivery goes to is
written into its progress at its first attempt (``account``, ``appid``): a later change
of the configuration never moves a delivery that has started.
"""

from __future__ import annotations

from functools import cached_property, partial
from typing import Any

import redis
from wechatpy.session import SessionStorage
from wechatpy.session.memorystorage import MemoryStorage
from wechatpy.session.redisstorage import RedisStorage

from channels.wechat.broadcast import Broadcaster
from channels.wechat.client import GovpubWeChatClient
from channels.wechat.content import ArticleMaker
from channels.wechat.options import WeChatOptions
from channels.wechat.plan import ready_and_due
from channels.wechat.publish import Publisher
from channels.wechat.records import Records
from pipeline import outbound, urls
from pipeline.channel import ChannelEnv


class Account:
    """One official account of one channel: its options and the parts that use them."""

    def __init__(self, name: str, code: str, opts: WeChatOptions, env: ChannelEnv, page_url: Any) -> None:
        self.name = name  # the channel's
        self.code = code  # "" the instance's own account; else the owning agency's code
        self.opts = opts
        self.env = env
        self.page_url: Any = page_url  # Published -> its website URL (阅读原文)
        self.records = Records(env.engine, name, code)

    @property
    def label(self) -> str:
        """How operators know it: the owning agency's name, or the channel's own."""
        if not self.code:
            return f"{self.name}（平台账号）"
        agency = self.env.agencies.get(self.code)
        return agency.name if agency is not None else self.code

    @property
    def path(self) -> str:
        """The account's segment in its callback and console URLs: the owning agency's
        column path (its code when it has none); ``""`` for the instance's own."""
        if not self.code:
            return ""
        agency = self.env.agencies.get(self.code)
        return agency.path if agency is not None and agency.path else self.code.lower()

    @cached_property
    def client(self) -> GovpubWeChatClient:
        return GovpubWeChatClient(self.opts, self._token_store())

    def _token_store(self) -> SessionStorage:
        """Redis when there is one (every worker shares the token; keyed by appid), else
        this process."""
        url = self.opts.redis_url or self.env.settings.redis
        if not url:
            return MemoryStorage()
        return RedisStorage(redis.Redis.from_url(url, socket_timeout=10), prefix="wechatpy")

    @cached_property
    def publisher(self) -> Publisher:
        policy = outbound.Policy.from_settings(self.env.settings.outbound)
        settings, agencies = self.env.settings, self.env.agencies
        maker = ArticleMaker(
            self.client,
            self.records,
            self.opts,
            policy,
            lambda no: urls.page_url(settings, no, agencies=agencies),
        )
        return Publisher(self.client, self.records, maker, self.opts, self.page_url)

    @cached_property
    def broadcaster(self) -> Broadcaster:
        tz = self.env.settings.timezone
        due = partial(ready_and_due, self.env, self.name)
        return Broadcaster(self.name, self.publisher, self.records, self.publisher.maker, self.opts, tz, due)

    def tag(self, ref: dict[str, Any] | None) -> dict[str, Any] | None:
        """A Ref names the account it is on (retractions and updates go there)."""
        if ref is None:
            return None
        return {**ref, "account": self.code, "appid": self.opts.appid}
