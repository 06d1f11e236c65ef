"""Helpers for the console tests: accounts, logging in, reading forms."""

from __future__ import annotations

import re
from typing import Any

from fastapi.testclient import TestClient

from pipeline.console.auth import Accounts
from pipeline.services import Services

PASSWORD = "correct horse battery"
# every console page and action, with what a logged-out request would send
CONSOLE_URLS: list[tuple[str, str]] = [
    ("GET", "/console"),
    ("GET", "/console/"),
    ("GET", "/console/?fragment=1"),
    ("GET", "/console/deliveries"),
    ("GET", "/console/deliveries?state=failing&fragment=1"),
    ("GET", "/console/items"),
    ("GET", "/console/items?q=招生"),
    ("GET", "/console/items/1"),
    ("GET", "/console/items/1?fragment=1"),
    ("GET", "/console/no-such-page"),
    ("POST", "/console/deliveries/1/retry"),
    ("POST", "/console/deliveries/1/skip"),
    ("POST", "/console/deliveries/1/confirm"),
    ("POST", "/console/deliveries/1/resubmit"),
    ("POST", "/console/deliveries/1/release"),
    ("GET", "/console/wechat/wechat"),
    ("POST", "/console/wechat/wechat/send-now"),
    ("POST", "/console/items/1/retract"),
    ("POST", "/console/logout"),
]


def add_user(
    services: Services, name: str, role: str, agencies: tuple[str, ...] = (), platform: bool = False
) -> None:
    """An account; an operator or auditor named without agencies is a single-agency
    installation's, platform-wide as ``0011_agencies`` upgrades them (admin, platform
    auditor)."""
    if role in ("operator", "auditor") and not agencies and not platform:
        role, platform = ("admin", False) if role == "operator" else ("auditor", True)
    Accounts(services.engine, services.clock).add(name, role, PASSWORD, agencies=agencies, platform=platform)


def form_value(html: str, name: str) -> str:
    found = re.search(rf'name="{name}" value="([^"]*)"', html)
    assert found, f"no {name} field in the page"
    return found.group(1)


def login(client: TestClient, name: str, password: str = PASSWORD) -> str:
    """Log in through the form; returns the session's CSRF token."""
    page = client.get("/console/login")
    answer = client.post(
        "/console/login",
        data={"username": name, "password": password, "csrf": form_value(page.text, "csrf")},
        follow_redirects=False,
    )
    assert answer.status_code == 303, answer.text
    return form_value(client.get("/console/").text, "csrf")


def post(client: TestClient, url: str, **data: Any) -> Any:
    return client.post(url, data=data, follow_redirects=False)
