"""The core names no channel: no module under pipeline/ imports from channels/, and no
channel kind (website, wechat, feed, archive, memory, /site/, /feeds/) appears in the
core's code or templates outside docstrings and comments. Issue 17 removed the last
ones; none may come back.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from tests.architecture.graph import ROOT, core_files, imports, kind_names, module_name


def found() -> Counter[str]:
    """Every violation now, as ``path: WHAT text``."""
    seen: Counter[str] = Counter()
    for path in core_files():
        rel = path.relative_to(ROOT).as_posix()
        if path.suffix == ".py":
            for imp in imports(module_name(path)):
                if imp.target.split(".")[0] == "channels":
                    seen[f"{rel}: IMPORT {imp.target}"] += 1
        for _, what in kind_names(path):
            seen[f"{rel}: {what}"] += 1
    return seen


def violations(kind: str) -> list[str]:
    return sorted(v for v in found().elements() if (": IMPORT " in v) == (kind == "import"))


def test_the_core_imports_no_channel() -> None:
    assert not violations("import"), (
        "pipeline/ imports channels/ (channels declare themselves in a plug-in; the core "
        "reaches them through pipeline.registry):\n  " + "\n  ".join(violations("import"))
    )


def test_the_core_names_no_channel_kind() -> None:
    assert not violations("name"), (
        "pipeline/ names a channel kind (take it from the plug-in: its kind, label, report "
        "role, routes, capabilities):\n  " + "\n  ".join(violations("name"))
    )


def test_the_finder_skips_docstrings_and_comments_only(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text(
        '"""The website and wechat channels are named here, in the docstring."""\n'
        "# a comment may name the feed too\n"
        "def send(archive_dir: str) -> str:\n"
        '    """memory: fine here."""\n'
        '    return "/site/" + archive_dir\n',
        encoding="utf-8",
    )
    assert sorted(what for _, what in kind_names(sample)) == [
        "ARG archive_dir",
        "NAME archive_dir",
        "STR '/site/'",
    ]
