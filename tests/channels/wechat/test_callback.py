"""``/wechat/callback`` served by a real uvicorn: signatures, safe mode, events that finish
deliveries without waiting for a poll, and replays handled once."""

from __future__ import annotations

import hashlib
import re
import threading
import time
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import httpx
import pytest
import uvicorn

from channels.wechat.sandbox import SandboxServer
from pipeline.app import create_app
from tests.channels.wechat.conftest import (
    CALLBACK_TOKEN,
    CALLBACK_TOKEN_ENV,
    Driver,
    control,
    record,
    wechat_channels,
)
from tests.channels.wechat.test_broadcast import EVENING, MORNING, gathered
from tests.helpers import free_port, wait_until

TOKEN = CALLBACK_TOKEN  # the conftest puts it in the variable the options name
AES_KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"


class Recorder:
    """A dispatcher that only remembers what it was asked to send."""

    def __init__(self) -> None:
        self.sent: list[tuple[int, str]] = []

    def depth(self, channel: str) -> int | None:

        return None

    def send(self, work: list[tuple[int, str]]) -> None:
        self.sent.extend(work)


def signed(timestamp: str = "1700000000", nonce: str = "n0nce", token: str = TOKEN) -> dict[str, str]:
    signature = hashlib.sha1("".join(sorted([token, timestamp, nonce])).encode()).hexdigest()
    return {"signature": signature, "timestamp": timestamp, "nonce": nonce}


@pytest.fixture
def served(
    build_driver: Any, sandbox: SandboxServer, wechat_redis: str, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Any]:
    servers: list[tuple[uvicorn.Server, threading.Thread]] = []

    def serve(now: datetime | None = None, aes_key: str = "", **options: Any) -> tuple[Driver, Recorder, str]:
        opts = {"poll_seconds": 3600, **options}
        if aes_key:  # safe mode: the key from a variable, as the one secrets policy wants
            monkeypatch.setenv("GOVPUB_WECHAT_AES_KEY", aes_key)
            opts["encoding_aes_key_env"] = "GOVPUB_WECHAT_AES_KEY"
        driver: Driver = build_driver(wechat_channels(sandbox, wechat_redis, **opts), now=now)
        recorder = Recorder()
        app = create_app(driver.services.settings, driver.services, dispatcher=recorder)
        port = free_port()
        server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        wait_until(lambda: server.started, what="uvicorn")
        servers.append((server, thread))
        url = f"http://127.0.0.1:{port}/wechat/callback"
        control(
            sandbox,
            "config",
            publish_delay=1.5,
            callback_url=url,
            callback_token=TOKEN,
            encoding_aes_key=aes_key,
        )
        return driver, recorder, url

    yield serve
    for server, thread in servers:
        server.should_exit = True
        thread.join(10)


def first_attempt(driver: Driver) -> dict[str, Any]:
    """Run until the WeChat delivery submitted and waits (its poll is an hour away)."""

    def waiting() -> dict[str, Any] | None:
        driver.advance(3)
        driver.run_due()
        row = driver.deliveries()[0]
        return row if row["state"] == "waiting" and (row["progress"] or {}).get("publish_id") else None

    result: dict[str, Any] = wait_until(waiting, what="the submit")
    return result


def test_verification_get_checks_the_signature(served: Any) -> None:
    _, _, url = served()
    assert httpx.get(url, params={**signed(), "echostr": "e42"}).text == "e42"
    bad = {**signed(), "signature": "0" * 40, "echostr": "e42"}
    assert httpx.get(url, params=bad).status_code == 403


def test_the_token_is_read_per_callback_so_a_rotated_one_counts_at_once(
    served: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    _, _, url = served()
    assert httpx.get(url, params={**signed(), "echostr": "e1"}).text == "e1"
    monkeypatch.setenv(CALLBACK_TOKEN_ENV, "rotated-token")
    assert httpx.get(url, params={**signed(), "echostr": "e2"}).status_code == 403
    assert httpx.get(url, params={**signed(token="rotated-token"), "echostr": "e3"}).text == "e3"


def test_an_account_without_a_callback_token_serves_no_callback(served: Any) -> None:
    _, _, url = served(token_env=None)
    assert httpx.get(url, params={**signed(), "echostr": "e1"}).status_code == 404


def test_a_wrong_signature_or_a_stale_timestamp_is_refused(served: Any) -> None:
    _, _, url = served()
    body = "<xml><MsgType>event</MsgType><Event>PUBLISHJOBFINISH</Event></xml>"
    now = str(int(time.time()))
    assert httpx.post(url, params=signed(now, token="not-our-token"), content=body).status_code == 403
    assert httpx.post(url, params=signed(str(int(time.time()) - 3600)), content=body).status_code == 403
    assert httpx.post(url, params=signed(now), content=body).status_code == 200


@pytest.mark.parametrize("safe_mode", [False, True])
def test_the_callback_finishes_the_delivery_and_a_replay_changes_nothing(
    served: Any, sandbox: SandboxServer, safe_mode: bool
) -> None:
    driver, recorder, url = served(aes_key=AES_KEY if safe_mode else "")
    driver.submit(1)
    waiting = first_attempt(driver)
    assert waiting["next_attempt_at"] > driver.now  # the poll fallback is far away
    wait_until(lambda: recorder.sent, what="the callback to wake the delivery")
    assert recorder.sent == [(waiting["id"], "wechat")]
    [callback] = record(sandbox)["callbacks"]
    assert callback["answer"] == 200

    driver.run_due()  # no clock change: the woken delivery is due now
    [row] = driver.deliveries()
    assert row["state"] == "delivered"
    assert row["external_ref"]["article_url"].endswith(
        f"/s/{record(sandbox)['published'][0]['article_id']}?idx=1"
    )
    events_before = driver.services.store.events(row["id"])

    params = signed(str(int(time.time())))
    if safe_mode:
        found = re.search(r"<MsgSignature><!\[CDATA\[(.*?)\]\]>", callback["xml"])
        stamp = re.search(r"<TimeStamp>(\d+)</TimeStamp>", callback["xml"])
        nonce = re.search(r"<Nonce><!\[CDATA\[(.*?)\]\]>", callback["xml"])
        assert found and stamp and nonce
        params = {
            "encrypt_type": "aes",
            "msg_signature": found.group(1),
            "timestamp": stamp.group(1),
            "nonce": nonce.group(1),
        }
    replay = httpx.post(url, params=params, content=callback["xml"].encode())
    assert (replay.status_code, replay.text) == (200, "success")
    assert recorder.sent == [(waiting["id"], "wechat")]
    assert driver.services.store.events(row["id"]) == events_before


def test_a_mass_send_event_finishes_a_broadcast(served: Any, sandbox: SandboxServer) -> None:
    driver, recorder, _ = served(now=MORNING, mode="broadcast", broadcast_time="18:00")
    driver.submit(1)
    driver.submit(2)
    gathered(driver)
    driver.now = EVENING
    driver.run_due()
    rows = driver.deliveries()
    assert {r["state"] for r in rows} == {"unconfirmed"}  # sent, its result still to come
    wait_until(lambda: len(recorder.sent) == 2, what="MASSSENDJOBFINISH")
    driver.run_due()
    rows = driver.deliveries()
    assert [r["state"] for r in rows] == ["delivered", "delivered"]
    urls = [r["external_ref"]["article_url"] for r in rows]
    assert all(u.endswith(f"?idx={i}") for i, u in enumerate(urls, start=1))
    assert [c["event"] for c in record(sandbox)["callbacks"]] == ["MASSSENDJOBFINISH"]
