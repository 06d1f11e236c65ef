"""Section 7: the WeChat channel against its sandbox, in one process.

- how fast ``/wechat/callback`` answers a signed ``PUBLISHJOBFINISH`` (WeChat gives up
  after 5 s and retries; govpub aims well under one second);
- how many items an in-process runner publishes per second in publish mode (draft,
  submit, result by callback), which is bounded by WeChat's own limits in real life.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import uvicorn

from bench.infra import register_demo_agency
from bench.measure import Row, percentile
from pipeline.localcluster import free_port


def _signed(token: str, n: int) -> dict[str, str]:
    timestamp, nonce = str(int(time.time())), f"n{n}"
    signature = hashlib.sha1("".join(sorted([token, timestamp, nonce])).encode()).hexdigest()
    return {"signature": signature, "timestamp": timestamp, "nonce": nonce}


def figures(quick: bool) -> list[Row]:
    from channels.wechat.sandbox import start
    from pipeline.app import create_app
    from pipeline.config import ChannelConfig, Settings
    from pipeline.demo_run import demo_items
    from pipeline.model import ItemIn
    from pipeline.runner import run_delivery
    from pipeline.schema import upgrade
    from pipeline.services import build_services

    events, items = (50, 10) if quick else (1000, 200)
    os.environ.setdefault("GOVPUB_WECHAT_SECRET", "sandbox-secret")
    os.environ["GOVPUB_WECHAT_CALLBACK_TOKEN"] = "t"
    sandbox = start()
    root = Path(tempfile.mkdtemp(prefix="govpub-bench-wechat-"))
    options = {"appid": sandbox.account.config.appid, "api_base_url": sandbox.api_base_url}
    options["token_env"] = "GOVPUB_WECHAT_CALLBACK_TOKEN"
    settings = Settings(
        database_url=f"sqlite:///{root / 'govpub.db'}",
        data_dir=root / "data",
        channels={"wechat": ChannelConfig(kind="wechat", options={**options, "poll_seconds": 3600})},
    )
    services = build_services(settings)
    upgrade(services.engine)
    register_demo_agency(services.engine)

    pool = ThreadPoolExecutor(2)

    class Dispatcher:  # what the callback wakes runs beside it, as a worker would
        def depth(self, channel: str) -> int | None:
            return None

        def send(self, work: list[tuple[int, str]]) -> None:
            for delivery_id, channel in work:
                pool.submit(run_delivery, services, delivery_id, channel)

    rows: list[Row] = []
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(create_app(settings, services, Dispatcher()), port=port, log_level="warning")
    )
    threading.Thread(target=server.run, daemon=True).start()
    while not server.started:
        time.sleep(0.05)
    url = f"http://127.0.0.1:{port}/wechat/callback"
    httpx.post(sandbox.base_url + "/sandbox/config", json={"callback_url": url, "callback_token": "t"})
    times = []
    with httpx.Client() as client:
        for n in range(events):
            body = (
                "<xml><MsgType>event</MsgType><Event>PUBLISHJOBFINISH</Event><PublishEventInfo>"
                f"<publish_id>{9_000_000 + n}</publish_id><publish_status>0</publish_status>"
                "</PublishEventInfo></xml>"
            )
            started = time.perf_counter()
            client.post(url, params=_signed("t", n), content=body)
            times.append(time.perf_counter() - started)
    rows.append(("7 wechat", "callback answer p50", 1000 * percentile(times, 0.5), "ms", f"{events} events"))
    rows.append(("7 wechat", "callback answer p99", 1000 * percentile(times, 0.99), "ms", ""))

    template = {**demo_items()[0], "source": "bench"}
    started = time.perf_counter()
    for n in range(items):
        item = ItemIn.model_validate({**template, "id": f"bench-{n}", "title": f"基准测试信息 {n}"})
        for delivery_id, channel in services.store.accept(
            item, services.channels_for(item.agency.code, None)
        ).work:
            run_delivery(services, delivery_id, channel)
    deadline = time.monotonic() + 120
    while services.store.counts().get("wechat", {}).get("delivered", 0) < items:
        if time.monotonic() > deadline:
            break
        time.sleep(0.05)
    elapsed = time.perf_counter() - started
    done = services.store.counts().get("wechat", {}).get("delivered", 0)
    rows.append(
        ("7 wechat", "publish mode, one runner", done / elapsed, "items/s", f"{done}/{items} delivered")
    )
    server.should_exit = True
    pool.shutdown()
    sandbox.shutdown()
    services.engine.dispose()
    return rows
