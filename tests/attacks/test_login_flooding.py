"""Password guessing against a running ``govpub serve``: sixteen guessers in parallel,
a guesser forging X-Forwarded-For, and guessers spread over two serve processes.

The guesses that get checked are a handful, the right password stays out while the
account is locked, every wrong password is in the audit log and the lock is on the
console's 登录安全 page. Figures (guesses/s, /healthz latency, memory) are in
``python -m bench.login_flood``, not here.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from pipeline.console.auth import Accounts
from pipeline.console.tables import audit_log, console_login_throttle
from pipeline.localcluster import LocalCluster
from tests.pipeline.console_support import PASSWORD, form_value

MEMORY = {"memory": {"kind": "memory"}}


def cluster_at(root: Path, database: str, broker: str | None = None, **settings: Any) -> LocalCluster:
    cluster = LocalCluster.create(root, database, broker, MEMORY, **settings)
    accounts = Accounts(cluster.services.engine, cluster.services.clock)
    accounts.add("li.wei", "admin", PASSWORD)
    accounts.add("audit", "auditor", PASSWORD, platform=True)
    return cluster


def try_login(http: httpx.Client, name: str, password: str, address: str | None = None) -> httpx.Response:
    headers = {"x-forwarded-for": address} if address else {}
    page = http.get("/console/login")
    form = {"username": name, "password": password, "csrf": form_value(page.text, "csrf")}
    return http.post("/console/login", data=form, headers=headers)


@pytest.fixture
def embedded(tmp_path: Path) -> Any:
    made: list[LocalCluster] = []

    def start(**settings: Any) -> tuple[LocalCluster, str]:
        cluster = cluster_at(
            tmp_path / f"c{len(made)}", f"sqlite:///{tmp_path}/govpub{len(made)}.db", **settings
        )
        made.append(cluster)
        return cluster, cluster.serve()[1]

    yield start
    for cluster in made:
        cluster.stop()


def flood(url: str, guessers: int = 16, deadline: float = 30.0) -> Counter[int]:
    """``guessers`` threads, each with its own login form, guessing until they are told
    the account is locked (a Retry-After of minutes) or ``deadline`` passes; returns the
    answers by status. A 429 without Retry-After counts as status 0."""
    answers: Counter[int] = Counter()
    lock = threading.Lock()
    stop_at = time.monotonic() + deadline

    def guess(n: int) -> None:
        with httpx.Client(base_url=url, timeout=120) as http:
            csrf = form_value(http.get("/console/login").text, "csrf")
            attempt = 0
            while time.monotonic() < stop_at:
                attempt += 1
                form = {"username": "li.wei", "password": f"guess {n}-{attempt}", "csrf": csrf}
                answer = http.post("/console/login", data=form)
                wait = answer.headers.get("retry-after", "")
                with lock:
                    answers[
                        0 if answer.status_code == 429 and not wait.isdigit() else answer.status_code
                    ] += 1
                if wait.isdigit() and int(wait) > 60:
                    return

    threads = [threading.Thread(target=guess, args=(n,)) for n in range(guessers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return answers


def audited(cluster: LocalCluster, action: str) -> list[str]:
    with cluster.services.engine.connect() as conn:
        query = select(audit_log.c.username).where(audit_log.c.action == action)
        return list(conn.execute(query).scalars())


def test_sixteen_parallel_guessers_get_a_handful_of_checks_and_never_the_account(embedded: Any) -> None:
    # no growing waits before the lock, so the flood reaches it within seconds
    cluster, url = embedded(console={"login_free_failures": 9, "login_lock_after": 10})
    settings = cluster.settings.console
    health: Counter[int] = Counter()
    done = threading.Event()

    def probe() -> None:
        with httpx.Client(base_url=url, timeout=120) as http:
            while not done.is_set():
                health[http.get("/healthz").status_code] += 1

    prober = threading.Thread(target=probe)
    prober.start()
    try:
        answers = flood(url)
    finally:
        done.set()
        prober.join()
    assert set(answers) <= {401, 429}, answers
    assert answers[401] <= settings.login_lock_after + settings.password_checks_at_once, answers
    assert set(health) == {200}, health
    assert audited(cluster, "login_failed") == ["li.wei"] * answers[401]
    with httpx.Client(base_url=url, timeout=60) as attacker:
        assert try_login(attacker, "li.wei", PASSWORD).status_code == 429
    with httpx.Client(base_url=url, timeout=60) as auditor:  # from another address, behind the proxy
        assert try_login(auditor, "audit", PASSWORD, address="192.0.2.10").status_code == 303
        page = auditor.get("/console/security").text
    assert "账号 li.wei" in page and "密码错误" in page


@pytest.mark.parametrize(
    ("trusted", "locked_out"),
    [("192.0.2.1", True), ("127.0.0.1", False)],
    ids=["untrusted-peer-forges-x-forwarded-for", "trusted-proxy-names-the-clients"],
)
def test_x_forwarded_for_counts_only_from_a_trusted_proxy(
    embedded: Any, trusted: str, locked_out: bool
) -> None:
    """One address spraying four names, each guess claiming another client address."""
    console = {"login_free_failures": 3, "login_lock_after": 3, "address_lock_after": 4}
    cluster, url = embedded(trusted_proxies=[trusted], console=console)
    with httpx.Client(base_url=url, timeout=60) as guesser:
        for n in range(4):
            assert try_login(guesser, f"name{n}", "wrong", address=f"198.51.100.{n + 1}").status_code == 401
        fifth = try_login(guesser, "name4", "wrong", address="198.51.100.5")
    assert fifth.status_code == (429 if locked_out else 401)
    with cluster.services.engine.connect() as conn:
        keys = set(conn.execute(select(console_login_throttle.c.key)).scalars())
    addresses = {k for k in keys if k.startswith("address:")}
    assert addresses == (
        {"address:127.0.0.1"} if locked_out else {f"address:198.51.100.{n}" for n in range(1, 6)}
    )


def test_two_serve_processes_count_one_account_together(tmp_path: Path, pg_url: str, redis_url: str) -> None:
    console = {"login_free_failures": 9, "login_lock_after": 10}
    cluster = cluster_at(tmp_path, pg_url, redis_url, console=console)
    try:
        servers = [httpx.Client(base_url=cluster.serve()[1], timeout=60) for _ in range(2)]
        for n in range(10):
            assert try_login(servers[n % 2], "li.wei", f"wrong {n}").status_code == 401
        for http in servers:
            assert try_login(http, "li.wei", PASSWORD).status_code == 429
            http.close()
        assert audited(cluster, "login_locked") == ["li.wei"]
    finally:
        cluster.stop()
