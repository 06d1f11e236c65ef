"""``govpub submit FILE.jsonl``: batches to the API, progress on stderr, one result
line per item on stdout (``line  status  source/id rN  index_no-or-error``)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

from pipeline.client import GovpubClient, chunks


def read_lines(path: Path) -> list[tuple[int, dict[str, Any] | str]]:
    """Each line parsed, or the reason it could not be."""
    out: list[tuple[int, dict[str, Any] | str]] = []
    with path.open(encoding="utf-8", errors="replace") as handle:
        for number, line in enumerate(handle, 1):
            if not line.strip():
                continue
            try:
                value = json.loads(line)
            except json.JSONDecodeError as exc:
                out.append((number, f"not JSON: {exc.msg} at column {exc.colno}"))
                continue
            out.append((number, value if isinstance(value, dict) else "not a JSON object"))
    return out


def describe(answer: dict[str, Any]) -> str:
    if answer.get("receipt"):
        r = answer["receipt"]
        return f"{r['status']}\t{r['source']}/{r['id']} r{r['revision']}\t{r['index_no']}"
    err = answer.get("error") or {}
    details = "; ".join(str(d) for d in err.get("details", [])) or err.get("message", "")
    return f"refused {answer.get('status')}\t{details}"


def submit_file(path: Path, url: str, token: str | None, batch: int) -> int:
    """Submit every line; returns how many were refused."""
    lines = read_lines(path)
    failed = 0
    console = Console(stderr=True)
    with (
        GovpubClient(url, token) as client,
        Progress(
            "[progress.description]{task.description}",
            BarColumn(),
            MofNCompleteColumn(),
            TimeRemainingColumn(),
            console=console,
            transient=True,
        ) as progress,
    ):
        task = progress.add_task("submitting", total=len(lines))
        for group in chunks(({"n": n, "v": v} for n, v in lines), batch):
            good = [g for g in group if isinstance(g["v"], dict)]
            answers = iter(client.submit_many([g["v"] for g in good], batch) if good else [])
            for entry in group:
                result = f"refused\t{entry['v']}" if isinstance(entry["v"], str) else describe(next(answers))
                failed += result.startswith("refused")
                click.echo(f"{entry['n']}\t{result}")
            progress.advance(task, len(group))
    console.print(f"{len(lines) - failed} accepted, {failed} refused")
    return failed
