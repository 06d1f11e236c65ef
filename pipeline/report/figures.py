"""The operator's figures: what the delivery log cannot know.

Applications (table 三), administrative reviews and lawsuits (table 四), permits,
penalties, enforcement and fees (table 二) come from other systems, so the operator
types them into a TOML file (``govpub report --figures-template`` prints a blank
one). The file is checked before anything is rendered, and every problem is named
with the form's own row and column labels: counts are non-negative integers, a
given 总计 must be the sum of its parts, and table 三 must balance, column by
column: 一 + 二 = 三（七） + 四.
"""

from __future__ import annotations

import tomllib
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, create_model

from pipeline.errors import ConfigError
from pipeline.report import labels as L
from pipeline.report.scope import FIRST_YEAR, LAST_YEAR

Count = Annotated[int, Field(strict=True, ge=0)]
Row = Annotated[list[Count], Field(min_length=6, max_length=7)]
COLUMNS = [label for _, label in L.TABLE3_COLUMNS] + [L.TABLE3_TOTAL_COLUMN]
ZERO_ROW = [0] * 6


class FiguresError(ConfigError):
    """The figures file cannot be used; ``problems`` lists every reason at once."""

    def __init__(self, path: str, problems: list[str]) -> None:
        Exception.__init__(self, f"figures file {path} refused:\n" + "\n".join(f"  - {p}" for p in problems))
        self.key, self.value, self.valid = f"figures file {path}", path, "; ".join(problems)
        self.problems = problems


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


def _rows(name: str, keys: list[str]) -> Any:
    fields: Any = {key: (Row, list(ZERO_ROW)) for key in keys}
    return create_model(name, __base__=_Strict, **fields)


_GROUPS = {
    key: _rows(f"Table3_{key}", [k for k, _ in reasons])
    for key, _, reasons in L.TABLE3_RESULT_ROWS
    if reasons
}
_SINGLE_ROWS = [L.TABLE3_NEW[0], L.TABLE3_CARRIED_OVER[0], L.TABLE3_CARRIED_FORWARD[0]] + [
    key for key, _, reasons in L.TABLE3_RESULT_ROWS if not reasons
]
_t3_fields: Any = {key: (Row, list(ZERO_ROW)) for key in _SINGLE_ROWS}
_t3_fields |= {key: (model, model()) for key, model in _GROUPS.items()}
_t3_fields[L.TABLE3_RESULT_TOTAL[0]] = (Row | None, None)
Table3 = create_model("Table3", __base__=_Strict, **_t3_fields)


class Table4Block(_Strict):
    upheld: Count = 0
    corrected: Count = 0
    other: Count = 0
    pending: Count = 0
    total: Count | None = None

    def numbers(self) -> list[int]:
        parts = [self.upheld, self.corrected, self.other, self.pending]
        return [*parts, sum(parts)]


class Table4(_Strict):
    review: Table4Block = Field(default_factory=Table4Block)
    litigation_direct: Table4Block = Field(default_factory=Table4Block)
    litigation_after_review: Table4Block = Field(default_factory=Table4Block)


class LastYear(_Strict):
    """现行有效件数 as published in last year's report (checks this year's figure)."""

    rules: Count | None = None
    normative: Count | None = None


class Table2(_Strict):
    licensing: Count = 0
    penalty: Count = 0
    enforcement: Count = 0
    fees: Annotated[Decimal, Field(ge=0, max_digits=14, decimal_places=4)] = Decimal(0)
    last_year_in_force: LastYear = Field(default_factory=LastYear)


class Texts(_Strict):
    agency: str | None = Field(default=None, max_length=100)
    overview: str = ""
    problems: str = ""
    other: str = ""


class Figures(_Strict):
    year: int = Field(ge=FIRST_YEAR, le=LAST_YEAR)
    report: Texts = Field(default_factory=Texts)
    table2: Table2 = Field(default_factory=Table2)
    table3: Table3 = Field(default_factory=Table3)
    table4: Table4 = Field(default_factory=Table4)

    @classmethod
    def empty(cls, year: int) -> Figures:
        return cls(year=year)


