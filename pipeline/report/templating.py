"""The Jinja2 environment of the report templates (``pipeline/report/templates``).

HTML templates autoescape (item titles and retraction reasons are text typed by
people); the text and Markdown templates do not, and Markdown escapes table cells
itself. ``StrictUndefined`` turns a misspelt name into an error, not a blank.
"""

from __future__ import annotations

import unicodedata
from functools import cache

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from pipeline.report import layout


@cache
def environment() -> Environment:
    env = Environment(
        loader=PackageLoader("pipeline.report", "templates"),
        autoescape=select_autoescape(["html.j2"]),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.globals["layout"] = layout
    env.filters["pad"] = pad
    env.globals["columns"] = columns
    env.filters["md"] = markdown_cell
    return env


def render(template: str, **context: object) -> str:
    return environment().get_template(template).render(**context)


def width(text: str) -> int:
    """Columns a string takes in a terminal: CJK characters take two."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def pad(value: object, size: int, right: bool = False) -> str:
    """``value`` padded to ``size`` terminal columns (right-aligned for numbers)."""
    text = str(value)
    fill = " " * max(size - width(text), 0)
    return fill + text if right else text + fill


def markdown_cell(value: object) -> str:
    """Text safe inside a Markdown table cell: no pipes, no line breaks, no markup."""
    text = str(value).replace("\\", "\\\\").replace("|", "\\|")
    for ch in "*_`[]<>#":
        text = text.replace(ch, "\\" + ch)
    return " ".join(text.split())


def columns(rows: list[list[object]], indent: int = 4) -> str:
    """Rows as aligned text columns: the first left-aligned, the others (numbers) right."""
    if not rows:
        return ""
    count = max(len(row) for row in rows)
    widths = [max((width(str(row[i])) for row in rows if i < len(row)), default=0) for i in range(count)]
    lines = []
    for row in rows:
        cells = [pad(cell, widths[i] + (0 if i == 0 else 2), right=i > 0) for i, cell in enumerate(row)]
        lines.append((" " * indent + "".join(cells)).rstrip())
    return "\n".join(lines)
