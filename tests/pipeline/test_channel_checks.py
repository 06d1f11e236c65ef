"""A channel that cannot work stops ``govpub serve``, ``worker`` and ``beat`` at start-up
(exit 1 with the key, the value and a hint), and makes a running serve not ready."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest

from pipeline.localcluster import write_config
from tests.helpers import free_port, govpub, kill, wait_until

WECHAT = {"kind": "wechat", "options": {"appid": "wxcheck000000001"}}

BAD = {
    "mode-mass": (
        {"wechat": {**WECHAT, "options": {**WECHAT["options"], "mode": "mass"}}},
        ["channels.wechat.options.mode='mass'", "'publish' or 'broadcast'"],
    ),
    "misspelled-key": (
        {"memory": {"kind": "memory", "options": {"delay_secondz": 1}}},
        ["channels.memory.options.delay_secondz=1", "Extra inputs are not permitted"],
    ),
    "literal-secret": (
        {"wechat": {**WECHAT, "options": {**WECHAT["options"], "secret": "a-committed-secret"}}},
        ["channels.wechat.options.secret='***'", "never put a secret in the configuration"],
    ),
    "missing-secret-env": (
        {"wechat": WECHAT},
        ["channels.wechat.options.secret_env='GOVPUB_WECHAT_SECRET'", "is not set"],
    ),
}


def role_env(tmp_path: Path, channels: dict[str, Any], redis_url: str) -> dict[str, str]:
    settings = {
        "database_url": f"sqlite:///{tmp_path / 'govpub.db'}",
        "data_dir": str(tmp_path / "data"),
        "broker_url": redis_url,
    }
    config = write_config(tmp_path / "govpub.toml", settings, channels)
    env = {k: v for k, v in os.environ.items() if not k.startswith("GOVPUB_")}
    return {**env, "GOVPUB_CONFIG": str(config)}


@pytest.mark.parametrize("role", ["serve", "worker", "beat"])
@pytest.mark.parametrize("case", sorted(BAD))
def test_a_channel_that_cannot_work_stops_the_role_with_key_value_and_hint(
    tmp_path: Path, redis_url: str, role: str, case: str
) -> None:
    channels, expected = BAD[case]
    args = {"serve": ["serve", "--port", str(free_port())], "worker": ["worker"], "beat": ["beat"]}[role]
    done = subprocess.run(
        [sys.executable, "-m", "pipeline.cli", *args],
        env=role_env(tmp_path, channels, redis_url),
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 1, (done.returncode, done.stderr[-2000:])
    name = next(iter(channels))
    assert f"channel {name!r} cannot work" in done.stderr
    for part in expected:
        assert part in done.stderr, done.stderr[-2000:]
    assert "a-committed-secret" not in done.stderr + done.stdout


def test_readyz_is_503_naming_a_channel_whose_secret_file_went_away(tmp_path: Path) -> None:
    secret = tmp_path / "wechat_secret"
    secret.write_text("the-app-secret\n", encoding="utf-8")
    channels = {
        "website": {"kind": "website"},
        "wechat": {**WECHAT, "options": {**WECHAT["options"], "secret_file": str(secret)}},
    }
    settings = {"database_url": f"sqlite:///{tmp_path / 'govpub.db'}", "data_dir": str(tmp_path / "data")}
    config = write_config(tmp_path / "govpub.toml", settings, channels)
    port = free_port()
    server = govpub("serve", "--port", str(port), env={"GOVPUB_CONFIG": str(config)}, cwd=tmp_path)
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as http:
            wait_until(lambda: http.get("/healthz").status_code == 200, 60, "govpub serve")
            ready = http.get("/readyz")
            assert (ready.status_code, ready.json()["channels"]) == (200, "ok"), ready.text
            secret.unlink()
            gone = http.get("/readyz")
            assert gone.status_code == 503, gone.text
            assert set(gone.json()["channels"]) == {"wechat"}
            assert "channels.wechat.options.secret_file" in gone.json()["channels"]["wechat"]
            secret.write_text("the-app-secret\n", encoding="utf-8")
            assert http.get("/readyz").status_code == 200
    finally:
        kill(server)
