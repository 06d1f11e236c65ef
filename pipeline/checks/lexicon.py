"""Expressions: wrong forms of official names and formulations, found with one
Aho–Corasick automaton per lexicon file (built once, cached by path and mtime).

A lexicon is a TOML file (docs/checks.md)::

    [lexicon]
    name = "..."
    sources = ["where the entries came from"]

    [[entry]]
    wrong = "中华人民共和国国务院办公室"
    right = "国务院办公厅"
    severity = "hold"          # or "warn" (default: hold)
    note = "..."
    source = "..."
"""

from __future__ import annotations

import bisect
import tomllib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import ahocorasick

from pipeline.checks.extract import Piece
from pipeline.checks.findings import Finding, Severity
from pipeline.errors import ConfigError


@dataclass(frozen=True)
class Entry:
    wrong: str
    right: str
    severity: Severity
    note: str
    source: str


class Lexicon:
    def __init__(self, name: str, entries: list[Entry]) -> None:
        self.name = name
        self.entries = entries
        self.automaton: Any = ahocorasick.Automaton()
        for entry in entries:
            self.automaton.add_word(entry.wrong, entry)
        if entries:
            self.automaton.make_automaton()

    def find(self, text: str) -> Iterator[tuple[int, Entry]]:
        """(index of the last character, entry) of every occurrence in ``text``."""
        if self.entries:
            yield from self.automaton.iter(text)


def parse(path: Path, text: str) -> Lexicon:
    """A lexicon from TOML text; a bad entry is a ConfigError naming it."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(str(path), None, f"not valid TOML: {exc}") from exc
    entries = []
    for number, raw in enumerate(data.get("entry", []), 1):
        wrong, severity = raw.get("wrong"), raw.get("severity", "hold")
        if not isinstance(wrong, str) or not wrong.strip() or severity not in ("warn", "hold"):
            where = f"{path} entry {number}"
            raise ConfigError(where, raw, "needs wrong (text) and severity warn or hold")
        entries.append(
            Entry(
                wrong,
                str(raw.get("right", "")),
                severity,
                str(raw.get("note", "")),
                str(raw.get("source", "")),
            )
        )
    return Lexicon(str(data.get("lexicon", {}).get("name", path.stem)), entries)


@lru_cache(maxsize=64)
def _load(path: str, mtime_ns: int) -> Lexicon:
    return parse(Path(path), Path(path).read_text(encoding="utf-8"))


def load(path: str | Path) -> Lexicon:
    """The lexicon at ``path``, built once per version of the file."""
    resolved = Path(path)
    if not resolved.is_file():
        raise ConfigError("checks.lexicons", str(path), "no such lexicon file")
    return _load(str(resolved), resolved.stat().st_mtime_ns)


def check(texts: Iterable[Piece], lexicons: list[Lexicon]) -> Iterator[Finding]:
    """One automaton pass per lexicon over the pieces joined; each hit is named with
    its piece."""
    pieces = list(texts)
    starts, offset = [], 0
    for piece in pieces:
        starts.append(offset)
        offset += len(piece.text) + 1
    joined = "\x00".join(piece.text for piece in pieces)
    for lexicon in lexicons:
        for end, entry in lexicon.find(joined):
            piece = pieces[bisect.bisect_right(starts, end) - 1]
            cited = f"来源：{entry.source}" if entry.source else ""
            note = "；".join(x for x in (entry.note, cited) if x)
            yield Finding("expressions", entry.severity, piece.where, entry.wrong, entry.right, note)
