"""A fresh machine: the README's test command (``./run check``) installs what the tests
need, CI only calls it, and where nothing may be skipped (CI, ``./run check``) a skipped
test fails instead of passing quietly."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ROOT / "scripts" / "packages.sh"
EVERYTHING = [
    "chromium",
    "chromium-driver",
    "nginx",
    "openssh-server",
    "systemd",
    "fontconfig",
    "fonts-noto-cjk",
    "redis-server",
    "postgresql",
]

SKIPPING = """
import pytest

def test_missing_tool():
    pytest.skip("nginx is not installed")

@pytest.mark.skipif(True, reason="kubectl is missing")
def test_marked():
    pass

@pytest.mark.xfail(reason="a known bug", strict=True)
def test_expected_failure():
    assert False

def test_fine():
    pass
"""
SKIPPED_MODULE = """
import pytest

pytest.importorskip("govpub_no_such_module")

def test_never():
    pass
"""


def inner_pytest(tmp_path: Path, ci: str | None) -> subprocess.CompletedProcess[str]:
    """pytest with the skip rule over two small modules that skip every way there is."""
    (tmp_path / "test_skipping.py").write_text(SKIPPING, "utf-8")
    (tmp_path / "test_module_skip.py").write_text(SKIPPED_MODULE, "utf-8")
    env = {k: v for k, v in os.environ.items() if k != "CI"}
    env["PYTHONPATH"] = str(ROOT)
    env["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = "1"  # only the rule under test, and quickly
    if ci is not None:
        env["CI"] = ci
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "tests.skips", "-rA", "--continue-on-collection-errors"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.parametrize("ci", ["1", "true"])
def test_under_ci_every_kind_of_skip_is_a_failure_that_keeps_its_reason(tmp_path: Path, ci: str) -> None:
    done = inner_pytest(tmp_path, ci)
    assert done.returncode == 1, done.stdout
    summary = done.stdout.strip().splitlines()[-1]
    assert "1 failed, 1 passed, 1 xfailed, 2 errors" in summary, done.stdout  # errors: setup, collection
    module = "could not import 'govpub_no_such_module'"
    for reason in ("nginx is not installed", "kubectl is missing", module):
        assert f"nothing may be skipped where CI is set (CI, ./run check): {reason}" in done.stdout, reason


@pytest.mark.parametrize("ci", [None, "0", "false"])
def test_without_ci_a_skip_stays_a_skip(tmp_path: Path, ci: str | None) -> None:
    done = inner_pytest(tmp_path, ci)
    assert done.returncode == 0, done.stdout
    assert "1 passed, 3 skipped, 1 xfailed" in done.stdout.strip().splitlines()[-1], done.stdout


def stub(folder: Path, name: str, body: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(f"#!/bin/bash\n{body}\n", "utf-8")
    path.chmod(0o755)
    return path


def run_packages(tmp_path: Path, probes: Path, *names: str) -> tuple[subprocess.CompletedProcess[str], str]:
    """scripts/packages.sh with its probes looking only in ``probes`` and an apt-get
    that records what it was asked instead of installing anything."""
    log = tmp_path / "apt.log"
    bin_dir = tmp_path / "bin"
    stub(bin_dir, "apt-get", f'echo "$*" >> {log}')
    env = {
        "PATH": f"{bin_dir}:/usr/bin:/bin",
        "GOVPUB_PROBE_PATH": str(probes),
        "HOME": str(tmp_path),
    }
    done = subprocess.run(
        ["bash", str(PACKAGES), *names], env=env, capture_output=True, text=True, timeout=60
    )
    return done, log.read_text("utf-8") if log.exists() else ""


def test_on_a_fresh_machine_the_set_up_installs_everything_the_tests_need(tmp_path: Path) -> None:
    empty = tmp_path / "nothing-installed"
    empty.mkdir()
    done, apt = run_packages(tmp_path, empty)
    if os.geteuid() != 0:  # it cannot install: it says what to install, and fails
        assert done.returncode == 1 and f"sudo apt-get install {' '.join(EVERYTHING)}" in done.stderr
        return
    assert done.returncode == 0, done.stderr
    update, install = apt.splitlines()
    assert update.startswith("update")
    assert install.split()[:3] == ["install", "-y", "-q"]
    assert install.split()[3:] == EVERYTHING

    done, apt = run_packages(tmp_path / "again", empty, "redis", "postgresql")
    assert apt.splitlines()[-1].split()[3:] == ["redis-server", "postgresql"]


def test_where_everything_is_installed_the_set_up_asks_apt_nothing(tmp_path: Path) -> None:
    probes = tmp_path / "installed"
    for name in ("chromium", "chromedriver", "nginx", "sshd", "systemd-analyze", "redis-server"):
        stub(probes, name, "exit 0")
    stub(probes, "pg_ctlcluster", "exit 0")
    stub(probes, "postgres", "exit 0")
    stub(probes, "fc-list", 'echo "/usr/share/fonts/x.ttc: Noto Sans CJK SC:style=Regular"')
    done, apt = run_packages(tmp_path, probes)
    assert (done.returncode, apt) == (0, ""), done.stderr

    (probes / "fc-list").write_text("#!/bin/bash\nexit 0\n", "utf-8")  # fontconfig, but no CJK font
    done, apt = run_packages(tmp_path, probes)
    if os.geteuid() == 0:
        assert apt.splitlines()[-1].split()[3:] == ["fontconfig", "fonts-noto-cjk"]
    else:
        assert "fonts-noto-cjk" in done.stderr and done.returncode == 1

    done, _ = run_packages(tmp_path, probes, "kubectl")
    assert done.returncode == 2 and "unknown name kubectl" in done.stderr


def test_ci_only_calls_run_check_which_sets_up_and_forbids_skips(tmp_path: Path) -> None:
    """The real ``.ci/run`` and ``run`` in a copy of the tree whose tools are stubs that
    log their order and what ``pytest`` was given."""
    tree = tmp_path / "tree"
    (tree / ".ci").mkdir(parents=True)
    shutil.copy2(ROOT / ".ci" / "run", tree / ".ci" / "run")
    shutil.copy2(ROOT / "run", tree / "run")
    log = tmp_path / "calls.log"
    for name in ("packages.sh", "services.sh"):
        stub(tree / "scripts", name, f'echo "{name}" >> {log}')
    for name in ("ruff", "mypy"):
        stub(tree / ".venv" / "bin", name, f'echo "{name}" >> {log}')
    stub(tree / ".venv" / "bin", "python", "exit 0")
    stub(tree / ".venv" / "bin", "pytest", f'echo "pytest CI=$CI args=$*" >> {log}')
    (tree / "pyproject.toml").write_text("", "utf-8")
    os.utime(tree / "pyproject.toml", (1_000_000_000, 1_000_000_000))  # older than the venv
    (tree / ".venv" / ".installed").touch()
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}

    done = subprocess.run(["bash", ".ci/run"], cwd=tree, env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert log.read_text("utf-8").splitlines() == [
        "packages.sh",
        "services.sh",
        "ruff",
        "mypy",
        "pytest CI=1 args=",
    ]
    log.unlink()
    subprocess.run(["bash", "run", "check", "-q", "-x"], cwd=tree, env={**env, "CI": "0"}, check=True)
    last = log.read_text("utf-8").splitlines()[-1]
    assert last == "pytest CI=1 args=-q -x", "./run check always forbids skips"
