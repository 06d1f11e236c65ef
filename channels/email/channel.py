"""The e-mail channel. Per item: each newsroom address (the whole item) and each
subscriber who chose one message per item (title, summary, link, unsubscribe). A
batched instance (``digest``, the default) also holds an item's delivery until the day's
digest has gone to the subscribers who chose it.

Idempotent per delivery: every message has a Message-ID made of the delivery and the
recipient, recorded in ``email_sends`` once the relay took it, so a retry sends only to
whoever is still missing, and if a crash fell between the relay's answer and the record,
the same Message-ID goes again (recognisable as one message by the recipient's system).
A recipient refused with 5yz is a bounce (a subscriber stops receiving); 4yz leaves the
delivery to retry for them; a relay-wide refusal follows ``channels.kit.smtp``."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from functools import partial
from typing import Any

from channels.kit import secrets
from pipeline.channel import BatchEntry, Channel, ChannelEnv, DeliveryContext, Health, Ref
from pipeline.errors import ConfigError, DeliveryError, NotDue, TransientError
from pipeline.model import Published
from pipeline.urls import item_url

from . import compose, digest, links, relay
from .options import EmailOptions, check, parse_options
from .sendlog import SendLog
from .subscribers import Subscriber, Subscribers, in_scope, recipient_hash

Answer = Ref | Exception | None


@dataclass(frozen=True)
class Outgoing:
    address: str
    message_id: str
    build: Callable[..., EmailMessage]  # build(mid=Message-ID) → the message
    subscriber: Subscriber | None = None


class EmailChannel(Channel):
    kind = "email"

    @classmethod
    def check_options(cls, name: str, options: dict[str, Any]) -> None:
        check(name, parse_options(name, options))

    def __init__(self, name: str, options: dict[str, Any], env: ChannelEnv) -> None:
        super().__init__(name, options, env)
        self.opts = parse_options(name, options)
        self.batched = self.opts.subscriptions and self.opts.digest
        self.subscribers = Subscribers(env.engine, name)
        self.log = SendLog(env.engine, name)
        self._agency_opts: dict[str, EmailOptions] = {}

    # -- the contract -------------------------------------------------------------
    def publish(self, item: Published, ctx: DeliveryContext) -> Ref:
        return self._deliver(item, ctx, update=False)

    def update(self, item: Published, previous: Ref, ctx: DeliveryContext) -> Ref:
        return self._deliver(item, ctx, update=True)

    def retract(self, item: Published, previous: Ref | None, reason: str, ctx: DeliveryContext) -> Ref | None:
        if previous is None or "delivery" not in previous:
            return None
        opts = self.options_for(item)
        earlier = int(previous["delivery"])
        received = self.log.recipients_of(earlier)
        referred = self.log.message_ids(earlier)
        targets: list[tuple[str, Subscriber | None]] = [(a, None) for a in opts.newsrooms]
        targets += [(s.address, s) for s in self.subscribers.recipients(item, "item")]
        wanted = [(a, s) for a, s in targets if recipient_hash(a) in received]
        if previous.get("digest"):
            wanted += [(s.address, s) for s in self.subscribers.recipients(item, "digest")]
        env = self._envelope(opts)
        out = [
            Outgoing(
                address,
                compose.message_id(self.name, f"d{ctx.delivery_id}", address, opts.sender),
                partial(
                    compose.retraction_message,
                    env,
                    item,
                    reason,
                    address,
                    now=ctx.now,
                    refers_to=referred.get(recipient_hash(address)),
                    unsubscribe_url=self._unsubscribe_url(sub),
                ),
                sub,
            )
            for address, sub in dict(wanted).items()
        ]
        self._send(opts, out, "retraction", ctx)
        return {"delivery": ctx.delivery_id, "withdrawn": earlier, **self.log.counts(ctx.delivery_id)}

    def health(self) -> Health:
        try:
            with relay.connected(self.opts) as client:
                code, _ = client.noop()
        except (DeliveryError, ConfigError) as exc:
            return Health(False, str(exc))
        return Health(code == 250, f"mail relay {self.opts.smtp_host}:{self.opts.smtp_port} answered {code}")

    def overview_facts(self) -> dict[str, str]:
        """Who receives what, and when the next digest goes (the operations overview)."""
        tally = self.subscribers.tally()
        facts = {"新闻单位邮箱": f"{len(self.opts.newsrooms)} 个"}
        if self.opts.subscriptions:
            confirmed = {mode: tally.get(("confirmed", mode), 0) for mode in ("item", "digest")}
            facts["订阅者"] = (
                f"逐条 {confirmed['item']}，每日摘要 {confirmed['digest']}；"
                f"待确认 {sum(n for (state, _), n in tally.items() if state == 'pending')}，"
                f"退信停发 {sum(n for (state, _), n in tally.items() if state == 'bounced')}"
            )
        if self.batched:
            window = digest.window_after(self.env.clock(), self.opts.digest_time, self.env.settings.timezone)
            facts["下次摘要"] = window.strftime("%Y-%m-%d %H:%M")
        return facts

    # -- batched: the daily digest --------------------------------------------------
    def publish_batch(self, entries: list[BatchEntry]) -> dict[int, Answer]:
        answers: dict[int, Answer] = {}
        now = self.env.clock()
        ready: dict[str, list[tuple[BatchEntry, Ref]]] = defaultdict(list)
        tz = self.env.settings.timezone
        for entry in entries:
            ctx = entry.ctx
            try:
                ref = ctx.progress.get("ref") or self._one(entry)
            except Exception as exc:  # this entry's; the others go on
                answers[ctx.delivery_id] = exc
                continue
            if "ref" not in ctx.progress:
                ctx.checkpoint(ref=ref)
            if (
                ref is None
                or entry.action == "retract"
                or not self.subscribers.recipients(entry.item, "digest")
            ):
                answers[ctx.delivery_id] = ref
                continue
            if "digest_at" not in ctx.progress:
                ctx.checkpoint(digest_at=digest.window_after(ctx.now, self.opts.digest_time, tz).isoformat())
            window = datetime.fromisoformat(ctx.progress["digest_at"])
            if now < window:
                answers[ctx.delivery_id] = NotDue(
                    f"in the digest of {digest.day_of(window, tz)}", retry_at=window
                )
                continue
            ready[digest.day_of(window, tz)].append((entry, ref))
        for day, members in ready.items():
            try:
                self._digest(day, [e.item for e, _ in members], now)
            except Exception as exc:
                answers.update({e.ctx.delivery_id: exc for e, _ in members})
                continue
            answers.update({e.ctx.delivery_id: {**ref, "digest": day} for e, ref in members})
        return answers

    def _one(self, entry: BatchEntry) -> Ref | None:
        if entry.action == "retract":
            return self.retract(entry.item, entry.previous, entry.reason, entry.ctx)
        if entry.previous is not None:
            return self.update(entry.item, entry.previous, entry.ctx)
        return self.publish(entry.item, entry.ctx)

    def _digest(self, day: str, items: list[Published], now: datetime) -> None:
        opts = self.opts
        env = self._envelope(opts)
        out = []
        for sub in self.subscribers.confirmed("digest"):
            theirs = [(i, self._url(i)) for i in items if in_scope(sub.scope, i)]
            if not theirs:
                continue
            out.append(
                Outgoing(
                    sub.address,
                    compose.message_id(self.name, f"digest-{day}", sub.address, opts.sender),
                    partial(
                        compose.digest_message,
                        env,
                        day,
                        theirs,
                        sub.address,
                        now=now,
                        unsubscribe_url=self._unsubscribe_url(sub) or "",
                    ),
                    sub,
                )
            )
        # One digest per address and day (its Message-ID): an entry that becomes ready for a
        # day whose digest already went to someone (a retried entry) is not sent to them again.
        by_address = {o.address: o for o in out}
        self._send(opts, list(by_address.values()), "digest", None, now=now)

    # -- sending --------------------------------------------------------------------
    def _deliver(self, item: Published, ctx: DeliveryContext, *, update: bool) -> Ref:
        opts = self.options_for(item)
        env = self._envelope(opts)
        url = self._url(item)
        shown = item.model_copy(update={"title": f"【更新】{item.title}"}) if update else item
        out = [
            Outgoing(
                address,
                compose.message_id(self.name, f"d{ctx.delivery_id}", address, opts.sender),
                partial(compose.item_message, env, shown, url, address, now=ctx.now, full=True),
            )
            for address in opts.newsrooms
        ]
        out += [
            Outgoing(
                sub.address,
                compose.message_id(self.name, f"d{ctx.delivery_id}", sub.address, opts.sender),
                partial(
                    compose.item_message,
                    env,
                    shown,
                    url,
                    sub.address,
                    now=ctx.now,
                    full=False,
                    unsubscribe_url=self._unsubscribe_url(sub),
                ),
                sub,
            )
            for sub in self.subscribers.recipients(item, "item")
            if sub.address not in opts.newsrooms
        ]
        self._send(opts, out, "item", ctx)
        return {
            "delivery": ctx.delivery_id,
            "index_no": item.index_no,
            "revision": item.revision,
            **self.log.counts(ctx.delivery_id),
        }

    def _send(
        self,
        opts: EmailOptions,
        out: list[Outgoing],
        kind: str,
        ctx: DeliveryContext | None,
        *,
        now: datetime | None = None,
    ) -> None:
        """Each message not sent yet; deferred recipients make the whole a TransientError
        after the others went (the retry sends to them only)."""
        moment = ctx.now if ctx is not None else (now or self.env.clock())
        pending = [o for o in out if not self.log.done(o.message_id)]
        if not pending:
            return
        deferred: list[str] = []
        with relay.connected(opts) as client:
            for o in pending:
                refusal = relay.send(client, o.build(mid=o.message_id), opts.sender, o.address)
                delivery_id = ctx.delivery_id if ctx is not None else None
                if refusal is None:
                    self.log.record(o.message_id, o.address, kind, "sent", moment, delivery_id=delivery_id)
                elif refusal.permanent:
                    detail = f"{refusal.code} {refusal.text}"
                    self.log.record(
                        o.message_id,
                        o.address,
                        kind,
                        "refused",
                        moment,
                        delivery_id=delivery_id,
                        detail=detail,
                    )
                    if o.subscriber is not None:
                        self.subscribers.bounced(o.address, moment)
                else:
                    deferred.append(f"{o.address}: {refusal.code} {refusal.text}")
        if deferred:
            raise TransientError(
                f"the mail relay deferred {len(deferred)} recipient(s): {'; '.join(deferred)[:500]}"
            )

    def send_confirmation(self, sub: Subscriber, scope_label: str) -> None:
        """The double opt-in request (from the subscribe form); errors as the error tree."""
        env = self._envelope(self.opts)
        now = self.env.clock()
        confirm = links.url(self.env.settings.public_url, self.name, "confirm", self.signing_key(), sub)
        mid = compose.message_id(
            self.name, f"confirm-{sub.id}-{int(sub.created_at.timestamp())}", sub.address, self.opts.sender
        )
        out = Outgoing(
            sub.address,
            mid,
            partial(compose.confirmation_message, env, scope_label, sub.mode, confirm, sub.address, now=now),
        )
        self._send(self.opts, [out], "confirm", None, now=now)
        if not self.log.done(mid):
            raise TransientError("the mail relay did not take the confirmation")

    # -- helpers --------------------------------------------------------------------
    def options_for(self, item: Published) -> EmailOptions:
        """The agency's options (an overlay's newsrooms, sender, relay) or the instance's."""
        resolved = self.env.options_for(self.name, item.agency.code)
        if resolved is None or resolved.account == "":
            return self.opts
        if resolved.account not in self._agency_opts:
            self._agency_opts[resolved.account] = parse_options(self.name, resolved.options)
        return self._agency_opts[resolved.account]

    def signing_key(self) -> str:
        key = secrets.read_secret(self.opts, "signing_key", label="the key signing subscription links")
        if not key:
            raise ConfigError(
                f"channels.{self.name}.options.signing_key_env", None, "subscriptions need a signing key"
            )
        return key

    def _unsubscribe_url(self, sub: Subscriber | None) -> str | None:
        if sub is None:
            return None
        return links.url(self.env.settings.public_url, self.name, "unsubscribe", self.signing_key(), sub)

    def _envelope(self, opts: EmailOptions) -> compose.Envelope:
        return compose.Envelope(opts.sender, opts.sender_name, self.env.settings.site_name)

    def _url(self, item: Published) -> str:
        return item_url(self.env.settings, item, agencies=self.env.agencies)