# -- reading -----------------------------------------------------------------------
def load_figures(path: Path, year: int) -> Figures:
    """Read and check a figures file; :class:`FiguresError` names every problem."""
    try:
        data = tomllib.loads(path.read_text("utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise FiguresError(str(path), [f"cannot read it as UTF-8 TOML: {exc}"]) from exc
    return parse_figures(data, year, str(path))


def parse_figures(data: dict[str, Any], year: int, where: str = "figures") -> Figures:
    try:
        figures = Figures.model_validate(data)
    except ValidationError as exc:
        raise FiguresError(where, [_describe(e) for e in exc.errors()]) from exc
    problems = check(figures)
    if figures.year != year:
        problems.insert(0, f"year = {figures.year}, but the report is for {year}")
    if problems:
        raise FiguresError(where, problems)
    return figures


def _describe(error: Any) -> str:
    loc = [str(p) for p in error["loc"]]
    return f"{place(loc)}: {error['msg']} (given {error.get('input')!r})"


def place(loc: list[str]) -> str:
    """A key path as the form names it: ``table3.refused.state_secret.1`` →
    ``table 三 （三）不予公开 1.属于国家秘密, column 商业企业``."""
    if not loc or loc[0] not in ("table3", "table4"):
        return ".".join(loc)
    names = ROW_LABELS if loc[0] == "table3" else TABLE4_LABELS
    words = [f"table {'三' if loc[0] == 'table3' else '四'}"]
    column = None
    for part in loc[1:]:
        if part.isdigit() and loc[0] == "table3":
            index = int(part)
            column = COLUMNS[index] if index < len(COLUMNS) else part
        else:
            words.append(names.get(part, part))
    return " ".join(words) + (f", column {column}" if column else "") + f" ({'.'.join(loc)})"


ROW_LABELS: dict[str, str] = {
    key: label
    for key, label in [L.TABLE3_NEW, L.TABLE3_CARRIED_OVER, L.TABLE3_CARRIED_FORWARD, L.TABLE3_RESULT_TOTAL]
}
for _key, _label, _reasons in L.TABLE3_RESULT_ROWS:
    ROW_LABELS[_key] = _label
    ROW_LABELS.update({k: label for k, label in _reasons})
TABLE4_LABELS = {**dict(L.TABLE4_BLOCKS), **dict(L.TABLE4_COLUMNS), "total": L.TABLE4_TOTAL_COLUMN}


# -- checks ------------------------------------------------------------------------
def full_row(row: list[int]) -> list[int]:
    """Six applicant columns plus their 总计."""
    return [*row[:6], sum(row[:6])]


def result_rows(t3: Any) -> list[list[int]]:
    """（一）…（六）, each group the sum of its reasons, as full rows."""
    rows = []
    for key, _, reasons in L.TABLE3_RESULT_ROWS:
        value = getattr(t3, key)
        if reasons:
            parts = [full_row(getattr(value, k)) for k, _ in reasons]
            rows.append([sum(col) for col in zip(*parts, strict=True)])
        else:
            rows.append(full_row(value))
    return rows


def results_total(t3: Any) -> list[int]:
    return [sum(col) for col in zip(*result_rows(t3), strict=True)]


def check(figures: Figures) -> list[str]:
    problems = []
    t3: Any = figures.table3
    for path, row in _every_row(t3):
        if len(row) == 7 and row[6] != sum(row[:6]):
            problems.append(
                f"{place(['table3', *path, '6'])}: 总计 {row[6]} is not the sum of the six columns, "
                f"{sum(row[:6])}"
            )
    computed = results_total(t3)
    given = getattr(t3, L.TABLE3_RESULT_TOTAL[0])
    if given is not None:
        for i, (g, c) in enumerate(zip(full_row(given), computed, strict=True)):
            if g != c:
                problems.append(
                    f"{place(['table3', 'total', str(i)])}: given {g}, rows （一）–（六） add up to {c}"
                )
    new, old, forward = (full_row(getattr(t3, k)) for k in ("new", "carried_over", "carried_forward"))
    for i, column in enumerate(COLUMNS):
        left, right = new[i] + old[i], computed[i] + forward[i]
        if left != right:
            problems.append(
                f"table 三 column {column}: 一、本年新收 + 二、上年结转 = {new[i]} + {old[i]} = {left}, "
                f"but 三（七）总计 + 四、结转下年度继续办理 = {computed[i]} + {forward[i]} = {right} "
                "(一 + 二 must equal 三（七） + 四)"
            )
    for key, label in L.TABLE4_BLOCKS:
        block = getattr(figures.table4, key)
        if block.total is not None and block.total != block.numbers()[4]:
            problems.append(
                f"table 四 {label} 总计: given {block.total}, "
                f"维持 + 纠正 + 其他 + 尚未审结 = {block.numbers()[4]}"
            )
    return problems


def _every_row(t3: Any) -> list[tuple[list[str], list[int]]]:
    rows: list[tuple[list[str], list[int]]] = [([key], getattr(t3, key)) for key in _SINGLE_ROWS]
    for key, model in _GROUPS.items():
        group = getattr(t3, key)
        rows += [([key, k], getattr(group, k)) for k in model.model_fields]
    total = getattr(t3, L.TABLE3_RESULT_TOTAL[0])
    if total is not None:
        rows.append(([L.TABLE3_RESULT_TOTAL[0]], total))
    return rows


# -- the form, row by row (for every renderer) -------------------------------------
def table3_lines(figures: Figures) -> list[tuple[str, int, list[int] | None]]:
    """(label, indent level, seven numbers or None for a heading) in the form's order."""
    t3: Any = figures.table3
    lines: list[tuple[str, int, list[int] | None]] = [
        (L.TABLE3_NEW[1], 0, full_row(t3.new)),
        (L.TABLE3_CARRIED_OVER[1], 0, full_row(t3.carried_over)),
        (L.TABLE3_RESULTS, 0, None),
    ]
    for key, label, reasons in L.TABLE3_RESULT_ROWS:
        value = getattr(t3, key)
        if not reasons:
            lines.append((label, 1, full_row(value)))
            continue
        lines.append((label, 1, None))
        lines += [(reason, 2, full_row(getattr(value, k))) for k, reason in reasons]
    lines.append((L.TABLE3_RESULT_TOTAL[1], 1, results_total(t3)))
    lines.append((L.TABLE3_CARRIED_FORWARD[1], 0, full_row(t3.carried_forward)))
    return lines


def table4_numbers(figures: Figures) -> list[int]:
    """The fifteen numbers of table 四, block by block."""
    return [n for key, _ in L.TABLE4_BLOCKS for n in getattr(figures.table4, key).numbers()]


TEMPLATE = Path(__file__).with_name("figures_template.toml")
