"""The weekly bundle of a reading room: one PDF of the notices posted (or replaced)
there in an ISO week, oldest first, as they are on the board now (a notice withdrawn
since is in it as its 撤回 notice), written atomically to ``bundles/{week}.pdf`` in the
room's folder."""

from __future__ import annotations

import io
import re
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from channels.kit.files import write_atomic
from channels.notice import boards

WEEK = re.compile(r"^(\d{4})-W(\d{2})$")


def week_bounds(week: str, tz: ZoneInfo) -> tuple[datetime, datetime]:
    """Monday 00:00 and the next Monday 00:00 of ISO week ``2026-W48``, local time."""
    found = WEEK.match(week)
    if found is None:
        raise ValueError(f"week {week!r}: write it as 2026-W48")
    try:
        monday = date.fromisocalendar(int(found[1]), int(found[2]), 1)
    except ValueError as exc:
        raise ValueError(f"week {week!r}: {exc}") from exc
    start = datetime.combine(monday, datetime.min.time(), tz)
    return start, start + timedelta(days=7)


def bundle(folder: Path, week: str, tz: ZoneInfo) -> tuple[Path, list[boards.Record]]:
    """Write the week's bundle; answers its path and the notices in it (none: no file)."""
    from pypdf import PdfWriter

    start, end = week_bounds(week, tz)
    chosen: list[tuple[datetime, boards.Record]] = []
    for held in boards.records(folder):
        times = [datetime.fromisoformat(at).astimezone(tz) for at, _, _ in held.history]
        inside = [t for t in times if start <= t < end]
        if inside and boards.pdf_path(folder, held.key).is_file():
            chosen.append((inside[0], held))
    chosen.sort(key=lambda pair: (pair[0], pair[1].key))
    target = folder / "bundles" / f"{week}.pdf"
    if not chosen:
        return target, []
    writer = PdfWriter()
    for _, held in chosen:
        writer.append(str(boards.pdf_path(folder, held.key)), outline_item=f"{held.index_no} {held.title}")
    writer.add_metadata({"/Title": f"{week} 政府信息公开公告汇编", "/Creator": "govpub"})
    out = io.BytesIO()
    writer.write(out)
    target.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(target, out.getvalue())
    return target, [held for _, held in chosen]
