"""Items per month per channel, as a bar chart (PNG for Word, SVG for the web).

Drawn with matplotlib's object API on the Agg canvas: no pyplot, no global backend,
safe in a web worker thread. Chinese labels need a CJK font; the first installed
one of a list of common families is used, and without any the labels fall back to
English rather than printing empty boxes, and the report says so (``font_warning``:
in its warnings, so on the CLI's stderr and in the text, and under the chart in the
HTML page and the Word document). ``./run check`` and the Docker image install
Debian's fonts-noto-cjk. Output is byte-stable for the same data (no timestamps, fixed
SVG ids), so re-running a report changes no file.
"""

from __future__ import annotations

import contextlib
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
NO_CJK_FONT = (
    "no font that renders Chinese is installed: the chart's title, months and channel names "
    "are in English (install one, e.g. Debian's fonts-noto-cjk, and run the report again)"
)
NO_CJK_FONT_ZH = (
    "注意：本机未安装中文字体，图表中的文字为英文。请安装中文字体（如 fonts-noto-cjk）后重新生成报告。"
)
# rc_context changes matplotlib's process-wide settings for the duration of a drawing:
# one drawing at a time, so two report requests never see each other's fonts.
_DRAWING = threading.Lock()
_SCANNING = threading.Lock()


@cache
def cjk_font() -> str | None:
    """The family of an installed font that renders Chinese, or None.

    matplotlib lists the system's fonts once and caches the list on disk, so a font
    installed after its first use is not in it: when the list has none, the system's
    font folders are looked through once for fonts the list lacks."""
    found = _first_cjk()
    if found is None:
        with _SCANNING:
            _add_new_system_fonts()
        found = _first_cjk()
    return found


def _first_cjk() -> str | None:
    installed = {font.name for font in font_manager.fontManager.ttflist}
    return next((family for family in CJK_FAMILIES if family in installed), None)


def _add_new_system_fonts() -> None:
    manager = font_manager.fontManager
    known = {font.fname for font in manager.ttflist}
    for path in font_manager.findSystemFonts():
        if path not in known:
            with contextlib.suppress(OSError, RuntimeError, ValueError):  # a font it cannot read
                manager.addfont(path)


def font_warning() -> str | None:
    """What the report must say when its chart cannot be drawn in Chinese."""
    return None if cjk_font() else NO_CJK_FONT


@dataclass
class Chart:
    png: bytes
    svg: bytes
    warning: str | None = None  # in Chinese, for under the chart: drawn without a CJK font

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
            label = channel_label(channel) if chinese else channel.channel
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
    return Chart(png=png.getvalue(), svg=svg.getvalue(), warning=None if chinese else NO_CJK_FONT_ZH)
