"""``govpub sandbox weibo`` as an operator runs it, and ``govpub weibo token``."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import httpx

from channels.testing import ContractSetup
from channels.weibo.sandbox import SandboxServer
from pipeline.localcluster import free_port, stop_process, wait_http, write_config
from tests.channels.weibo.support import TOKEN_ENV, options
from tests.helpers import govpub


def test_govpub_sandbox_weibo_serves_the_api_and_the_operators_view(tmp_path: Path) -> None:
    port = free_port()
    env = {"GOVPUB_WEIBO_ACCESS_TOKEN": "2.00operatorstoken"}
    proc = govpub("sandbox", "weibo", "--port", str(port), "--hourly-limit", "1", env=env, cwd=tmp_path)
    try:
        base = f"http://127.0.0.1:{port}"
        wait_http(base + "/sandbox")
        text = "【测试】 http://127.0.0.1:8000/site/x/items/1.html"
        made = httpx.post(
            base + "/2/statuses/share.json", data={"access_token": "2.00operatorstoken", "status": text}
        )
        assert made.status_code == 200 and made.json()["text"] == text
        again = httpx.post(
            base + "/2/statuses/share.json", data={"access_token": "2.00operatorstoken", "status": text + "?"}
        )
        assert again.status_code == 403 and again.json()["error_code"] == 10023  # --hourly-limit 1
        expired = httpx.post(base + "/oauth2/get_token_info", data={"access_token": "nope"})
        assert expired.json()["error_code"] == 21332
        page = httpx.get(base + "/sandbox").text
        assert "微博沙盒" in page and "【测试】" in page
    finally:
        stop_process(proc)


def test_govpub_weibo_token_shows_the_expiry_and_how_to_reauthorise(
    tmp_path: Path, sandbox: SandboxServer, weibo_for: Callable[..., ContractSetup]
) -> None:
    setup = weibo_for()  # its database: tmp_path/install0/govpub.db
    folder = tmp_path / "install0"
    config = write_config(
        tmp_path / "govpub.toml",
        {"database_url": f"sqlite:///{folder / 'govpub.db'}", "data_dir": str(folder / "data")},
        {"weibo": {"kind": "weibo", "options": options(sandbox)}},
    )

    def token() -> str:
        done = subprocess.run(
            [sys.executable, "-m", "pipeline.cli", "weibo", "token", "--channel", "weibo"],
            env={**os.environ, "GOVPUB_CONFIG": str(config)},
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 0, done.stderr
        return done.stdout

    before = token()
    assert "not known yet" in before and TOKEN_ENV in before
    assert f"{sandbox.oauth_base_url}authorize?client_id={sandbox.weibo.config.app_key}" in before
    setup.publish(setup.item(1))  # learns the token's expiry
    after = token()
    assert "as configured" in after and "not known yet" not in after
