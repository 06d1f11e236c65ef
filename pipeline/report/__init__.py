"""The annual report (政府信息公开工作年度报告) from the delivery log.

``build_report`` counts a year in SQL (:mod:`.counts`, :mod:`.timeliness`,
:mod:`.documents`), adds the operator's checked figures (:mod:`.figures`) and
returns an :class:`~.model.AnnualReport`; :mod:`.output` renders it as text, JSON,
Markdown, HTML, Word or Excel. ``govpub report`` and ``GET /v1/reports/{year}`` are
its two doors. The counting rules are written down in docs/report.md.
"""

from pipeline.report.build import build_report, default_figures_path, figures_for
from pipeline.report.figures import Figures, FiguresError, load_figures
from pipeline.report.model import AnnualReport

__all__ = [
    "AnnualReport",
    "Figures",
    "FiguresError",
    "build_report",
    "default_figures_path",
    "figures_for",
    "load_figures",
]
