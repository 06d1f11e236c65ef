"""The report as plain text: what ``govpub report`` prints on a terminal."""

from __future__ import annotations

from pipeline.report.model import AnnualReport
from pipeline.report.templating import render


def render_text(report: AnnualReport) -> str:
    return render("report.txt.j2", r=report)
