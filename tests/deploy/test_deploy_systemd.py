"""deploy/systemd: `systemd-analyze verify` accepts the units, and they start the same
commands as compose (the role test runs those)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from tests.deploy.files import UNITS, channel_queues, compose_roles, unit, unit_argv

BINARY = "/opt/govpub/bin/govpub"
LONG_RUNNING = ["govpub-serve.service", "govpub-worker@.service", "govpub-beat.service"]


def without_host(argv: list[str]) -> list[str]:
    """serve listens on loopback behind a local nginx, on 0.0.0.0 in a container."""
    if "--host" in argv:
        at = argv.index("--host")
        return argv[:at] + argv[at + 2 :]
    return argv


def test_systemd_analyze_verify_accepts_the_units(tmp_path: Path) -> None:
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.skip("systemd-analyze is not installed (./run check installs Debian's systemd)")
    stub = tmp_path / "bin" / "govpub"  # verify checks that ExecStart exists
    stub.parent.mkdir()
    stub.write_text("#!/bin/sh\n")
    stub.chmod(0o755)
    names = []
    for path in sorted(UNITS.glob("*.service")):
        text = path.read_text("utf-8")
        assert BINARY in text, path.name
        name = path.name.replace("@.service", "@govpub.website.service")
        (tmp_path / name).write_text(text.replace(BINARY, str(stub)), "utf-8")
        names.append(f"./{name}")
    done = subprocess.run([analyze, "verify", *names], cwd=tmp_path, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout + done.stderr == "", "systemd-analyze warned:\n" + done.stderr


def test_units_run_what_compose_runs() -> None:
    roles = compose_roles()
    compose_argv = sorted(without_host(r.argv) for r in roles.values())
    unit_argvs = [unit_argv("govpub-serve.service"), unit_argv("govpub-beat.service")]
    unit_argvs += [unit_argv("govpub-worker@.service", queue) for queue in channel_queues()]
    unit_argvs.append(unit_argv("govpub-migrate.service"))
    assert all(argv[0] == BINARY for argv in unit_argvs)
    assert sorted(without_host(["govpub", *argv[1:]]) for argv in unit_argvs) == compose_argv


def test_units_restart_and_read_their_secrets_from_an_environment_file() -> None:
    for name in LONG_RUNNING:
        service = unit(name)["Service"]
        assert service["Restart"] == ["always"], name
        assert service["EnvironmentFile"] == ["/etc/govpub/govpub.env"], name
        assert "GOVPUB_CONFIG=/etc/govpub/govpub.toml" in service["Environment"], name
        assert service["User"] == ["govpub"], name
        assert unit(name)["Install"]["WantedBy"] == ["multi-user.target"], name
    assert unit("govpub-worker@.service")["Service"]["KillMode"] == ["mixed"]  # Celery's warm shutdown
    assert unit("govpub-migrate.service")["Service"]["Type"] == ["oneshot"]
    example = (UNITS / "govpub.env.example").read_text("utf-8")
    assert "CHANGE-ME" in example
