"""No import circles among the modules of pipeline/ and channels/.

A circle means two modules each need the other: code sits in the wrong place (the
core importing a channel's tables so Alembic sees them, a channel's CLI importing the
CLI's entry module). Circles that exist when this test was written are listed in
``KNOWN_CIRCLES``; a circle may shrink or go, never appear or grow. Remove a group
from the list once it is gone (the last test says which).
"""

from __future__ import annotations

from tests.architecture.graph import circles, runtime_graph

# Each group: modules that import each other round (issue 17 removes all of them).
KNOWN_CIRCLES: list[frozenset[str]] = [
    frozenset(
        {
            "channels.wechat.console",
            "pipeline.console.actions",
            "pipeline.console.security",
            "pipeline.console.views",
            "pipeline.console.web",
        }
    ),
]


def describe(group: frozenset[str]) -> str:
    graph = runtime_graph()
    edges = sorted(f"{a} → {b}" for a in group for b in graph[a] & group)
    return "\n    ".join(edges)


def test_no_new_import_circle() -> None:
    new = [g for g in circles(runtime_graph()) if not any(g <= known for known in KNOWN_CIRCLES)]
    assert not new, "import circles (move the shared code, or hand the piece in):\n" + "\n".join(
        f"  {sorted(g)}:\n    {describe(g)}" for g in new
    )


def test_known_circles_that_are_gone_leave_the_list() -> None:
    now = circles(runtime_graph())
    gone = [sorted(known) for known in KNOWN_CIRCLES if not any(g <= known for g in now)]
    assert not gone, f"delete these groups from KNOWN_CIRCLES in {__file__}: {gone}"


def test_the_finder_sees_a_circle() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert circles(graph) == [frozenset({"a", "b", "c"})]
