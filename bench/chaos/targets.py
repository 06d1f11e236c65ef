"""The channels of a chaos run, each with its faults and its own record of what it got.

A target's ``published()`` reads the receiving side (a sandbox's records, the
memory channel's folder), never govpub's delivery log: that log is what we check.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass
class Target:
    name: str
    config: dict[str, Any]
    published: Callable[[], Counter[str]]
    faults: Callable[[], dict[str, Callable[[], None]]]

    @property
    def queue(self) -> str:
        return f"govpub.{self.name}"


def memory_target(root: Path, name: str) -> Target:
    folder = root / name
    control = root / f"{name}.control.json"

    def order(**orders: float) -> None:
        control.write_text(json.dumps(orders), encoding="utf-8")

    def published() -> Counter[str]:
        log = folder / "received.log"
        lines = log.read_text("utf-8").splitlines() if log.exists() else []
        return Counter(line.split("~")[1] for line in lines if line.endswith("~publish.json"))

    def faults() -> dict[str, Callable[[], None]]:
        return {
            f"{name} failing for 2 s": lambda: order(failing_until=time.time() + 2),
            f"{name} crawling for 3 s": lambda: order(slow_until=time.time() + 3, delay=1.5),
        }

    config = {"kind": "memory", "options": {"path": str(folder), "control": str(control)}}
    return Target(name=name, config=config, published=published, faults=faults)


def _control(url: str, what: str, body: dict[str, Any]) -> None:
    import httpx

    httpx.post(f"{url}/sandbox/{what}", json=body, timeout=10).raise_for_status()


def wechat_target(port: int, redis_url: str) -> Target:
    """The WeChat channel in publish mode against ``govpub sandbox wechat``. Its faults
    are the account's real failure modes: system busy (-1), daily quota (45009), 5xx,
    answers so late the channel times out after the work was done, a crawling API, and
    a token invalidated by another system's fetch."""
    url = f"http://127.0.0.1:{port}"

    def published() -> Counter[str]:
        import httpx

        record = httpx.get(f"{url}/sandbox/record", timeout=30).json()
        return Counter(
            "b-" + entry["title"].split()[-1] if entry["title"].startswith("基准测试") else entry["title"]
            for entry in record["published"]
        )

    def fault(**body: Any) -> Callable[[], None]:
        return lambda: _control(url, "faults", body)

    def faults() -> dict[str, Callable[[], None]]:
        return {
            "WeChat -1 system busy": fault(path="freepublish/submit", errcode=-1, times=2),
            "WeChat 45009 quota": fault(path="draft/add", errcode=45009, times=2),
            "WeChat 5xx": fault(path="*", http_status=503, times=3),
            "WeChat timeout after the work": fault(path="freepublish/submit", delay=4.0, after=True, times=1),
            "WeChat crawling": fault(path="*", delay=1.0, times=4),
            "WeChat token invalidated": lambda: _control(url, "tokens", {"action": "rotate"}),
        }

    config = {
        "kind": "wechat",
        "options": {
            "appid": "wxsandbox0000001",
            "api_base_url": f"{url}/cgi-bin/",
            "redis_url": redis_url,
            "timeout_seconds": 2.0,
            "poll_seconds": 1.0,
        },
    }
    return Target(name="wechat", config=config, published=published, faults=faults)
