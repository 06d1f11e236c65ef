"""The folder of a board or reading room: ``{索引号 key}.pdf`` is what is posted there
(the notice, or the 撤回 notice that replaced it), ``.notices/{key}.json`` what it is
(revision, state, when it was posted or replaced: the weekly bundle reads these).

Both are written atomically (channels.kit.files): a reader (the room's PC, the sandbox's
view, a print job) sees the old file or the new one, never half of one."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from channels.kit.files import write_atomic
from pipeline.errors import PermanentError, TransientError

RECORDS = ".notices"


@dataclass(frozen=True)
class Record:
    key: str
    index_no: str
    title: str
    revision: int
    state: str  # "posted" | "withdrawn"
    history: tuple[tuple[str, int, str], ...]  # (ISO time, revision, state), oldest first

    def as_json(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "index_no": self.index_no,
            "title": self.title,
            "revision": self.revision,
            "state": self.state,
            "history": [list(h) for h in self.history],
        }


def pdf_path(folder: Path, key: str) -> Path:
    return folder / f"{key}.pdf"


def record(folder: Path, key: str) -> Record | None:
    """What the folder holds of ``key``, or None when it never held it."""
    try:
        raw = json.loads((folder / RECORDS / f"{key}.json").read_text("utf-8"))
    except FileNotFoundError:
        return None
    history = tuple((str(at), int(rev), str(state)) for at, rev, state in raw["history"])
    return Record(raw["key"], raw["index_no"], raw["title"], raw["revision"], raw["state"], history)


def records(folder: Path) -> list[Record]:
    found = []
    for path in sorted((folder / RECORDS).glob("*.json")):
        held = record(folder, path.stem)
        if held is not None:
            found.append(held)
    return found


def post(folder: Path, place: str, held: Record | None, new: Record, pdf: bytes, at: datetime) -> Record:
    """Put ``pdf`` up under ``new.key`` and remember it; the same revision and state
    again (a redelivered task) rewrites the file but adds no history."""
    history = held.history if held is not None else ()
    if not history or history[-1][1:] != (new.revision, new.state):
        history += ((at.isoformat(), new.revision, new.state),)
    done = Record(new.key, new.index_no, new.title, new.revision, new.state, history)
    try:
        (folder / RECORDS).mkdir(parents=True, exist_ok=True)
        write_atomic(pdf_path(folder, new.key), pdf)
        data = json.dumps(done.as_json(), ensure_ascii=False, indent=1).encode("utf-8")
        write_atomic(folder / RECORDS / f"{new.key}.json", data)
    except PermissionError as exc:
        raise PermanentError(
            f"cannot write into the folder of {place} ({folder}): {exc}; fix its permissions"
        ) from exc
    except OSError as exc:  # a share that went away, a full disk
        raise TransientError(f"cannot write into the folder of {place} ({folder}): {exc}") from exc
    return done
