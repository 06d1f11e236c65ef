"""What a check reports, and what the stage decides from it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

Severity = Literal["warn", "hold"]


@dataclass(frozen=True)
class Finding:
    """One problem: which check, how grave, where (field, attachment and line or cell),
    what was found and what it should be."""

    check: str
    severity: Severity
    where: str
    found: str
    suggestion: str = ""
    note: str = ""

    def as_json(self) -> dict[str, Any]:
        return {
            "check": self.check,
            "severity": self.severity,
            "where": self.where,
            "found": self.found,
            "suggestion": self.suggestion,
            "note": self.note,
        }


@dataclass(frozen=True)
class Outcome:
    """The stage's answer for one revision: its findings, and the channels they hold."""

    findings: tuple[Finding, ...] = ()
    held: frozenset[str] = field(default_factory=frozenset)

    def reason(self) -> str:
        holding = [f for f in self.findings if f.severity == "hold"]
        shown = "；".join(f"{f.check}@{f.where}: {f.found}" for f in holding[:3])
        more = f"（另有 {len(holding) - 3} 处）" if len(holding) > 3 else ""
        return f"held by checks: {shown}{more}"


NOTHING = Outcome()
