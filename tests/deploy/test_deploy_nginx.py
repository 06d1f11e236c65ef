"""deploy/nginx/govpub.conf under Debian's nginx: `nginx -t`, then a real nginx (in the
foreground, on a free loopback port) in front of a real govpub app, serving a site
folder under tmp_path as the website channel leaves it."""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from pipeline.app import create_app
from pipeline.config import Settings
from pipeline.console.tables import console_login_throttle
from pipeline.schema import upgrade
from pipeline.services import build_services
from tests.deploy.files import NGINX_CONF, SITE_DIR
from tests.helpers import (
    TEST_AGENCY,
    TEST_AGENCY_NAME,
    LiveServer,
    free_port,
    kill,
    register_agencies,
    wait_until,
)
from tests.pipeline.console_support import form_value

UPSTREAM = "server govpub:8000;"
PROXY = "127.0.0.2"  # nginx's address as govpub sees it (one of its trusted_proxies)
LISTEN = "listen 80;"


def nginx_binary() -> str:
    found = shutil.which("nginx") or ("/usr/sbin/nginx" if os.path.exists("/usr/sbin/nginx") else None)
    if found is None:
        pytest.skip("nginx is not installed (./run check installs Debian's)")
    return found


def harness(tmp: Path, files: Path, backend: int, port: int) -> Path:
    """A whole nginx.conf that includes ours with this machine's paths and ports."""
    ours = NGINX_CONF.read_text("utf-8")
    for production in (UPSTREAM, LISTEN, SITE_DIR):
        assert production in ours, f"{production!r} is no longer in govpub.conf: update the harness"
    ours = ours.replace(UPSTREAM, f"server 127.0.0.1:{backend};").replace(LISTEN, f"listen 127.0.0.1:{port};")
    (tmp / "govpub.conf").write_text(ours.replace(SITE_DIR, str(files)), "utf-8")
    kinds = ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    temp = " ".join(f"{kind}_temp_path {tmp / kind};" for kind in kinds)
    conf = tmp / "nginx.conf"
    conf.write_text(
        ("user root;\n" if os.geteuid() == 0 else "")
        + f"pid {tmp / 'nginx.pid'};\nerror_log {tmp / 'error.log'};\nevents {{}}\n"
        + "http {\n  include /etc/nginx/mime.types;\n  default_type application/octet-stream;\n"
        + f"  access_log {tmp / 'access.log'};\n  {temp}\n"
        # nginx reaches govpub from its own address, as from its own machine in production
        + f"  proxy_bind {PROXY};\n  include {tmp / 'govpub.conf'};\n}}\n",
        "utf-8",
    )
    return conf


def site(files: Path) -> None:
    """What the website channel writes: pages, a retracted page and its marker, a lock."""
    for relative, content in {
        "site/index.html": "<h1>政府信息公开</h1>",
        "site/jyj/items/a-1.html": "<h1>一项公开信息</h1>",
        "site/jyj/items/b-2.html": "<h1>该信息已撤回</h1>",
        "site/jyj/withdrawn/b-2": '{"reason": "内容有误"}',
        "site/assets/site.css": "body{}",
        "site/.site.lock": "locked",
        "feeds/all.atom": "<feed/>",
    }.items():
        path = files / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content, "utf-8")


@pytest.fixture
def nginx(tmp_path: Path, settings_for: Any) -> Iterator[str]:
    settings = settings_for(trusted_proxies=[PROXY])
    services = build_services(settings)
    upgrade(services.engine)
    register_agencies(services.engine, {TEST_AGENCY: TEST_AGENCY_NAME})
    files = tmp_path / "public"
    site(files)
    with LiveServer(create_app(settings, services)) as backend:
        port = free_port()
        conf = harness(tmp_path, files, backend.port, port)
        proc = subprocess.Popen(
            [nginx_binary(), "-p", str(tmp_path), "-c", str(conf), "-g", "daemon off;"],
            stderr=subprocess.PIPE,
            start_new_session=True,
        )
        try:
            wait_until(lambda: httpx.get(f"http://127.0.0.1:{port}/healthz").status_code == 200, 20, "nginx")
            yield f"http://127.0.0.1:{port}"
        finally:
            kill(proc, timeout=10)
            services.engine.dispose()


def test_nginx_accepts_the_configuration(tmp_path: Path) -> None:
    files = tmp_path / "public"
    site(files)
    conf = harness(tmp_path, files, free_port(), free_port())
    done = subprocess.run([nginx_binary(), "-t", "-p", str(tmp_path), "-c", str(conf)], capture_output=True)
    assert done.returncode == 0, done.stderr.decode()
    assert b"test is successful" in done.stderr


