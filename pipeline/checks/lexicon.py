"""Expressions: wrong forms of official names and formulations, found with one
Aho–Corasick automaton per lexicon file (built once, cached by path and mtime).

The automaton is ahocorasick-rs (the Rust ``aho-corasick`` crate): its states keep
their transitions in contiguous arrays, the root's dense, so a step costs one lookup
however many entries start with different characters (pyahocorasick searched each
state's children in a list: with a 10,000-entry lexicon of Chinese phrases the root has
hundreds, and a 2 MB body took it 80–180 ms). The search runs without the GIL.

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

import tomllib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from ahocorasick_rs import AhoCorasick

from pipeline.checks.extract import LINE_BREAK, Corpus, Piece, corpus
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
        by_form = {entry.wrong: entry for entry in entries}  # a form listed twice: its last entry
        self.found = list(by_form.values())
        self.automaton = AhoCorasick(by_form) if by_form else None

    def find(self, text: str) -> list[tuple[int, Entry]]:
        """(index of the first character, entry) of every occurrence in ``text``,
        overlapping ones too, in the order they end."""
        if self.automaton is None:
            return []
        found = self.found
        return [(start, found[i]) for i, start, _ in self.automaton.find_matches_as_indexes(text, True)]


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
        if LINE_BREAK.search(wrong) or "\x00" in wrong:
            where = f"{path} entry {number}"
            raise ConfigError(where, raw, "wrong is found within one line: no line break in it")
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


def check(texts: Corpus | Iterable[Piece], lexicons: list[Lexicon]) -> Iterator[Finding]:
    """One automaton pass per lexicon over the whole text; each hit is named with its
    piece and line."""
    joined = corpus(texts)
    for lexicon in lexicons:
        for start, entry in lexicon.find(joined.text):
            cited = f"来源：{entry.source}" if entry.source else ""
            note = "；".join(x for x in (entry.note, cited) if x)
            where = joined.locate(start)[1]
            yield Finding("expressions", entry.severity, where, entry.wrong, entry.right, note)
