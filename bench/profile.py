"""``--profile``: where a worker's wall time goes, sampled by py-spy.

py-spy attaches to running processes from outside (no code change) and, with
``--nonblocking``, reads their stacks without pausing them. Sampling still costs
CPU on a small machine, so section 1 measures its figure in a run of its own and
samples a second run. Idle samples are kept: a worker waiting on PostgreSQL or
Redis is the point.
"""

from __future__ import annotations

import shutil
import signal
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

# What a sample is doing: the first kind any of its frames matches.
KINDS: list[tuple[str, tuple[str, ...]]] = [
    ("PostgreSQL: commit", ("_commit_impl (sqlalchemy",)),
    ("PostgreSQL: statements", ("psycopg/", "sqlalchemy/")),
    ("Redis / broker", ("redis/", "kombu/")),
    ("channel call", ("(channels/",)),
]


# Frames every sample passes through: the command line, the task, the runner's entry.
OUTER_FRAMES = ("(pipeline/cli/", "(pipeline/queue.py", "run_delivery (")


@contextmanager
def sampled(pids: list[int], folder: Path | None, name: str) -> Iterator[None]:
    """Record ``pids`` (and their pool children) while the block runs."""
    if folder is None:
        yield
        return
    spy = shutil.which("py-spy", path=str(Path(sys.executable).parent)) or shutil.which("py-spy")
    if spy is None:
        raise SystemExit("--profile needs py-spy: pip install py-spy")
    folder.mkdir(parents=True, exist_ok=True)
    sampling = ["--subprocesses", "--idle", "--nonblocking", "--rate", "250", "--format", "raw"]
    recorders = [
        subprocess.Popen(
            [spy, "record", "--pid", str(pid), *sampling, "--output", str(folder / f"{name}-{pid}.txt")],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for pid in pids
    ]
    try:
        yield
    finally:
        for recorder in recorders:
            recorder.send_signal(signal.SIGINT)  # py-spy writes its file on SIGINT
        for recorder in recorders:
            recorder.wait(60)


def busy_stacks(folder: Path, name: str) -> Counter[str]:
    """Collapsed stacks of the pool processes at work (the parent's idle event loop
    and a child waiting for its next task are left out: they are not a delivery)."""
    stacks: Counter[str] = Counter()
    for path in folder.glob(f"{name}-*.txt"):
        for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
            stack, _, count = line.rpartition(" ")
            if "run_delivery (pipeline/runner.py" in stack or "deliver (pipeline/queue.py" in stack:
                stacks[stack] += int(count)
    return stacks


def breakdown(stacks: Counter[str]) -> list[tuple[str, float]]:
    """Share of a delivery's wall time by kind of work, largest first."""
    total = sum(stacks.values())
    if not total:
        return []
    kinds: Counter[str] = Counter()
    for stack, count in stacks.items():
        kinds[_kind(stack)] += count
    return [(kind, 100.0 * n / total) for kind, n in kinds.most_common()]


def top_pipeline_frames(stacks: Counter[str], limit: int = 8) -> list[tuple[str, float]]:
    """govpub functions by inclusive share of a delivery's wall time."""
    total = sum(stacks.values())
    inclusive: Counter[str] = Counter()
    for stack, count in stacks.items():
        for frame in set(stack.split(";")):
            if "(pipeline/" in frame and not any(mark in frame for mark in OUTER_FRAMES):
                inclusive[frame.split(" (")[0] + " " + frame.split("(")[-1].split(":")[0]] += count
    return [(f, 100.0 * n / total) for f, n in inclusive.most_common(limit)] if total else []


def _kind(stack: str) -> str:
    for kind, marks in KINDS:
        if any(mark in stack for mark in marks):
            return kind
    return "govpub's own code (validation, logging, metrics)"
