"""How the checks read a revision: one joined text, each hit named by its piece and
line as ``str.splitlines`` counts lines; the digit-first number expression finds what the
lookbehind-first one did; overlapping lexicon hits are all found; an attachment is read
once per content."""

from __future__ import annotations

import base64
import re
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from pipeline.checks import extract, lexicon, personal
from pipeline.checks.extract import Corpus, Piece
from pipeline.errors import ConfigError
from pipeline.model import Attachment

# the expression before it started with a digit: the reference for what is found
LOOKBEHIND_FIRST = re.compile(r"(?<![0-9A-Za-z])(\d{11,19}[Xx]?)(?![0-9A-Za-z])")
TEXT = st.text(alphabet="0123456789Xx a，\n\r\x0c\u2028９张", max_size=80)


@given(TEXT)
def test_numbers_are_found_as_by_the_lookbehind_first_expression(text: str) -> None:
    found = [(m.start(), m.group()) for m in personal.NUMBER.finditer(text)]
    assert found == [(m.start(), m.group(1)) for m in LOOKBEHIND_FIRST.finditer(text)]


@given(st.lists(TEXT, min_size=1, max_size=4))
def test_a_line_is_numbered_as_splitlines_numbers_it(texts: list[str]) -> None:
    joined = Corpus([Piece("title", "标题"), *(Piece(f"p{n}", t, lined=True) for n, t in enumerate(texts))])
    for n, text in enumerate(texts, 1):
        position = joined.starts[n]
        for number, line in enumerate(text.splitlines(keepends=True), 1):
            for i in range(len(line.splitlines()[0])):  # each character of the line, not its break
                assert joined.locate(position + i) == (n, f"p{n - 1} line {number}")
            position += len(line)


def test_overlapping_hits_are_all_found_and_named_by_line(tmp_path: Path) -> None:
    path = tmp_path / "l.toml"
    path.write_text(
        '[[entry]]\nwrong = "两岸三地"\nright = "海峡两岸和香港、澳门"\n'
        '[[entry]]\nwrong = "三地"\nright = "x"\nseverity = "warn"\n',
        encoding="utf-8",
    )
    text = [Piece("title", "无"), Piece("body", "第一行\n\n两岸三地交流", lined=True)]
    found = [(f.where, f.found, f.severity) for f in lexicon.check(text, [lexicon.load(path)])]
    assert found == [("body line 3", "两岸三地", "hold"), ("body line 3", "三地", "warn")]


def test_a_wrong_form_with_a_line_break_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "l.toml"
    path.write_text('[[entry]]\nwrong = "两岸\\n三地"\n', encoding="utf-8")
    try:
        lexicon.load(path)
    except ConfigError as exc:
        assert "entry 1" in str(exc) and "line break" in str(exc)
    else:
        raise AssertionError("a wrong form over two lines was accepted")


def test_an_attachment_is_read_once_per_content() -> None:
    data = base64.b64encode("电话 13812345678\n第二行".encode()).decode()
    first = Attachment(name="a.txt", media_type="text/plain", content_base64=data)
    again = Attachment(name="a.txt", media_type="text/plain", content_base64=data)
    assert extract.attachment_pieces(first) is extract.attachment_pieces(again)
    found = [(f.where, f.found) for f in personal.check(extract.attachment_pieces(first))]
    assert found == [("attachment a.txt line 1", "手机号码 138****5678")]
