"""The report as one self-contained HTML page for the website's disclosure column:
the form's tables with their merged heads, and the monthly chart inlined as SVG."""

from __future__ import annotations

from markupsafe import Markup

from pipeline.report.chart import Chart, monthly_chart
from pipeline.report.model import AnnualReport
from pipeline.report.templating import render


def render_html(report: AnnualReport, chart: Chart | None = None) -> str:
    chart = chart or monthly_chart(report)
    # The SVG is matplotlib's own drawing (labels are escaped by it), not user HTML.
    return render("report.html.j2", r=report, chart=Markup(chart.svg_element()), chart_warning=chart.warning)
