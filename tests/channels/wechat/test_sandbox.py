"""The WeChat sandbox answers as shared/domain/wechat.md says the real API does."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx

from channels.wechat.client import GovpubWeChatClient
from channels.wechat.options import WeChatOptions
from channels.wechat.sandbox import SandboxServer
from tests.channels.wechat.conftest import SECRET, control, record
from tests.helpers import free_port, govpub, kill, wait_until


def token(sandbox: SandboxServer) -> str:
    params = {"grant_type": "client_credential", "appid": sandbox.account.config.appid, "secret": SECRET}
    answer: str = httpx.get(sandbox.api_base_url + "token", params=params).json()["access_token"]
    return answer


def call(sandbox: SandboxServer, path: str, body: Any, access_token: str, raw: bytes | None = None) -> Any:
    content = raw if raw is not None else json.dumps(body, ensure_ascii=False).encode()
    return httpx.post(
        sandbox.api_base_url + path, params={"access_token": access_token}, content=content
    ).json()


def thumb(sandbox: SandboxServer, access_token: str) -> str:
    from channels.wechat.images import title_cover

    files = {"media": ("c.jpg", title_cover("封面"), "image/jpeg")}
    answer = httpx.post(
        sandbox.api_base_url + "material/add_material",
        params={"access_token": access_token, "type": "thumb"},
        files=files,
    )
    media_id: str = answer.json()["media_id"]
    return media_id


def article(thumb_media_id: str, **changes: Any) -> dict[str, Any]:
    return {"title": "标题", "content": "<p>正文</p>", "thumb_media_id": thumb_media_id, **changes}


def test_drafts_are_held_to_wechats_limits(sandbox: SandboxServer) -> None:
    tok = token(sandbox)
    cover = thumb(sandbox, tok)
    assert (
        call(sandbox, "draft/add", {"articles": [article(cover, title="长" * 33)]}, tok)["errcode"] == 45003
    )
    assert (
        call(sandbox, "draft/add", {"articles": [article(cover, digest="摘" * 129)]}, tok)["errcode"] == 45004
    )
    assert call(sandbox, "draft/add", {"articles": [article("not-material")]}, tok)["errcode"] == 40007
    escaped = json.dumps({"articles": [article(cover)]}).encode()  # ensure_ascii: \\uXXXX escapes
    assert call(sandbox, "draft/add", None, tok, raw=escaped)["errcode"] == 40033
    assert call(sandbox, "draft/add", {"articles": [article(cover)] * 9}, tok)["errcode"] == 45008
    assert "media_id" in call(sandbox, "draft/add", {"articles": [article(cover)]}, tok)


def test_a_repeated_clientmsgid_returns_the_first_msg_id_and_quota_runs_out(sandbox: SandboxServer) -> None:
    cover = thumb(sandbox, token(sandbox))

    def send(clientmsgid: str) -> Any:
        tok = token(sandbox)
        media_id = call(sandbox, "draft/add", {"articles": [article(cover)]}, tok)["media_id"]
        body = {"filter": {"is_to_all": True}, "mpnews": {"media_id": media_id}, "msgtype": "mpnews"}
        return call(sandbox, "message/mass/sendall", {**body, "clientmsgid": clientmsgid}, tok)

    first = send("a")
    again = send("a")
    assert (again["errcode"], again["msg_id"]) == (45065, first["msg_id"])
    assert send("b")["errcode"] == 45028  # a subscription account: one send a day
    control(sandbox, "clock", advance=86_400)
    assert send("b")["errcode"] == 0


def test_a_new_token_invalidates_the_old_one_after_the_grace_period(sandbox: SandboxServer) -> None:
    old = token(sandbox)
    assert call(sandbox, "freepublish/batchget", {}, old)["errcode"] == 0
    control(sandbox, "config", grace=0)
    token(sandbox)
    assert call(sandbox, "freepublish/batchget", {}, old)["errcode"] == 40001


def test_the_client_bounds_its_token_retry_and_uses_stable_token(sandbox: SandboxServer) -> None:
    from wechatpy.session.memorystorage import MemoryStorage

    options = WeChatOptions(
        appid=sandbox.account.config.appid, api_base_url=sandbox.api_base_url, stable_token=True
    )
    client = GovpubWeChatClient(options, MemoryStorage())
    assert client.freepublish.batchget()["total_count"] == 0
    control(sandbox, "tokens", action="expire")
    assert client.freepublish.batchget()["total_count"] == 0
    fetches = record(sandbox)["token_fetches"]
    assert [f["stable"] for f in fetches] == [True, True]


def test_govpub_sandbox_wechat_serves_on_its_port(tmp_path: Path) -> None:
    port = free_port()
    proc = govpub("sandbox", "wechat", "--port", str(port), env={}, cwd=tmp_path)
    try:
        seen = wait_until(lambda: httpx.get(f"http://127.0.0.1:{port}/sandbox/record").json(), 30, "sandbox")
        assert seen["mass_sends"] == []
        params = {"grant_type": "client_credential", "appid": "wxsandbox0000001", "secret": "wrong"}
        assert httpx.get(f"http://127.0.0.1:{port}/cgi-bin/token", params=params).json()["errcode"] == 40125
    finally:
        kill(proc)


def test_govpub_sandbox_wechat_serves_several_accounts_apart(tmp_path: Path) -> None:
    """``--appid`` repeated: one port, each account with its own tokens, quota and record."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    args = ["--port", str(port), "--appid", "wxdistrict0001", "--appid", "wxeducation01"]
    proc = govpub("sandbox", "wechat", *args, env={}, cwd=tmp_path)
    try:
        accounts = wait_until(lambda: httpx.get(f"{base}/sandbox/accounts").json(), 30, "sandbox")
        assert accounts == ["wxdistrict0001", "wxeducation01"]
        tokens = {}
        for appid in accounts:
            params = {"grant_type": "client_credential", "appid": appid, "secret": SECRET}
            tokens[appid] = httpx.get(f"{base}/cgi-bin/token", params=params).json()["access_token"]
        body = {"filter": {"is_to_all": True}, "msgtype": "mpnews", "mpnews": {"media_id": "none"}}
        for appid in accounts:  # each account's quota: the first send of each is refused for its draft
            answer = httpx.post(
                f"{base}/cgi-bin/message/mass/sendall", params={"access_token": tokens[appid]}, json=body
            ).json()
            assert answer["errcode"] == 40007
        seen = {a: httpx.get(f"{base}/sandbox/record", params={"appid": a}).json() for a in accounts}
        assert [len(seen[a]["token_fetches"]) for a in accounts] == [1, 1]
        assert [[c["token"] for c in seen[a]["calls"]] for a in accounts] == [[tokens[a]] for a in accounts]
        refused = httpx.post(
            f"{base}/cgi-bin/draft/get", params={"access_token": "nope"}, json={"media_id": "x"}
        )
        assert refused.json()["errcode"] == 40014  # a token no account issued
    finally:
        kill(proc)
