"""Who may see and do what in the console: login, roles, sessions, CSRF."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from fastapi.testclient import TestClient

from pipeline.app import create_app
from pipeline.cli.main import main
from pipeline.config import ChannelConfig, Settings
from pipeline.console.auth import Accounts, load_secret_key
from pipeline.schema import upgrade
from pipeline.services import Services, build_services
from tests.helpers import TEST_AGENCY, TEST_AGENCY_NAME, make_item, register_agencies, wait_until
from tests.pipeline.console_support import CONSOLE_URLS, PASSWORD, add_user, form_value, login, post


@pytest.fixture
def failing(settings_for: Any) -> Iterator[Services]:
    """A console over one channel that refuses everything: deliveries go dead at once."""
    settings = settings_for(
        channels={"memory": ChannelConfig(kind="memory", options={"fail_permanently": True})}
    )
    services = build_services(settings)
    upgrade(services.engine)
    register_agencies(services.engine, {TEST_AGENCY: TEST_AGENCY_NAME})
    add_user(services, "ops", "operator")
    add_user(services, "audit", "auditor")
    yield services
    services.engine.dispose()


@pytest.fixture
def client(failing: Services) -> Iterator[TestClient]:
    with TestClient(create_app(failing.settings, failing)) as client:
        yield client


def dead_delivery(client: TestClient, services: Services) -> int:
    token = services.store.add_source("test")
    answer = client.post("/v1/items", json=make_item(1), headers={"authorization": f"Bearer {token}"})
    assert answer.status_code == 202
    wait_until(lambda: services.store.counts().get("memory", {}).get("dead"), what="a dead delivery")
    return 1


def test_logged_out_every_console_url_redirects_to_login(client: TestClient) -> None:
    for method, url in CONSOLE_URLS:
        answer = client.request(method, url, follow_redirects=False)
        assert answer.status_code == 303, (method, url)
        assert answer.headers["location"].startswith("/console/login?next="), (method, url)
    assert client.get("/console/login").status_code == 200


def test_wrong_password_and_unknown_user_are_refused(client: TestClient) -> None:
    page = client.get("/console/login")
    csrf = form_value(page.text, "csrf")
    for name, password in (("ops", "wrong password"), ("nobody", PASSWORD)):
        answer = post(client, "/console/login", username=name, password=password, csrf=csrf)
        assert answer.status_code == 401
        assert "用户名或密码错误" in answer.text
    assert client.get("/console/", follow_redirects=False).status_code == 303


def test_a_forged_login_form_is_refused(client: TestClient) -> None:
    client.get("/console/login")
    answer = post(client, "/console/login", username="ops", password=PASSWORD, csrf="0" * 64)
    assert answer.status_code == 403
    assert client.get("/console/", follow_redirects=False).status_code == 303


def test_login_goes_back_to_the_page_asked_for_but_never_off_site(client: TestClient) -> None:
    page = client.get("/console/login?next=/console/items")
    fields = {"username": "ops", "password": PASSWORD, "csrf": form_value(page.text, "csrf")}
    answer = post(client, "/console/login", **fields, next="/console/items")
    assert answer.headers["location"] == "/console/items"
    client.cookies.clear()
    page = client.get("/console/login")
    fields["csrf"] = form_value(page.text, "csrf")
    answer = post(client, "/console/login", **fields, next="//evil.example/console/")
    assert answer.headers["location"] == "/console/"


def test_forged_csrf_is_refused_and_changes_nothing(client: TestClient, failing: Services) -> None:
    delivery = dead_delivery(client, failing)
    login(client, "ops")
    for token in ("", "f" * 64):
        answer = post(client, f"/console/deliveries/{delivery}/retry", csrf=token)
        assert answer.status_code == 403
        assert "CSRF" in answer.text
    assert failing.store.counts()["memory"] == {"dead": 1}


def test_an_operator_retries_skips_and_the_audit_log_shows_it(client: TestClient, failing: Services) -> None:
    delivery = dead_delivery(client, failing)
    csrf = login(client, "ops")
    page = client.get("/console/deliveries?state=failing").text
    assert "PermanentError" in page and "永久性错误" in page and "立即重试" in page
    answer = post(client, f"/console/deliveries/{delivery}/retry", csrf=csrf, back="/console/deliveries")
    assert answer.status_code == 303
    assert "notice=" in answer.headers["location"]
    wait_until(lambda: failing.store.counts()["memory"] == {"dead": 1}, what="the retry failing again")
    wait_until(lambda: len(failing.store.events(delivery)) == 3, what="retry and its attempt logged")
    answer = post(client, f"/console/deliveries/{delivery}/skip", csrf=csrf, reason="渠道停用")
    assert answer.status_code == 303
    assert failing.store.counts()["memory"] == {"skipped": 1}
    timeline = client.get("/console/items/1").text
    assert "ops</strong>（平台管理员）立即重试" in timeline
    assert "跳过投递（投递 #1）：渠道停用" in timeline


def test_an_auditor_sees_everything_but_cannot_act(client: TestClient, failing: Services) -> None:
    delivery = dead_delivery(client, failing)
    csrf = login(client, "audit")
    page = client.get("/console/deliveries").text
    assert "PermanentError" in page
    assert "data-action" not in page and 'action="/console/deliveries/' not in page
    assert "data-action" not in client.get("/console/items/1").text
    for url, fields in (
        (f"/console/deliveries/{delivery}/retry", {}),
        (f"/console/deliveries/{delivery}/skip", {"reason": "试试"}),
        ("/console/items/1/retract", {"reason": "试试", "confirm": "yes"}),
    ):
        answer = post(client, url, csrf=csrf, **fields)
        assert answer.status_code == 403
        assert "审计员" in answer.text
    assert failing.store.counts()["memory"] == {"dead": 1}
    assert failing.store.item_status("test", "t-1")["retracted_at"] is None


def test_sessions_expire_when_idle_and_end_at_logout(client: TestClient, failing: Services) -> None:
    csrf = login(client, "ops")
    assert client.get("/console/", follow_redirects=False).status_code == 200
    real_clock = failing.clock
    idle = failing.settings.console.session_idle_minutes
    failing.clock = lambda: real_clock() + timedelta(minutes=idle + 1)
    assert client.get("/console/", follow_redirects=False).status_code == 303
    failing.clock = real_clock
    csrf = login(client, "ops")
    assert post(client, "/console/logout", csrf=csrf).headers["location"] == "/console/login"
    assert client.get("/console/", follow_redirects=False).status_code == 303


def test_resetting_an_account_ends_its_sessions(client: TestClient, failing: Services) -> None:
    login(client, "ops")
    Accounts(failing.engine, failing.clock).add("ops", "auditor", "another password", platform=True)
    assert client.get("/console/", follow_redirects=False).status_code == 303


def test_users_add_prints_a_password_once_or_reads_one(settings_for: Any, monkeypatch: Any) -> None:
    settings: Settings = settings_for()
    monkeypatch.setenv("GOVPUB_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("GOVPUB_DATA_DIR", str(settings.data_dir))
    runner = CliRunner()
    refused = runner.invoke(main, ["users", "add", "li.wei", "--role", "operator"])
    assert refused.exit_code != 0 and "none registered" in refused.output  # no agency to default to
    added = runner.invoke(main, ["agencies", "add", "AAA111", "--name", "教育局"])
    assert added.exit_code == 0, added.output
    made = runner.invoke(main, ["users", "add", "li.wei", "--role", "operator"])  # the only agency
    assert made.exit_code == 0, made.output
    password = made.stdout.strip().splitlines()[-1]
    accounts = Accounts(build_services(settings).engine, lambda: None)  # type: ignore[arg-type,return-value]
    assert accounts.verify("li.wei", password) is not None
    given = runner.invoke(
        main, ["users", "add", "wang", "--role", "auditor", "--password-stdin"], input="s3cret-enough\n"
    )
    assert given.exit_code == 0, given.output
    assert "s3cret" not in given.stdout
    user = accounts.verify("wang", "s3cret-enough")
    assert user is not None and user.role == "auditor"
    listed = runner.invoke(main, ["users", "list"])
    assert [line.split("\t")[:3] for line in listed.stdout.splitlines()] == [
        ["li.wei", "operator", "AAA111"],
        ["wang", "auditor", "AAA111"],
    ]
    assert runner.invoke(main, ["users", "add", "x", "--role", "root"]).exit_code != 0


def test_the_secret_key_is_generated_once_and_kept(settings_for: Any, tmp_path: Path) -> None:
    settings: Settings = settings_for(data_dir=tmp_path / "fresh")
    first = load_secret_key(settings)
    assert len(first) >= 32
    assert load_secret_key(settings) == first
    assert (tmp_path / "fresh" / "secret_key").stat().st_mode & 0o077 == 0
    assert load_secret_key(settings_for(secret_key="from-the-environment")) == b"from-the-environment"
