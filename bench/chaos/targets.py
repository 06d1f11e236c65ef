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


def _control(url: str, what: str, body: dict[str, Any], prefix: str = "sandbox/") -> None:
    import httpx

    httpx.post(f"{url}/{prefix}{what}", json=body, timeout=10).raise_for_status()


def _planned_faults(url: str, name: str) -> Callable[[], dict[str, Callable[[], None]]]:
    """Faults planned through a sandbox's ``POST /control`` (the CMS and the archive
    receiver share the words): 503s, keeping the work but answering after the
    channel's 2 s timeout, and crawling at 1 s an answer."""

    def plan(**body: Any) -> Callable[[], None]:
        return lambda: _control(url, "control", body, prefix="")

    return lambda: {
        f"{name} 5xx": plan(fail=3, fail_status=503),
        f"{name} answers after the timeout": plan(slow=1, slow_seconds=3.0),
        f"{name} crawling": plan(slow=4, slow_seconds=1.0),
    }


def _item_id(title: str) -> str:
    """The run's items are titled "基准测试 N" for item ``b-N``; the campaigns' own keep theirs."""
    return "b-" + title.split()[-1] if title.startswith("基准测试") else title


def cms_target(port: int) -> Target:
    """The website channel's http adapter against ``govpub sandbox cms``. Documents are
    keyed by 索引号, so a replayed PUT rewrites one page; an item under two 索引号 would
    be two public pages, and that is what counts as doubled. Faults: 503s, a CMS that
    stores the page but answers after the channel gave up, and a crawling CMS."""
    url = f"http://127.0.0.1:{port}"

    def published() -> Counter[str]:
        import httpx

        held = httpx.get(f"{url}/record", timeout=30).json()["documents"]
        return Counter(_item_id(str(doc["title"])) for doc in held.values())

    config = {
        "kind": "website",
        "options": {
            "adapter": "http",
            "base_url": f"{url}/documents",
            "token_env": "GOVPUB_CMS_TOKEN",
            "secret_env": "GOVPUB_CMS_SECRET",
            "read_timeout": 2.0,
        },
    }
    return Target(name="website", config=config, published=published, faults=_planned_faults(url, "CMS"))


def archive_target(port: int, root: Path, item_of_key: dict[str, str]) -> Target:
    """A per-item archive receiver (``govpub sandbox archive``) over HTTP. Its packages are
    named ``archive-<索引号>-r<revision>``; ``item_of_key`` maps 索引号 (as in a path) to the
    item id, filled from the intake's receipts. A package sent again keeps its name, so
    doubled means one item in two packages. Faults: 503s, an archive that keeps the
    package but answers after the sender's timeout, and one that crawls."""
    url = f"http://127.0.0.1:{port}"

    def published() -> Counter[str]:
        import httpx

        records = httpx.get(f"{url}/packages", timeout=30).json()
        packages = {r["package_id"] for r in records if r["status"] == "accepted"}
        keys = [p.removeprefix("archive-").rsplit("-r", 1)[0] for p in packages if not p.endswith("-retract")]
        return Counter(item_of_key.get(key, key) for key in keys)

    config = {
        "kind": "archive",
        "options": {
            "schedule": "per-item",
            "settle_seconds": 0,
            "source_organization": "混沌测试区政务服务数据管理局",
            "work_dir": str(root / "archive-work"),
            "transport": {"kind": "http", "url": url, "timeout_seconds": 2.0},
        },
    }
    return Target(name="archive", config=config, published=published, faults=_planned_faults(url, "archive"))


def wechat_target(port: int, redis_url: str) -> Target:
    """The WeChat channel in publish mode against ``govpub sandbox wechat``. Its faults
    are the account's real failure modes: system busy (-1), daily quota (45009), 5xx,
    answers so late the channel times out after the work was done, a crawling API, and
    a token invalidated by another system's fetch."""
    url = f"http://127.0.0.1:{port}"

    def published() -> Counter[str]:
        import httpx

        record = httpx.get(f"{url}/sandbox/record", timeout=30).json()
        return Counter(_item_id(entry["title"]) for entry in record["published"])

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
            # the callback endpoint is live, for the intruders (its token: run.py's environment)
            "token_env": "GOVPUB_WECHAT_CALLBACK_TOKEN",
        },
    }
    return Target(name="wechat", config=config, published=published, faults=faults)
