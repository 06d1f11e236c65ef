"""The ``govpub`` command line, through click's runner against a live server."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from pipeline import registry
from pipeline.app import create_app
from pipeline.cli.main import main
from pipeline.services import Services
from tests.helpers import LiveServer, make_item, wait_until


def test_submit_status_and_retract(services: Services, token: str, tmp_path: Path) -> None:
    lines = [json.dumps(make_item(n), ensure_ascii=False) for n in range(3)]
    lines.insert(1, "{not json")
    lines.append(json.dumps(make_item(9, category="不存在"), ensure_ascii=False))
    (tmp_path / "items.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    runner = CliRunner()
    with LiveServer(create_app(services.settings, services)) as server:
        result = runner.invoke(
            main, ["submit", str(tmp_path / "items.jsonl"), "--url", server.url, "--token", token]
        )
        assert result.exit_code == 1  # two lines were refused
        rows = [line.split("\t") for line in result.stdout.splitlines() if line[:1].isdigit()]
        assert [(r[0], r[1]) for r in rows] == [
            ("1", "accepted"),
            ("2", "refused"),
            ("3", "accepted"),
            ("4", "accepted"),
            ("5", "refused 422"),
        ]
        assert "category" in rows[4][2]
        wait_until(lambda: services.store.counts() == {"memory": {"delivered": 3}}, 30, "delivery")

        status = runner.invoke(main, ["status", "--url", server.url, "--json"])
        assert json.loads(status.stdout) == {"memory": {"delivered": 3}}
        table = runner.invoke(main, ["status", "--url", server.url])
        assert "memory" in table.stdout and "3" in table.stdout

        retracted = runner.invoke(
            main, ["retract", "test", "t-0", "--reason", "内容有误", "--url", server.url, "--token", token]
        )
        assert retracted.exit_code == 0, retracted.output
        assert json.loads(retracted.stdout)["status"] == "retracted"


def test_sources_add_prints_the_token_alone_on_the_last_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("GOVPUB_CONFIG", raising=False)
    result = CliRunner().invoke(main, ["sources", "add", "zdjy-oa"])
    assert result.exit_code == 0, result.output
    token = result.stdout.strip().splitlines()[-1]
    assert token.startswith("gp_") and " " not in token
    assert (tmp_path / "var" / "govpub.db").exists()  # the embedded default, with no file at all


def test_a_bad_setting_stops_with_key_value_and_hint(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("GOVPUB_DATABASE_URL", "mysql://nope")
    result = CliRunner().invoke(main, ["sources", "add", "x"])
    assert result.exit_code != 0
    assert "GOVPUB_DATABASE_URL" in result.output and "mysql://nope" in result.output
    assert "sqlite" in result.output
    monkeypatch.delenv("GOVPUB_DATABASE_URL")
    (tmp_path / "govpub.toml").write_text('[channels.web]\nkind = "carrier-pigeon"\n', encoding="utf-8")
    result = CliRunner().invoke(main, ["sources", "add", "x"])
    assert "carrier-pigeon" in result.output and "memory" in result.output


def test_commands_work_on_the_installation_they_are_handed(services: Services) -> None:
    from pipeline.cli.context import Installation
    from pipeline.console.auth import Accounts

    Accounts(services.engine, services.clock).add("wang", "auditor", "a long enough password", platform=True)
    listed = CliRunner().invoke(main, ["users", "list"], obj=Installation(services=services))
    assert listed.exit_code == 0, listed.output
    assert listed.stdout.startswith("wang\tauditor\t")


def command_names(args: list[str]) -> set[str]:
    """The commands ``govpub ARGS --help`` lists."""
    shown = CliRunner().invoke(main, [*args, "--help"], terminal_width=200).stdout
    listed = shown.split("Commands:\n", 1)[1].splitlines()
    return {line.split()[0] for line in listed if line.startswith("  ")}


def test_channel_commands_and_sandboxes_come_from_the_installed_plugins() -> None:
    core = {"beat", "db", "demo", "health", "report", "retract", "sandbox", "serve", "sources"}
    assert command_names([]) >= core | {"archive", "email", "feeds", "notice", "site", "wechat", "weibo"}
    assert command_names(["sandbox"]) == {"archive", "cms", "email", "notice", "websub", "wechat", "weibo"}
    with registry.without(["archive", "wechat", "weibo"]):
        assert command_names([]) >= core | {"feeds", "site"}
        assert not command_names([]) & {"archive", "wechat"}
        assert command_names(["sandbox"]) == {"cms", "email", "notice", "websub"}
        gone = CliRunner().invoke(main, ["archive", "list"])
        assert gone.exit_code == 2 and "No such command 'archive'" in gone.output
