"""The operator's figures file: checked before anything is rendered, every problem
named with the form's own row and column."""

from __future__ import annotations

import copy
import tomllib
from pathlib import Path
from typing import Any

import pytest

from pipeline.report.command import figures_template
from pipeline.report.figures import FiguresError, load_figures, parse_figures, table3_lines, table4_numbers

BALANCED: dict[str, Any] = {
    "year": 2017,
    "report": {"problems": "申请答复时限偏紧。"},
    "table2": {"licensing": 12, "penalty": 3, "enforcement": 0, "fees": 1.25},
    "table3": {
        # 自然人, 商业企业, 科研机构, 社会公益组织, 法律服务机构, 其他 [, 总计]
        "new": [10, 2, 0, 0, 0, 1, 13],
        "carried_over": [1, 0, 0, 0, 0, 0],
        "disclosed": [6, 1, 0, 0, 0, 0],
        "refused": {"state_secret": [1, 0, 0, 0, 0, 0]},
        "unable": {"not_held": [2, 0, 0, 0, 0, 0]},
        "total": [9, 1, 0, 0, 0, 0, 10],
        "carried_forward": [2, 1, 0, 0, 0, 1],
    },
    "table4": {"review": {"upheld": 1, "corrected": 1, "total": 2}, "litigation_direct": {"pending": 1}},
}


def refused(data: dict[str, Any]) -> list[str]:
    with pytest.raises(FiguresError) as caught:
        parse_figures(data, 2017)
    return caught.value.problems


def changed(path: str, value: Any) -> dict[str, Any]:
    data = copy.deepcopy(BALANCED)
    *parents, last = path.split(".")
    target = data
    for key in parents:
        target = target.setdefault(key, {})
    target[last] = value
    return data


def test_a_balanced_file_is_read_with_its_totals() -> None:
    figures = parse_figures(BALANCED, 2017)
    lines = {label: numbers for label, _, numbers in table3_lines(figures)}
    assert lines["一、本年新收政府信息公开申请数量"] == [10, 2, 0, 0, 0, 1, 13]
    assert lines["（七）总计"] == [9, 1, 0, 0, 0, 0, 10]
    assert lines["（三）不予公开"] is None and lines["1.属于国家秘密"] == [1, 0, 0, 0, 0, 0, 1]
    assert table4_numbers(figures)[:5] == [1, 1, 0, 0, 2]
    assert table4_numbers(figures)[5:10] == [0, 0, 0, 1, 1]
    assert str(figures.table2.fees) == "1.25"


def test_the_template_is_a_valid_empty_year(tmp_path: Path) -> None:
    path = tmp_path / "figures.toml"
    path.write_text(figures_template(2023), encoding="utf-8")
    figures = load_figures(path, 2023)
    assert all(n == 0 for _, _, numbers in table3_lines(figures) if numbers for n in numbers)
    assert tomllib.loads(path.read_text("utf-8"))["year"] == 2023


def test_a_file_that_breaks_the_table_three_identity_is_refused_with_the_row_named() -> None:
    problem, total_column = refused(changed("table3.carried_forward", [1, 1, 0, 0, 0, 1]))
    assert total_column.startswith("table 三 column 总计")
    assert "table 三 column 自然人" in problem
    assert "一、本年新收 + 二、上年结转 = 10 + 1 = 11" in problem
    assert "三（七）总计 + 四、结转下年度继续办理 = 9 + 1 = 10" in problem


def test_a_wrong_results_total_names_its_row_and_column() -> None:
    problems = refused(changed("table3.total", [9, 2, 0, 0, 0, 0]))
    assert any("（七）总计, column 商业企业" in p and "given 2" in p and "add up to 1" in p for p in problems)


def test_a_row_total_that_is_not_the_sum_is_named() -> None:
    (problem,) = refused(changed("table3.new", [10, 2, 0, 0, 0, 1, 12]))
    assert "一、本年新收政府信息公开申请数量, column 总计" in problem and "13" in problem


@pytest.mark.parametrize(
    ("path", "value", "words"),
    [
        (
            "table3.refused",
            {"state_secret": [-1, 0, 0, 0, 0, 0]},
            "（三）不予公开 1.属于国家秘密, column 自然人",
        ),
        ("table3.disclosed", [6, 1.5, 0, 0, 0, 0], "（一）予以公开, column 商业企业"),
        ("table3.disclosed", [6, True, 0, 0, 0, 0], "（一）予以公开, column 商业企业"),
        ("table3.disclosed", [6, 1, 0], "（一）予以公开"),
        ("table3.refused", {"state_secrets": [0, 0, 0, 0, 0, 0]}, "state_secrets"),
        ("table4.review", {"upheld": -2}, "行政复议"),
        ("table2.licensing", -1, "table2.licensing"),
        ("table2.fees", -0.5, "table2.fees"),
    ],
)
def test_wrong_values_are_refused_where_they_are(path: str, value: Any, words: str) -> None:
    problems = refused(changed(path, value))
    assert any(words in p for p in problems), problems


def test_a_table_four_total_is_checked() -> None:
    (problem,) = refused(changed("table4.review", {"upheld": 1, "corrected": 1, "total": 3}))
    assert "table 四 行政复议 总计: given 3" in problem


def test_last_years_file_is_not_taken_for_this_year() -> None:
    problems = refused(changed("year", 2016))
    assert problems[0] == "year = 2016, but the report is for 2017"


def test_unreadable_files_say_so(tmp_path: Path) -> None:
    path = tmp_path / "broken.toml"
    path.write_text("year = \n", encoding="utf-8")
    with pytest.raises(FiguresError, match="TOML"):
        load_figures(path, 2017)
