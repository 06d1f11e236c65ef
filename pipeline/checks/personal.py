"""Personal information published without de-identification (an inspection veto).

- 居民身份证号: 18 characters, a valid birth date, and the GB 11643-1999 check
  character (ISO 7064 MOD 11-2);
- mainland mobile numbers: ``1[3-9]`` and nine digits, not inside a longer number;
- bank card numbers: 16 to 19 digits passing the Luhn check;
- a name next to such a number in a table row (the row is named in the finding).

Each finding suggests the de-identified form (``3703**********1234``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from datetime import date

from pipeline.checks.extract import Corpus, Piece, corpus
from pipeline.checks.findings import Finding, Severity

# One pass over all the text for every kind of number; each run is then classified.
# 11 to 19 digits (and an X), with no letter or ASCII digit on either side. It starts
# with a digit, so the engine skips to the next digit in C instead of trying the
# lookbehind at every character (``(?<![0-9A-Za-z])\d{11,19}`` finds the same, slower).
NUMBER = re.compile(r"\d(?<![0-9A-Za-z]\d)\d{10,18}[Xx]?(?![0-9A-Za-z])")
MOBILE = re.compile(r"1[3-9]\d{9}")
NAME = re.compile(r"^[\u4e00-\u9fff·]{2,4}$")
WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
CHECK_CHARS = "10X98765432"


def id_number_valid(number: str) -> bool:
    """GB 11643-1999: a real birth date and the MOD 11-2 check character."""
    if not re.fullmatch(r"\d{17}[\dXx]", number):
        return False
    try:
        born = date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:
        return False
    if born.year < 1900 or born > date.today():
        return False
    total = sum(int(d) * w for d, w in zip(number[:17], WEIGHTS, strict=True))
    return CHECK_CHARS[total % 11] == number[17].upper()


def luhn_valid(number: str) -> bool:
    total = 0
    for position, char in enumerate(reversed(number)):
        digit = int(char)
        if position % 2:
            digit = digit * 2 - 9 if digit > 4 else digit * 2
        total += digit
    return total % 10 == 0


def masked(number: str, head: int, tail: int = 4) -> str:
    return number[:head] + "*" * (len(number) - head - tail) + number[-tail:]


def kind_of(number: str) -> tuple[str, str] | None:
    """(what it is, its de-identified form), or None for a number of no kind."""
    if len(number) == 18 and id_number_valid(number):
        return "居民身份证号", masked(number, 4)
    if len(number) == 11 and MOBILE.fullmatch(number):
        return "手机号码", masked(number, 3)
    if 16 <= len(number) <= 19 and number.isdigit() and luhn_valid(number):
        return "银行卡号", masked(number, 4)
    return None


def check(texts: Corpus | Iterable[Piece], severity: Severity = "hold") -> Iterator[Finding]:
    """One regular-expression pass over the whole text (a 2 MB body is one scan, not
    one per line); each number found is named with its piece and line, once there."""
    joined = corpus(texts)
    seen: set[tuple[int, str, str]] = set()
    named: set[int] = set()
    for match in NUMBER.finditer(joined.text):
        number = match.group()
        found = kind_of(number)
        if found is None:
            continue
        index, where = joined.locate(match.start())
        if (index, where, number) in seen:
            continue
        seen.add((index, where, number))
        piece, (what, shown) = joined.pieces[index], found
        yield Finding("personal", severity, where, f"{what} {shown}", shown, f"{what}须去标识化后公开")
        if piece.row and index not in named:
            named.add(index)
            for name in (v.strip() for v in piece.row if NAME.match(v.strip())):
                masked_name = name[0] + "*" * (len(name) - 1)
                note = "同行姓名与号码一并公开即可识别个人"
                yield Finding("personal", severity, where, f"姓名 {name} 与号码同行", masked_name, note)
