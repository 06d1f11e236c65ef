"""A running govpub with the WeChat channel against its sandbox, every part a real
process: ``govpub sandbox wechat``, ``govpub serve``, a Celery worker and beat, on the
test's PostgreSQL and Redis. Items go in and come back through HTTP as a source sees
them. Used by the tests of body images through real workers and by the SSRF attack."""

from __future__ import annotations

import json
import os
import secrets
from pathlib import Path
from typing import Any

import httpx

from pipeline.localcluster import LocalCluster, free_port, wait_http
from tests.helpers import make_item, wait_until

FAST = {
    "retry_base_seconds": 0.1,
    "retry_max_seconds": 0.5,
    "sweep_interval_seconds": 0.2,
    "requeue_after_seconds": 3.0,
}
SECRET = "sandbox-secret"
ROOT = Path(__file__).resolve().parents[1]


def guarded(root: Path, names: dict[str, list[str]], report: Path) -> dict[str, str]:
    """Environment for govpub processes under the test connect guard and resolver stub
    (tests/netguard_site): names from ``names``, connects beyond loopback in ``report``."""
    config = root / "netguard.json"
    config.write_text(json.dumps({"names": names, "report": str(report)}), "utf-8")
    path = [str(ROOT / "tests" / "netguard_site"), str(ROOT), os.environ.get("PYTHONPATH", "")]
    return {"GOVPUB_TEST_NETGUARD": str(config), "PYTHONPATH": os.pathsep.join(p for p in path if p)}


class WeChatCluster:
    """``with WeChatCluster(tmp_path, pg_url, redis_url, allow=[…]) as gp: gp.submit(…)``."""

    def __init__(
        self,
        root: Path,
        pg_url: str,
        redis_url: str,
        allow: list[str],
        names: dict[str, list[str]] | None = None,
        settings: dict[str, Any] | None = None,
        **wechat: Any,
    ) -> None:
        tag = secrets.token_hex(4)  # queues and the token's key are this test's own
        self.site, self.wechat = f"website_{tag}", f"wechat_{tag}"
        self.appid = f"wxssrf{tag}"
        self.sandbox_url = f"http://127.0.0.1:{free_port()}"
        options = {
            "appid": self.appid,
            "api_base_url": f"{self.sandbox_url}/cgi-bin/",
            "poll_seconds": 0.3,
            "timeout_seconds": 5.0,
            **wechat,
        }
        channels = {
            self.site: {"kind": "memory", "options": {"path": str(root / "site")}},
            self.wechat: {"kind": "wechat", "depends_on": [self.site], "options": options},
        }
        self.cluster = LocalCluster.create(
            root, pg_url, redis_url, channels, outbound={"allow": allow}, **{**FAST, **(settings or {})}
        )
        self.cluster.env["GOVPUB_WECHAT_SECRET"] = SECRET
        self.report = root / "connects-beyond-loopback"
        self.cluster.env.update(guarded(root, names or {}, self.report))

    def __enter__(self) -> WeChatCluster:
        """Every process started; one that does not come up stops those already started
        (``__exit__`` is not called when ``__enter__`` raises)."""
        try:
            port = self.sandbox_url.rsplit(":", 1)[1]
            args = ["--port", port, "--appid", self.appid, "--publish-delay", "0.05"]
            self.cluster.start("sandbox", "wechat", *args)
            wait_http(f"{self.sandbox_url}/sandbox/record")
            self.cluster.worker(f"govpub.{self.site},govpub.{self.wechat}", concurrency=2)
            self.cluster.beat()
            _, self.url = self.cluster.serve()
            self.token = self.cluster.services.store.add_source("test")
        except BaseException:
            self.cluster.stop()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.cluster.stop()

    def submit(self, n: int, **changes: Any) -> None:
        answer = httpx.post(
            f"{self.url}/v1/items", json=make_item(n, **changes), headers=self._auth, timeout=30
        )
        assert answer.status_code == 202, answer.text

    def status(self, n: int) -> dict[str, Any]:
        """``GET /v1/items/test/t-N`` as the source reads it."""
        answer = httpx.get(f"{self.url}/v1/items/test/t-{n}", headers=self._auth, timeout=30)
        assert answer.status_code == 200, answer.text
        body: dict[str, Any] = answer.json()
        return body

    def finished(self, n: int, timeout: float = 120) -> dict[str, Any]:
        """The WeChat delivery of item N once it is delivered or dead."""

        def done() -> dict[str, Any] | None:
            rows = [d for d in self.status(n)["deliveries"] if d["channel"] == self.wechat]
            return rows[0] if rows and rows[0]["state"] in ("delivered", "dead") else None

        result: dict[str, Any] = wait_until(done, timeout, f"WeChat delivery\n{self.cluster.logs()}")
        return result

    def record(self) -> dict[str, Any]:
        answer: dict[str, Any] = httpx.get(f"{self.sandbox_url}/sandbox/record", timeout=30).json()
        return answer

    def connects_beyond_loopback(self) -> list[str]:
        """Every connect a govpub process tried to a non-loopback address (refused)."""
        return self.report.read_text("utf-8").split() if self.report.exists() else []

    @property
    def _auth(self) -> dict[str, str]:
        return {"authorization": f"Bearer {self.token}"}
