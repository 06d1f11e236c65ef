"""Items per month per channel, as a bar chart (PNG for Word, SVG for the web).

Drawn with matplotlib's object API on the Agg canvas: no pyplot, no global backend,
safe in a web worker thread. Chinese labels need a CJK font; the first installed
one of a list of common families is used, and without any the labels fall back to
English rather than printing empty boxes. Output is byte-stable for the same data
(no timestamps, fixed SVG ids), so re-running a report changes no file.
"""

from __future__ import annotations

import io
import threading
from dataclasses import dataclass
from functools import cache
from typing import Any

import matplotlib
from matplotlib import font_manager
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from pipeline.report.layout import channel_label
from pipeline.report.model import AnnualReport

CJK_FAMILIES = (
    "Noto Sans CJK SC",
    "Noto Sans SC",
    "Source Han Sans SC",
    "WenQuanYi Micro Hei",
    "WenQuanYi Zen Hei",
    "Droid Sans Fallback",
    "AR PL UMing CN",
    "SimHei",
    "Microsoft YaHei",
    "PingFang SC",
)
# rc_context changes matplotlib's process-wide settings for the duration of a drawing:
# one drawing at a time, so two report requests never see each other's fonts.
_DRAWING = threading.Lock()


@cache
def cjk_font() -> str | None:
    """The family of an installed font that renders Chinese, or None."""
    installed = {font.name for font in font_manager.fontManager.ttflist}
    return next((family for family in CJK_FAMILIES if family in installed), None)


@dataclass
class Chart:
    png: bytes
    svg: bytes

    def svg_element(self) -> str:
        """The ``<svg>`` element alone, to inline in an HTML page."""
        text = self.svg.decode("utf-8")
        return text[text.index("<svg") :]


def monthly_chart(report: AnnualReport) -> Chart:
    font = cjk_font()
    chinese = font is not None
    rc: Any = {"font.family": [font, "DejaVu Sans"] if font else ["DejaVu Sans"], "svg.hashsalt": "govpub"}
    channels = report.counts.channels
    figure = Figure(figsize=(8, 4), dpi=150, layout="constrained")
    FigureCanvasAgg(figure)
    with _DRAWING, matplotlib.rc_context(rc):
        axes = figure.add_subplot()
        months = list(range(1, 13))
        width = 0.8 / max(len(channels), 1)
        for i, channel in enumerate(channels):
            offsets = [m - 0.4 + width * (i + 0.5) for m in months]
            label = channel_label(channel.kind, channel.channel) if chinese else channel.channel
            axes.bar(offsets, channel.monthly, width=width, label=label)
        axes.set_xticks(months, [f"{m}月" if chinese else str(m) for m in months])
        axes.set_xlim(0.5, 12.5)
        axes.set_ylabel("条" if chinese else "items")
        axes.set_title(
            f"{report.year}年各渠道每月公开信息条数"
            if chinese
            else f"Items per month per channel, {report.year}"
        )
        axes.yaxis.set_major_locator(MaxNLocator(integer=True))
        axes.grid(axis="y", alpha=0.3)
        if channels:
            figure.legend(
                loc="outside lower center", ncols=min(len(channels), 4), fontsize="small", frameon=False
            )
        else:
            axes.text(6.5, 0.5, "无投递" if chinese else "no deliveries", ha="center")
        png, svg = io.BytesIO(), io.BytesIO()
        figure.savefig(png, format="png", metadata={"Software": None})
        figure.savefig(svg, format="svg", metadata={"Date": None, "Creator": None})
    return Chart(png=png.getvalue(), svg=svg.getvalue())
