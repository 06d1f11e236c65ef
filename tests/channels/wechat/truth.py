"""What the sandbox holds against what the delivery log says, one row per scenario.

``facts`` reduces both sides to the same shape — the set of ``(id, 1-based index)`` of
every article a follower can reach: a live published article (``article_id``) or an
article of a mass send WeChat did not fail (``msg_id``) — so that "they agree" is a set
comparison. Tests call the ``truth`` fixture with their delivery rows; with
``GOVPUB_WECHAT_TRUTH=<file>`` the rows are written there as a Markdown table.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from channels.wechat.sandbox import SandboxServer
from tests.channels.wechat.conftest import record

REACHED = ("delivered", "unconfirmed")


def sandbox_facts(sandbox: SandboxServer) -> set[tuple[str, int]]:
    account = sandbox.account
    with account.lock:
        live = {
            (article_id, idx)
            for article_id, art in account.articles.items()
            if not article_id.startswith("mass")
            for idx in range(1, len(art["articles"]) + 1)
            if idx not in art["deleted"]
        }
        pushed = {
            (msg_id, idx)
            for msg_id, mass in account.masses.items()
            if mass["status"] != "SEND_FAIL"
            for idx in range(1, len(mass["articles"]) + 1)
            if idx not in mass["deleted"]
        }
    return live | pushed


def log_facts(rows: list[Any]) -> set[tuple[str, int]]:
    found = set()
    for row in rows:
        ref = row.external_ref or {}
        if row.state in REACHED and row.action == "publish":
            found.add((str(ref.get("article_id") or ref.get("msg_id")), int(ref["index"])))
    return found


def describe_sandbox(sandbox: SandboxServer) -> str:
    seen = record(sandbox)
    masses = sandbox.account.masses
    clientmsgids = {c["clientmsgid"] for c in seen["sendall_calls"]}
    parts = [
        f"submits {len(seen['submits'])}",
        f"published {len(seen['published'])}",
        f"sendall calls {len(seen['sendall_calls'])} ({len(clientmsgids)} clientmsgid)",
        f"mass sends {len(seen['mass_sends'])}"
        + (f" [{', '.join(sorted({m['status'] for m in masses.values()}))}]" if masses else ""),
        f"previews {len(seen['previews'])}",
        f"deleted {len(seen['deleted'])}",
        f"reachable {sorted(sandbox_facts(sandbox))}",
    ]
    return "; ".join(p for p in parts if not p.endswith(" 0"))


def describe_log(rows: list[Any]) -> str:
    states = Counter(r.state for r in rows)
    return "; ".join(
        [", ".join(f"{s} {n}" for s, n in sorted(states.items())), f"names {sorted(log_facts(rows))}"]
    )
