"""Control characters wherever input comes in: a URL's path or query, a console form.
PostgreSQL refuses NUL in text, so any that reached a query was a 500; the text rule
now stops them at the door (400 for a URL) or the form says what is wrong."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from pipeline.app import create_app
from pipeline.services import Services
from tests.helpers import api_routes, make_item
from tests.pipeline.console_support import PASSWORD, add_user, form_value, login

BAD = ["%00", "a%00b", "%07", "%C2%85", "%ED%A0%80"]  # NUL, NUL inside, BEL, C1 NEL, a lone surrogate


@pytest.fixture
def client(services: Services, token: str) -> Iterator[TestClient]:
    add_user(services, "li.wei", "operator")
    with TestClient(create_app(services.settings, services), raise_server_exceptions=False) as running:
        running.headers["authorization"] = f"Bearer {token}"
        assert running.post("/v1/items", json=make_item(1)).status_code == 202
        login(running, "li.wei")
        yield running


def urls(client: TestClient, bad: str) -> list[str]:
    """Every route, each path parameter and a query parameter carrying ``bad``."""
    found = set()
    for path, _route in api_routes(client.app):
        found.add(re.sub(r"\{(\w+)(?::\w+)?\}", bad, path) + f"?q={bad}&state={bad}&agency={bad}")
        found.add(re.sub(r"\{(\w+)(?::\w+)?\}", "1", path) + f"?q={bad}")
    return sorted(found)


@pytest.mark.parametrize("bad", BAD)
def test_a_control_character_in_any_url_is_400(client: TestClient, bad: str) -> None:
    answers = {url: client.get(url).status_code for url in urls(client, bad)}
    assert len(answers) > 40
    assert {url: status for url, status in answers.items() if status != 400} == {}
    gone = client.request("DELETE", f"/v1/items/test/{bad}", json={"reason": "原因"})
    # invalid UTF-8 in a path reaches the app as U+FFFD (harmless): no such item
    assert gone.status_code == (404 if bad == "%ED%A0%80" else 400)


def test_a_login_name_no_account_can_have_is_a_failed_login(services: Services) -> None:
    add_user(services, "li.wei", "operator")
    with TestClient(create_app(services.settings, services), raise_server_exceptions=False) as browser:
        page = browser.get("/console/login")
        form = {"username": "li.wei\x00", "password": PASSWORD, "csrf": form_value(page.text, "csrf")}
        assert browser.post("/console/login", data=form).status_code == 401


def test_console_reasons_with_control_characters_are_sent_back(
    client: TestClient, services: Services
) -> None:
    csrf = form_value(client.get("/console/").text, "csrf")
    for action, form in (
        ("/console/deliveries/1/skip", {"reason": "原因\x00"}),
        ("/console/items/1/retract", {"reason": "原因\x00", "confirm": "yes"}),
    ):
        answer = client.post(action, data={**form, "csrf": csrf}, follow_redirects=False)
        assert answer.status_code == 303 and "notice=" in answer.headers["location"]
    assert services.store.item_status("test", "t-1")["retracted_at"] is None
