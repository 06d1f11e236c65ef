"""No import circles among the modules of pipeline/ and channels/.

A circle means two modules each need the other: code sits in the wrong place (the
core importing a channel's tables so Alembic sees them, a channel's CLI importing the
CLI's entry module). Issue 17 removed the last ones: none may come back; move the
shared code into a module both import, or hand the piece in.
"""

from __future__ import annotations

from tests.architecture.graph import circles, runtime_graph


def describe(group: frozenset[str]) -> str:
    graph = runtime_graph()
    edges = sorted(f"{a} → {b}" for a in group for b in graph[a] & group)
    return "\n    ".join(edges)


def test_no_import_circle() -> None:
    found = circles(runtime_graph())
    assert not found, "import circles (move the shared code, or hand the piece in):\n" + "\n".join(
        f"  {sorted(g)}:\n    {describe(g)}" for g in found
    )


def test_the_finder_sees_a_circle() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert circles(graph) == [frozenset({"a", "b", "c"})]
