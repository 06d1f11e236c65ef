"""OAuth2 access tokens of one Weibo account, as the real service allows renewing them.

The operator's authorisation gives an access token (``access_token_env``/``_file``);
its expiry is learnt once from ``oauth2/get_token_info`` and kept in ``weibo_tokens``
(every worker shares it). Before it runs out (``renew_before_seconds``), or when Weibo
refuses it (21315, 21327, …), it is renewed with a refresh token when there is one
(``grant_type=refresh_token``; a rotated refresh token is kept); without one, or when
Weibo refuses the refresh, the delivery stops with a permanent error saying how to
re-authorise. A new configured token (the operator re-authorised) replaces whatever
was renewed from the old one."""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta

from channels.kit.secrets import read_secret
from channels.weibo.client import Api
from channels.weibo.errors import TokenRefused
from channels.weibo.options import ACCESS_TOKEN, APP_SECRET, REFRESH_TOKEN, WeiboOptions
from channels.weibo.records import Records, Token
from pipeline.errors import PermanentError


class Tokens:
    def __init__(self, api: Api, records: Records, opts: WeiboOptions, account: str, channel: str) -> None:
        self.api, self.records, self.opts = api, records, opts
        self.account, self.channel = account, channel

    def current(self, now: datetime) -> str:
        """A token to call with now, renewed first when it is about to run out."""
        configured, base = self._configured()
        row = self.records.token(self.account)
        if row is None or row.base != base:
            try:
                info = self.api.token_info(configured, now)
            except TokenRefused as exc:
                self.records.save_token(self.account, Token(base, configured, None, now, now))
                return self._renew(configured, base, now, f"the configured token was refused ({exc})")
            left = int(info.get("expire_in") or 0)
            row = Token(base, configured, None, now + timedelta(seconds=left) if left else None, now)
            self.records.save_token(self.account, row)
        expires = row.expires_at
        soon = expires is not None and expires - now <= timedelta(seconds=self.opts.renew_before_seconds)
        # renewed ahead when a refresh token allows; else used until it runs out
        if soon and expires is not None and (self._refresh_token(row, base) is not None or expires <= now):
            return self._renew(row.access_token, base, now, f"it expires at {expires:%Y-%m-%d %H:%M} UTC")
        return row.access_token

    def refused(self, token: str, now: datetime, why: str) -> str:
        """Weibo refused ``token`` on a call: another worker's renewal, or a renewal now."""
        _, base = self._configured()
        return self._renew(token, base, now, f"Weibo refused it ({why})")

    def _renew(self, wanting: str, base: str, now: datetime, why: str) -> str:
        """A token in place of ``wanting``: one another worker renewed meanwhile, or a
        new one from the refresh token, under the row's lock."""
        with self.records.renewing(self.account) as (row, save):
            if row is not None and row.base == base and row.access_token != wanting:
                return row.access_token  # renewed by another worker while this one waited
            refresh = self._refresh_token(row, base)
            if refresh is None:
                raise self._reauthorise(why, "no refresh token is configured (refresh_token_env/_file)")
            secret = str(read_secret(self.opts, "app_secret", label=APP_SECRET))
            try:
                answer = self.api.refresh(refresh, secret, now)
            except PermanentError as exc:
                raise self._reauthorise(why, f"Weibo refused the refresh ({exc})") from exc
            expires_in = int(answer.get("expires_in") or 0)
            token = Token(
                base,
                str(answer["access_token"]),
                str(answer.get("refresh_token") or refresh),
                now + timedelta(seconds=expires_in) if expires_in else None,
                now,
            )
            save(token)
            return token.access_token

    def _refresh_token(self, row: Token | None, base: str) -> str | None:
        if row is not None and row.base == base and row.refresh_token:
            return row.refresh_token
        return read_secret(self.opts, "refresh_token", label=REFRESH_TOKEN)

    def _configured(self) -> tuple[str, str]:
        token = str(
            read_secret(self.opts, "access_token", key=f"channels.{self.channel}.options", label=ACCESS_TOKEN)
        )
        return token, hashlib.sha256(token.encode()).hexdigest()[:32]

    def _reauthorise(self, why: str, cannot: str) -> PermanentError:
        whose = f"agency {self.account}'s account" if self.account else "the account"
        return PermanentError(
            f"the Weibo access token of {whose} on channel {self.channel} cannot be used: {why}, and it "
            f"cannot be renewed here: {cannot}. Re-authorise the app on the account at "
            f"{self.opts.authorize_url()}, put the new access token in {self.opts.token_source()}, then "
            f"retry the dead deliveries (`govpub weibo token --channel {self.channel}` shows the token)"
        )
