"""The report as Markdown, for a wiki, a merge request or a quick review."""

from __future__ import annotations

from pipeline.report.model import AnnualReport
from pipeline.report.templating import render


def render_md(report: AnnualReport) -> str:
    return render("report.md.j2", r=report)
