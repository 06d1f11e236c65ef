"""The configuration side of deploying: the reference in docs/operations.md is the
Settings model's, secrets come from files, the production file is valid, and the
health and migration checks the deployments call answer as they say."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from pipeline import config_reference
from pipeline.config import Settings
from pipeline.registry import kinds as known_kinds
from pipeline.schema import upgrade
from pipeline.services import build_services
from tests.deploy.files import ROOT, production_config
from tests.helpers import TEST_AGENCY, TEST_AGENCY_NAME, free_port, register_agencies


def govpub_cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pipeline.cli", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )


def test_the_configuration_reference_is_generated_from_the_settings_model() -> None:
    assert config_reference.undocumented() == [], "add a description (or a line in MEANINGS)"
    assert config_reference.documented() == config_reference.markdown(), (
        "docs/operations.md is out of date: run `python -m pipeline.config_reference --write`"
    )
    table = config_reference.markdown()
    for name in Settings.model_fields:
        assert f"`GOVPUB_{name.upper()}" in table


def test_secret_settings_are_read_from_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "govpub_secret_key").write_text("from-a-file\n")
    (tmp_path / "GOVPUB_DATABASE_URL").write_text("postgresql://govpub:pw@db/govpub\n")
    monkeypatch.setenv("GOVPUB_SECRETS_DIR", str(tmp_path))
    monkeypatch.delenv("GOVPUB_DATABASE_URL", raising=False)
    monkeypatch.delenv("GOVPUB_SECRET_KEY", raising=False)
    settings = Settings()
    assert settings.secret_key is not None and settings.secret_key.get_secret_value() == "from-a-file"
    assert settings.database_url == "postgresql+psycopg://govpub:pw@db/govpub"
    monkeypatch.setenv("GOVPUB_SECRET_KEY", "from-the-environment")  # the environment wins
    assert Settings().secret_key.get_secret_value() == "from-the-environment"  # type: ignore[union-attr]


@pytest.mark.parametrize("channel", sorted(production_config()["channels"]))
def test_the_production_configuration_is_valid(channel: str, tmp_path: Path) -> None:
    values = {**production_config(), "data_dir": tmp_path}
    settings = Settings(**values)
    assert not {"database_url", "broker_url", "redis_url", "secret_key"} & set(production_config())
    assert settings.log_format == "json"
    kind = settings.channels[channel].kind
    if kind not in known_kinds():
        pytest.skip(f"channel kind {kind!r} is not on this branch yet")
    build_services(settings).channel(channel)  # its options pass the channel's own validation


def test_readme_leads_to_the_operations_guide() -> None:
    readme = (ROOT / "README.md").read_text("utf-8")
    assert "## Deploying" in readme and "docs/operations.md" in readme
    assert "deploy/compose.yaml" in (ROOT / "docs" / "operations.md").read_text("utf-8")


def test_db_check_fails_until_the_migrations_ran(tmp_path: Path) -> None:
    env = {"GOVPUB_DATABASE_URL": f"sqlite:///{tmp_path / 'g.db'}", "PATH": "/usr/bin:/bin"}
    before = govpub_cli("db", "check", env=env)
    assert before.returncode == 1 and "govpub db upgrade" in before.stderr
    services = build_services(Settings(database_url=env["GOVPUB_DATABASE_URL"], data_dir=tmp_path))
    upgrade(services.engine)
    register_agencies(services.engine, {TEST_AGENCY: TEST_AGENCY_NAME})
    services.engine.dispose()
    assert govpub_cli("db", "check", env=env).returncode == 0


def test_health_checks_fail_when_nothing_runs(tmp_path: Path) -> None:
    env = {"GOVPUB_DATABASE_URL": f"sqlite:///{tmp_path / 'g.db'}", "PATH": "/usr/bin:/bin"}
    closed = str(free_port())
    for args in (("port", closed), ("serve", "--port", closed), ("worker",)):
        done = govpub_cli("health", *args, env=env)
        assert done.returncode == 1 and done.stderr.startswith("unhealthy:"), (args, done.stderr)


def test_beat_health_follows_the_heartbeat(redis_url: str) -> None:
    from pipeline.health import Unhealthy, check_beat, write_heartbeat

    settings = Settings(broker_url=redis_url)
    with pytest.raises(Unhealthy, match="no beat heartbeat"):
        check_beat(settings)
    write_heartbeat(settings)
    assert check_beat(settings).startswith("beat swept at ")