def test_the_request_limit_is_the_intakes() -> None:
    (size,) = re.findall(r"client_max_body_size (\d+)m;", NGINX_CONF.read_text("utf-8"))
    assert int(size) * 1024 * 1024 == Settings.model_fields["max_body_bytes"].default
    ingress = NGINX_CONF.parents[1] / "k8s" / "overlays" / "example" / "ingress.yaml"
    (proxied,) = re.findall(r"proxy-body-size: (\d+)m", ingress.read_text("utf-8"))
    assert int(proxied) == int(size)


def test_pages_are_served_from_disk_with_validators(nginx: str) -> None:
    page = httpx.get(f"{nginx}/site/jyj/items/a-1.html")
    assert page.status_code == 200 and page.text == "<h1>一项公开信息</h1>"
    assert page.headers["cache-control"] == "no-cache"
    assert page.headers["content-type"] == "text/html; charset=utf-8"
    assert page.headers["x-content-type-options"] == "nosniff"
    again = httpx.get(f"{nginx}/site/jyj/items/a-1.html", headers={"if-none-match": page.headers["etag"]})
    assert again.status_code == 304
    assert httpx.get(f"{nginx}/site/").text == "<h1>政府信息公开</h1>"
    assert "max-age=3600" in httpx.get(f"{nginx}/site/assets/site.css").headers["cache-control"]
    feed = httpx.get(f"{nginx}/feeds/all.atom")
    assert feed.headers["content-type"].startswith("application/atom+xml") and "etag" in feed.headers


def test_a_retracted_page_answers_410_with_its_notice(nginx: str) -> None:
    gone = httpx.get(f"{nginx}/site/jyj/items/b-2.html")
    assert gone.status_code == 410
    assert gone.text == "<h1>该信息已撤回</h1>"
    assert gone.headers["cache-control"] == "no-cache"


def test_hidden_files_are_never_served(nginx: str) -> None:
    assert httpx.get(f"{nginx}/site/.site.lock").status_code == 404
    assert httpx.get(f"{nginx}/_govpub_withdrawn/jyj/items/a-1.html").status_code == 404  # internal only


def test_what_is_not_on_disk_goes_to_govpub(nginx: str) -> None:
    health = httpx.get(f"{nginx}/healthz")
    assert health.json() == {"status": "ok"}
    missing = httpx.get(f"{nginx}/site/jyj/items/none.html")
    assert missing.status_code == 404 and "nginx" not in missing.text  # govpub's answer, not nginx's
    moved = httpx.get(f"{nginx}/site/items/a-1.html")  # an address of before platform mode
    assert moved.status_code == 404 and "nginx" not in moved.text  # govpub decides (301 when it knows)
    search = httpx.get(f"{nginx}/site/search", params={"q": "公开"})  # the cross-agency search
    assert "nginx" not in search.text and "no static website channel" in search.text  # govpub's page
    refused = httpx.post(f"{nginx}/v1/items", json={})
    assert refused.status_code == 401  # the intake itself answered


def test_an_oversized_submission_is_refused_before_the_body(nginx: str) -> None:
    host, port = nginx.removeprefix("http://").split(":")
    too_big = 64 * 1024 * 1024 + 1
    with socket.create_connection((host, int(port)), timeout=10) as conn:
        conn.sendall(f"POST /v1/items HTTP/1.1\r\nHost: x\r\nContent-Length: {too_big}\r\n\r\n".encode())
        status_line = conn.recv(200).split(b"\r\n")[0]
    assert status_line == b"HTTP/1.1 413 Request Entity Too Large"


def test_logins_count_the_address_nginx_saw_and_a_flood_is_cut_at_nginx(
    nginx: str, settings_for: Any
) -> None:
    """A forged X-Forwarded-For is kept left of the address nginx appends; govpub trusts
    nginx (PROXY) and counts the client's real address. Tries beyond nginx's burst never
    reach govpub."""
    with httpx.Client(base_url=nginx) as http:
        page = http.get("/console/login")
        form = {"username": "nobody", "password": "wrong password", "csrf": form_value(page.text, "csrf")}
        answers = [
            http.post("/console/login", data=form, headers={"x-forwarded-for": "203.0.113.9"}).status_code
            for _ in range(15)
        ]
    assert answers[0] == 401 and 429 in answers, answers
    services = build_services(settings_for())
    with services.engine.connect() as conn:
        keys = set(conn.execute(select(console_login_throttle.c.key)).scalars())
    assert "address:127.0.0.1" in keys and not any("203.0.113.9" in key for key in keys), keys
