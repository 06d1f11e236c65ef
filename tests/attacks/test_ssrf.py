"""Server-side request forgery through the running system: a source submits an item
whose body images point at an internal service (a loopback listener that is not
allow-listed), written every way an attacker would, and through an allow-listed host
that redirects there, and at names that resolve to the cloud's metadata service and
private addresses. ``govpub serve``, a Celery worker and the WeChat sandbox run as real
processes, under the test connect guard and resolver stub (tests/netguard_site). The
listener must receive nothing, no process may even try to connect beyond loopback, the
item still goes out, and the source's ``GET /v1/items/…`` never says why an image
could not be fetched."""

from __future__ import annotations

import re
from pathlib import Path

from tests.listener import Listener
from tests.wechat_cluster import WeChatCluster

REASONS = re.compile(r"refused|disconnect|HTTP \d|resolve|timeout|not a public|Errno|redirect", re.I)


def attempts(internal: Listener, redirector: Listener) -> list[str]:
    port = internal.port
    to = f"http://127.0.0.1:{port}/latest/meta-data/"
    return [
        f"http://127.0.0.1:{port}/image.png",
        f"http://localhost:{port}/image.png",
        f"http://[::ffff:127.0.0.1]:{port}/image.png",
        f"http://2130706433:{port}/image.png",
        f"http://0.0.0.0:{port}/image.png",
        f"//127.0.0.1:{port}/image.png",
        f"https://127.0.0.1:{port}/image.png",
        redirector.url(f"/redirect?to={to}"),
        redirector.url(f"/redirect?status=307&to=http://localhost:{port}/"),
        redirector.url("/redirect?to=http://metadata.test/latest/meta-data/"),
        f"gopher://127.0.0.1:{port}/_GET%20/",
        # names the govpub processes resolve through the test resolver (never a real one)
        "http://metadata.test/latest/meta-data/iam/security-credentials/",
        "http://intranet.test/admin.png",
        "http://rebind.test/a.png",
    ]


# What the resolver stub inside serve and the worker answers (tests/netguard_site).
NAMES = {
    "metadata.test": ["169.254.169.254"],
    "intranet.test": ["10.0.0.7"],
    "rebind.test": ["93.184.216.34", "fd00::7"],  # one public answer, one private
}


def test_an_internal_service_behind_body_images_receives_nothing(
    tmp_path: Path, pg_url: str, redis_url: str
) -> None:
    # the agency's image host (allowed) is 127.0.0.2; the internal service is 127.0.0.1
    with Listener() as internal, Listener("127.0.0.2") as redirector:
        urls = attempts(internal, redirector)
        body = "".join(f'<p><img src="{url}" alt="图{n}"></p>' for n, url in enumerate(urls, 1))
        with WeChatCluster(tmp_path / "govpub", pg_url, redis_url, ["127.0.0.2"], NAMES) as gp:
            gp.submit(1, body_html=body)
            row = gp.finished(1)
            seen = str(gp.status(1)["deliveries"])
            drafts = gp.record()["drafts"]
            beyond = gp.connects_beyond_loopback()
    assert internal.connections == 0, internal.requests
    assert beyond == []  # not even a refused connect to a metadata or private address
    assert len(redirector.requests) == 3  # the worker did try: the allowed host was asked
    assert row["state"] == "delivered", row["last_error"]
    [draft] = drafts
    content = draft["received"][0]["content"]
    assert "<img" not in content
    assert all(f"[图片：图{n}]" in content for n in range(1, len(urls) + 1))
    assert "could not be fetched" in seen
    assert not REASONS.search(seen) and str(internal.port) not in seen
