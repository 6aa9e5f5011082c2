"""POPIA screening of free text: South African ID numbers and phone numbers of third parties.

A patrol report is written by a volunteer on a phone, often in a hurry; "the man at no. 12,
ID 8001015009087, cell 082 555 1234" is exactly what POPIA's minimisation principle asks us
not to keep without need. The screening flags such strings *before* the report is stored; the
submitter confirms (the detail is needed) or edits them out.

- An ID number is 13 digits ``YYMMDD SSSS C A Z``: a real calendar date, citizenship digit 0,
  1 or 2, and a valid Luhn check digit. Thirteen random digits pass all three about once in
  about 900 (a valid date: 1 in 27; citizenship: 3 in 10; Luhn: 1 in 10), rare enough that a
  flag is worth a look.
- A phone number is a South African number, ``082 555 0123`` or ``+27 82 555 0123`` (ten
  digits, or +27 and nine), with optional spaces, dots or hyphens between groups.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from enum import StrEnum


class Kind(StrEnum):
    ID_NUMBER = "id_number"
    PHONE_NUMBER = "phone_number"


@dataclass(frozen=True, slots=True)
class Finding:
    kind: Kind
    start: int
    end: int
    masked: str
    """The match with all but its last two digits hidden: enough to find it, not to use it."""


_ID_CANDIDATE = re.compile(r"(?<!\d)\d{6}[ -]?\d{4}[ -]?\d{3}(?!\d)")
_PHONE = re.compile(r"(?<![\d+])(?:\+27|0027|0)[ .-]?\(?[1-8]\d\)?(?:[ .-]?\d){7}(?!\d)")


def luhn_ok(digits: str) -> bool:
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = int(char)
        if position % 2 == 1:
            value *= 2
            if value > 9:
                value -= 9
        total += value
    return total % 10 == 0


def is_sa_id_number(digits: str) -> bool:
    """Whether 13 digits read as a South African ID number: date, citizenship digit, Luhn."""
    if len(digits) != 13 or not digits.isdigit():
        return False
    yy, mm, dd = int(digits[0:2]), int(digits[2:4]), int(digits[4:6])
    # The century is not encoded; the date must exist in one of them (29 February needs a leap year).
    if not any(_valid_date(century + yy, mm, dd) for century in (1900, 2000)):
        return False
    return digits[10] in "012" and luhn_ok(digits)


def _valid_date(year: int, month: int, day: int) -> bool:
    try:
        date(year, month, day)
    except ValueError:
        return False
    return True


def _mask(text: str) -> str:
    digits = [i for i, c in enumerate(text) if c.isdigit()]
    keep = set(digits[-2:])
    return "".join("•" if c.isdigit() and i not in keep else c for i, c in enumerate(text))


def screen(text: str) -> list[Finding]:
    """Every ID number and phone number in `text`, in order of appearance."""
    found: list[Finding] = []
    taken: list[range] = []
    for match in _ID_CANDIDATE.finditer(text):
        digits = re.sub(r"\D", "", match.group())
        if is_sa_id_number(digits):
            found.append(Finding(Kind.ID_NUMBER, match.start(), match.end(), _mask(match.group())))
            taken.append(range(match.start(), match.end()))
    for match in _PHONE.finditer(text):
        if any(match.start() in span for span in taken):
            continue
        found.append(Finding(Kind.PHONE_NUMBER, match.start(), match.end(), _mask(match.group())))
    return sorted(found, key=lambda f: f.start)


def kinds(findings: list[Finding]) -> list[str]:
    """What is stored with a confirmed report: the kinds found, never the values."""
    return sorted({f.kind.value for f in findings})
