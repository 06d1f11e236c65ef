"""The core names no channel: no module under pipeline/ imports from channels/, and no
channel kind (website, wechat, feed, archive, memory, /site/, /feeds/) appears in the
core's code or templates outside docstrings and comments.

Violations that exist when this test was written are listed in
``known_violations.txt`` (one line per occurrence, no line numbers, so edits
elsewhere in a file do not disturb it). The list may only shrink: a new violation
fails ``test_the_core_*``; a fixed one fails the last test until its line is deleted.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from tests.architecture.graph import ROOT, core_files, imports, kind_names, module_name

BASELINE = Path(__file__).with_name("known_violations.txt")


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


def known() -> Counter[str]:
    lines = BASELINE.read_text("utf-8").splitlines() if BASELINE.exists() else []
    return Counter(line for line in lines if line.strip() and not line.startswith("#"))


def new_ones(kind: str) -> list[str]:
    extra = found() - known()
    return sorted(v for v in extra.elements() if (": IMPORT " in v) == (kind == "import"))


def test_the_core_imports_no_channel() -> None:
    assert not new_ones("import"), (
        "pipeline/ imports channels/ (channels declare themselves in a plug-in; the core "
        "reaches them through pipeline.registry):\n  " + "\n  ".join(new_ones("import"))
    )


def test_the_core_names_no_channel_kind() -> None:
    assert not new_ones("name"), (
        "pipeline/ names a channel kind (take it from the plug-in: its kind, label, report "
        "role, routes, capabilities):\n  " + "\n  ".join(new_ones("name"))
    )


def test_fixed_violations_leave_the_baseline() -> None:
    stale = sorted((known() - found()).elements())
    assert not stale, f"fixed, so delete these lines from {BASELINE.relative_to(ROOT)}:\n  " + "\n  ".join(
        stale
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
