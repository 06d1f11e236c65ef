"""The annual report's chart needs a font that renders Chinese. Where none is found the
report says so (on the CLI's stderr, in the text report, under the chart in the HTML
page and the Word document) instead of quietly drawing English labels; where the
report runs (``./run check``'s set-up here, the Docker image) one is installed."""

from __future__ import annotations

import io
import os
from collections.abc import Iterator
from pathlib import Path

import matplotlib
import pytest
from click.testing import CliRunner, Result
from docx import Document
from matplotlib import font_manager

from pipeline.cli.main import main
from pipeline.db import make_engine
from pipeline.report.chart import CJK_FAMILIES, NO_CJK_FONT, NO_CJK_FONT_ZH, cjk_font
from pipeline.schema import upgrade
from tests.helpers import TEST_AGENCY, TEST_AGENCY_NAME, register_agencies
from tests.pipeline.report_support import AGENCY, KnownYear, LogWriter

BUNDLED = os.path.join(matplotlib.get_data_path(), "fonts")


def only_bundled_fonts(monkeypatch: pytest.MonkeyPatch) -> None:
    """matplotlib's font list cut down to the fonts matplotlib ships (DejaVu and the
    like, none of them Chinese), as it is when it was first used before a CJK font was
    installed."""
    manager = font_manager.fontManager
    monkeypatch.setattr(manager, "ttflist", [f for f in manager.ttflist if f.fname.startswith(BUNDLED)])
    cjk_font.cache_clear()


@pytest.fixture
def no_cjk_font(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """No CJK font anywhere: neither in matplotlib's list nor in the system's folders."""
    only_bundled_fonts(monkeypatch)
    monkeypatch.setattr(font_manager, "findSystemFonts", lambda *args, **kw: [])
    yield
    cjk_font.cache_clear()


@pytest.fixture
def installation(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """A database holding the known year 2017; the environment that points govpub at it."""
    monkeypatch.chdir(tmp_path)
    url = f"sqlite:///{tmp_path / 'govpub.db'}"
    engine = make_engine(url)
    upgrade(engine)
    register_agencies(engine, {TEST_AGENCY: TEST_AGENCY_NAME})
    KnownYear(LogWriter(engine))
    engine.dispose()
    (tmp_path / "govpub.toml").write_text('[channels.site]\nkind = "website"\n', "utf-8")
    return {"GOVPUB_CONFIG": str(tmp_path / "govpub.toml"), "GOVPUB_DATABASE_URL": url}


def report(env: dict[str, str], *args: str) -> Result:
    result = CliRunner().invoke(main, ["report", "--year", "2017", "--agency", AGENCY, *args], env=env)
    assert result.exit_code == 0, result.output
    return result


def test_without_a_cjk_font_every_output_of_the_report_warns(
    no_cjk_font: None, installation: dict[str, str], tmp_path: Path
) -> None:
    assert cjk_font() is None
    text = report(installation, "--format", "text")
    assert f"warning: {NO_CJK_FONT}" in text.stderr
    assert "注意（不属于报告正文）" in text.stdout and NO_CJK_FONT in text.stdout

    files = report(installation, "--out", "out")
    assert f"warning: {NO_CJK_FONT}" in files.stderr
    out = tmp_path / "out"
    base = f"report-2017-{AGENCY}"
    assert NO_CJK_FONT in (out / f"{base}.txt").read_text("utf-8")
    html = (out / f"{base}.html").read_text("utf-8")
    assert f'<p class="warning" role="alert">{NO_CJK_FONT_ZH}</p>' in html
    word = Document(io.BytesIO((out / f"{base}.docx").read_bytes()))
    assert NO_CJK_FONT_ZH in [p.text for p in word.paragraphs]
    assert "Items per month per channel, 2017" in (out / f"{base}-chart.svg").read_text("utf-8")


def test_a_font_installed_after_matplotlib_listed_the_fonts_is_found(monkeypatch: pytest.MonkeyPatch) -> None:
    only_bundled_fonts(monkeypatch)
    try:
        assert cjk_font() in CJK_FAMILIES, "the system's fonts are looked through when the list has none"
    finally:
        cjk_font.cache_clear()


def test_where_a_cjk_font_is_installed_the_chart_is_chinese_and_nothing_warns(
    installation: dict[str, str], tmp_path: Path
) -> None:
    assert cjk_font() in CJK_FAMILIES, "./run check installs fonts-noto-cjk (scripts/packages.sh)"
    files = report(installation, "--out", "out")
    assert NO_CJK_FONT not in files.stderr and NO_CJK_FONT not in files.stdout
    html = (tmp_path / "out" / f"report-2017-{AGENCY}.html").read_text("utf-8")
    assert NO_CJK_FONT_ZH not in html and 'class="warning"' not in html
    assert "Items per month" not in (tmp_path / "out" / f"report-2017-{AGENCY}-chart.svg").read_text("utf-8")
