"""The report in each format, and the files ``govpub report --out DIR`` writes.

Text formats are strings; Word and Excel are bytes. The chart is drawn once and
shared by the HTML page, the Word document and the PNG/SVG files beside them. A file
is written under a temporary name and renamed, so a reader never sees half a report.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from pipeline.files import write_atomic
from pipeline.report.chart import Chart, monthly_chart
from pipeline.report.model import AnnualReport

FORMATS = ("text", "json", "md", "html", "docx", "xlsx")
BINARY = ("docx", "xlsx")
SUFFIX = {"text": "txt", "json": "json", "md": "md", "html": "html", "docx": "docx", "xlsx": "xlsx"}


def render(report: AnnualReport, fmt: str, chart: Chart | None = None) -> bytes:
    if fmt == "json":
        return json.dumps(report.to_json(), ensure_ascii=False, indent=2).encode("utf-8") + b"\n"
    if fmt == "text":
        from pipeline.report.render_text import render_text

        return render_text(report).encode("utf-8")
    if fmt == "md":
        from pipeline.report.render_md import render_md

        return render_md(report).encode("utf-8")
    if fmt == "html":
        from pipeline.report.render_html import render_html

        return render_html(report, chart).encode("utf-8")
    if fmt == "docx":
        from pipeline.report.docx import render_docx

        return render_docx(report, chart)
    if fmt == "xlsx":
        from pipeline.report.xlsx import render_xlsx

        return render_xlsx(report)
    raise ValueError(f"unknown format {fmt!r}; one of {FORMATS}")


def base_name(report: AnnualReport, agency: str | None) -> str:
    return f"report-{report.year}" + (f"-{agency}" if agency else "")


def write_files(
    report: AnnualReport,
    formats: list[str],
    out: Path,
    agency: str | None = None,
    progress: Callable[[str], None] | None = None,
) -> list[Path]:
    """Write each format (and the chart as PNG and SVG) into ``out``; the paths."""
    say = progress or (lambda _: None)
    out.mkdir(parents=True, exist_ok=True)
    base = base_name(report, agency)
    say("drawing the monthly chart")
    chart = monthly_chart(report)
    written = [
        write_atomic(out / f"{base}-chart.png", chart.png),
        write_atomic(out / f"{base}-chart.svg", chart.svg),
    ]
    for fmt in formats:
        say(f"writing {fmt}")
        written.append(write_atomic(out / f"{base}.{SUFFIX[fmt]}", render(report, fmt, chart)))
    return written
