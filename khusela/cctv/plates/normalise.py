"""Turn what OCR read off a plate into South African plate text.

OCR returns noise around the characters (spaces, dashes, dots, the odd lower-case letter)
and confuses letters with digits that look alike. `normalise` strips the noise, then tries
each South African format as a template of letter and digit slots; a read that fits a
template only after swapping look-alikes (``0``→``O`` in a letter slot, ``B``→``8`` in a
digit slot) is corrected, because the format says which one it must be. Text that fits no
South African format (foreign plates, half a plate) is kept as it was read, so it can still
be compared by its canonical text.

`Plate.canonical` (no spaces) is what matching and storage use; `Plate.display` is how an
operator expects to see it written.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import cache

UNKNOWN = "unknown"

# Province suffixes on current plates; "KZN" and "ZN" both appear on KwaZulu-Natal plates.
PROVINCE_SUFFIXES: dict[str, str] = {
    "GP": "gauteng",
    "MP": "mpumalanga",
    "L": "limpopo",
    "NW": "north_west",
    "NC": "northern_cape",
    "EC": "eastern_cape",
    "FS": "free_state",
    "ZN": "kwazulu_natal",
    "KZN": "kwazulu_natal",
    "WP": "western_cape",
}

# Which digit a letter is usually misread for, and the other way round. Used only to fit a
# read into a format's letter or digit slot, never on unknown formats.
LETTER_FOR_DIGIT = {"0": "O", "1": "I", "2": "Z", "4": "A", "5": "S", "6": "G", "7": "T", "8": "B"}
DIGIT_FOR_LETTER = {"O": "0", "D": "0", "Q": "0", "I": "1", "L": "1", "Z": "2", "S": "5", "G": "6", "B": "8"}

_NOISE = re.compile(r"[^A-Z0-9]")


@dataclass(frozen=True, slots=True)
class Plate:
    """A normalised plate: `canonical` for matching, `display` for people, `format` by name."""

    canonical: str
    display: str
    format: str
    corrected: bool = False  # True when look-alike characters were swapped to fit the format

    @property
    def known(self) -> bool:
        return self.format != UNKNOWN


@dataclass(frozen=True, slots=True)
class _Template:
    """Slots: ``L`` letter, ``D`` digit, ``[X]`` the literal X; `groups` split the display."""

    name: str
    slots: tuple[str, ...]
    groups: tuple[int, ...]
    dash_after: int | None = None  # index of the group whose digits take a thousands dash
    max_corrections: int = 2  # how many look-alike swaps the layout's fixed characters justify

    def fit(self, text: str, correct: bool) -> str | None:
        """`text` in this layout, look-alikes swapped if `correct` (at most `max_corrections`)."""
        if len(text) != len(self.slots):
            return None
        out: list[str] = []
        for seen, slot in zip(text, self.slots, strict=True):
            ch = seen
            if slot == "L":
                ch = LETTER_FOR_DIGIT.get(seen, seen) if correct else seen
                if not ch.isalpha():
                    return None
            elif slot == "D":
                ch = DIGIT_FOR_LETTER.get(seen, seen) if correct else seen
                if not ch.isdigit():
                    return None
            elif ch != slot and not (correct and _same_shape(ch, slot)):
                return None
            else:
                ch = slot
            out.append(ch)
        fitted = "".join(out)
        if sum(a != b for a, b in zip(fitted, text, strict=True)) > self.max_corrections:
            return None
        return fitted

    def display(self, canonical: str) -> str:
        parts: list[str] = []
        at = 0
        for i, size in enumerate(self.groups):
            part = canonical[at : at + size]
            if i == self.dash_after and len(part) > 3:
                part = f"{part[:-3]}-{part[-3:]}"
            parts.append(part)
            at += size
        return " ".join(p for p in parts if p)


def _same_shape(a: str, b: str) -> bool:
    return LETTER_FOR_DIGIT.get(a) == b or DIGIT_FOR_LETTER.get(a) == b


def _literal(s: str) -> tuple[str, ...]:
    return tuple(s)


@cache
def templates() -> tuple[_Template, ...]:
    """Every South African layout we recognise, most specific first."""
    out: list[_Template] = [
        # Gauteng: "BB 12 CC GP" (since 2001 re-issue) and the older "ABC 123 GP".
        _Template("gauteng", ("L", "L", "D", "D", "L", "L", *_literal("GP")), (2, 2, 2, 2)),
        _Template("gauteng_old", ("L", "L", "L", "D", "D", "D", *_literal("GP")), (3, 3, 2)),
    ]
    for suffix, province in PROVINCE_SUFFIXES.items():
        if suffix in ("GP", "WP", "ZN", "KZN"):
            continue
        tail = _literal(suffix)
        # A lone "L" anchors nothing: too many foreign plates end in L to swap characters for it.
        fixes = 0 if len(suffix) == 1 else 2
        out.append(
            _Template(province, ("L", "L", "L", "D", "D", "D", *tail), (3, 3, len(suffix)), None, fixes)
        )
        out.append(
            _Template(province, ("L", "L", "D", "D", "L", "L", *tail), (2, 2, 2, len(suffix)), None, fixes)
        )
    # Old-style provincial codes: a region prefix and up to six digits, "CA 123-456", "ND 12345".
    # One leading letter is a weak anchor, so at most one look-alike is swapped.
    for first, province in (("C", "western_cape"), ("N", "kwazulu_natal")):
        for letters in range(0, 3):
            for digits in range(6, 0, -1):
                slots = (first, *("L",) * letters, *("D",) * digits)
                out.append(_Template(province, slots, (1 + letters, digits), dash_after=1, max_corrections=1))
    return tuple(out)


def clean(text: str) -> str:
    """Upper-case ASCII letters and digits only: OCR noise, spaces, dashes and dots go."""
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    return _NOISE.sub("", folded.upper())


def _personalised(canonical: str, raw: str) -> Plate | None:
    """``JOHN GP``: one to seven characters and a province suffix.

    A lone ``L`` (Limpopo) ends far too many foreign plates, so it counts only when the raw
    text shows it as a separate word.
    """
    for suffix in sorted(PROVINCE_SUFFIXES, key=len, reverse=True):
        body = canonical[: -len(suffix)]
        if not canonical.endswith(suffix) or not 1 <= len(body) <= 7 or not any(c.isalpha() for c in body):
            continue
        if suffix == "L" and not re.search(r"[\s\-.]L\W*$", raw.upper()):
            continue
        return Plate(canonical, f"{body} {suffix}", f"personalised_{PROVINCE_SUFFIXES[suffix]}")
    return None


def normalise(text: str) -> Plate:
    """Normalise one OCR read; never fails: unknown layouts keep their cleaned text."""
    canonical = clean(text)
    for correct in (False, True):
        for template in templates():
            fitted = template.fit(canonical, correct)
            if fitted is not None:
                return Plate(fitted, template.display(fitted), template.name, corrected=fitted != canonical)
    return _personalised(canonical, text) or Plate(canonical, canonical, UNKNOWN)
