"""The source as the architecture tests read it: modules, their imports, and the
channel kind names the core's code spells out.

Read with :mod:`ast`, nothing imported: a module that fails to import still gets
checked, and checking costs no start-up.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("pipeline", "channels")
# The kinds the core must not name (the built-in ones, and the paths they serve).
KINDS = re.compile(r"(?i)(website|wechat|weixin|feed|archive|memory|\bsite\b|/site/|/feeds/)")


@dataclass(frozen=True)
class Import:
    source: str  # the importing module
    target: str  # the imported module (``pkg.mod`` for ``from pkg import mod``)
    line: int
    typing_only: bool  # under ``if TYPE_CHECKING:``: never run


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


@cache
def modules() -> dict[str, Path]:
    found: dict[str, Path] = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            found[module_name(path)] = path
    return found


@cache
def tree(path: Path) -> ast.Module:
    return ast.parse(path.read_text("utf-8"), filename=str(path))


def imports(name: str) -> Iterator[Import]:
    """Every import statement of module ``name`` (at any depth), resolved to modules."""
    path = modules()[name]
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    typing_lines = _type_checking_lines(tree(path))
    for node in ast.walk(tree(path)):
        typing_only = node.lineno in typing_lines if isinstance(node, ast.stmt) else False
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield Import(name, alias.name, node.lineno, typing_only)
        elif isinstance(node, ast.ImportFrom):
            base = _absolute(node, package)
            for alias in node.names:
                candidate = f"{base}.{alias.name}" if base else alias.name
                target = candidate if candidate in modules() else base
                yield Import(name, target, node.lineno, typing_only)


def _absolute(node: ast.ImportFrom, package: str) -> str:
    if not node.level:
        return node.module or ""
    parts = package.split(".")
    base = parts[: len(parts) - node.level + 1]
    return ".".join([*base, *([node.module] if node.module else [])])


def _type_checking_lines(module: ast.Module) -> set[int]:
    lines: set[int] = set()
    for node in ast.walk(module):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            for inner in node.body:
                lines.update(range(inner.lineno, (inner.end_lineno or inner.lineno) + 1))
    return lines


def kind_names(path: Path) -> Iterator[tuple[int, str]]:
    """(line, what) for each channel kind the code of ``path`` spells out, outside
    docstrings and comments: strings, names, attributes, definitions, arguments, and
    every line of a template. ``what`` leaves out the line number, so a baseline of
    them survives edits elsewhere in the file."""
    if path.suffix != ".py":
        for n, line in enumerate(path.read_text("utf-8").splitlines(), 1):
            if KINDS.search(line):
                yield n, f"TEMPLATE {line.strip()[:100]}"
        return
    module = tree(path)
    docs = {
        id(node.body[0].value)
        for node in ast.walk(module)
        if isinstance(node, ast.Module | ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef)
        and node.body
        and isinstance(node.body[0], ast.Expr)
        and isinstance(node.body[0].value, ast.Constant)
        and isinstance(node.body[0].value.value, str)
    }
    for node in ast.walk(module):
        found = _named(node, docs)
        if found:
            yield node.lineno, found  # type: ignore[attr-defined]


def _named(node: ast.AST, docs: set[int]) -> str | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docs:
        return f"STR {node.value[:80]!r}" if KINDS.search(node.value) else None
    for kind, text in (
        ("NAME", node.id if isinstance(node, ast.Name) else None),
        ("ATTR", node.attr if isinstance(node, ast.Attribute) else None),
        (
            "DEF",
            node.name if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef) else None,
        ),
        ("ARG", node.arg if isinstance(node, ast.arg) else None),
    ):
        if text is not None and KINDS.search(text):
            return f"{kind} {text}"
    return None


def core_files() -> Iterator[Path]:
    for path in sorted((ROOT / "pipeline").rglob("*")):
        if path.suffix in (".py", ".html", ".toml"):
            yield path


def runtime_graph() -> dict[str, set[str]]:
    """Module → the modules of pipeline/ and channels/ it imports when run (at any depth,
    function-level imports included; ``if TYPE_CHECKING:`` ones left out)."""
    known = modules()
    graph: dict[str, set[str]] = {name: set() for name in known}
    for name in known:
        for imp in imports(name):
            if not imp.typing_only and imp.target in known and imp.target != name:
                graph[name].add(imp.target)
    return graph


def circles(graph: dict[str, set[str]]) -> list[frozenset[str]]:
    """The strongly connected groups of more than one module (Tarjan): each is one or
    more import circles."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[frozenset[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for nxt in sorted(graph[node]):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                found.append(frozenset(group))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found
