"""Links: every absolute http(s) link and image of the body resolves (a final answer
below 400), fetched through the outbound policy (:mod:`pipeline.outbound`: private
and reserved addresses are refused unless ``[outbound] allow`` names them).

The links are probed at once (a few threads) within one time budget for the item; a
link not answered within it is reported as not checked, never as broken. Relative
links are the site's own and are not probed.
"""

from __future__ import annotations

import concurrent.futures
from collections.abc import Iterator

from lxml import html as lxml_html

from pipeline import outbound
from pipeline.checks.findings import Finding, Severity

MAX_LINKS = 50
THREADS = 8


def links(body_html: str) -> list[tuple[str, str]]:
    """(what, url) of every absolute http(s) ``<a href>`` and ``<img src>``, once each."""
    if not body_html.strip():
        return []
    root = lxml_html.fromstring(body_html)
    seen: dict[str, str] = {}
    for element, attribute in (
        *((a, "href") for a in root.iter("a")),
        *((i, "src") for i in root.iter("img")),
    ):
        url = (element.get(attribute) or "").strip()
        if url.lower().startswith(("http://", "https://")) and url not in seen:
            seen[url] = "image" if attribute == "src" else "link"
    return [(what, url) for url, what in seen.items()]


def _broken(url: str, policy: outbound.Policy) -> str:
    """Why ``url`` does not resolve, or ``""``."""
    try:
        status = outbound.probe(url, policy)
    except outbound.Refused as exc:
        return f"refused by the outbound policy: {exc.reason}"
    except outbound.FetchError as exc:
        return exc.reason
    return f"HTTP {status}" if status >= 400 else ""


def check(body_html: str, policy: outbound.Policy, budget: float, severity: Severity) -> Iterator[Finding]:
    found = links(body_html)
    pool = concurrent.futures.ThreadPoolExecutor(THREADS, thread_name_prefix="govpub-links")
    try:
        futures = {pool.submit(_broken, url, policy): (what, url) for what, url in found[:MAX_LINKS]}
        _, late = concurrent.futures.wait(futures, timeout=budget)
        for future, (what, url) in futures.items():
            if future in late:
                yield Finding(
                    "links", "warn", "body", f"{what} {url}", "", f"not checked within {budget:g} s"
                )
            elif why := future.result():
                yield Finding("links", severity, "body", f"{what} {url}", "", f"does not resolve: {why}")
    finally:
        pool.shutdown(wait=False, cancel_futures=True)
    for what, url in found[MAX_LINKS:]:
        yield Finding(
            "links", "warn", "body", f"{what} {url}", "", f"not checked: more than {MAX_LINKS} links"
        )
