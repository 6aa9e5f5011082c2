"""A watchlist of wanted plates, matched tolerantly against what OCR read.

OCR mistakes are of two kinds. Look-alike characters (``0``/``O``/``D``/``Q``, ``8``/``B`` …)
are folded onto one representative on both sides, so they cost nothing. Anything else (a
missed, extra or wrong character) costs one edit, and at most one edit is allowed.

Lookups must stay fast for 100,000 plates, so nothing is scanned: exact and folded text are
dict keys, and edit distance 1 uses a deletion neighbourhood (SymSpell): every plate is
also indexed under each string obtained by deleting one character. Two strings within one
edit share a key (one of them itself, or a one-deletion of both), so a query looks up its
own few keys and verifies the candidates.
"""

from __future__ import annotations

import csv
import io
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from khusela.cctv.plates.normalise import clean, normalise

# Each group of look-alikes folds onto its first character.
CONFUSION_GROUPS = ("0ODQ", "1IL7", "8B", "5S", "2Z", "6G")
_FOLD = str.maketrans({ch: group[0] for group in CONFUSION_GROUPS for ch in group})

# Below this length one edit turns too many unrelated plates into each other.
MIN_FUZZY_LENGTH = 5

EXACT = "exact"
CONFUSION = "confusion"
EDIT = "edit"
_RULE_RANK = {EXACT: 0, CONFUSION: 1, EDIT: 2}


def fold(text: str) -> str:
    """Canonical text with every look-alike replaced by its group's representative."""
    return clean(text).translate(_FOLD)


def _deletions(text: str) -> set[str]:
    return {text[:i] + text[i + 1 :] for i in range(len(text))}


def within_one_edit(a: str, b: str) -> bool:
    """True when one substitution, insertion or deletion (or none) turns `a` into `b`."""
    if a == b:
        return True
    if abs(len(a) - len(b)) > 1:
        return False
    if len(a) == len(b):
        return sum(x != y for x, y in zip(a, b, strict=True)) == 1
    short, long_ = (a, b) if len(a) < len(b) else (b, a)
    for i in range(len(short)):
        if short[i] != long_[i]:
            return short[i:] == long_[i + 1 :]
    return True


@dataclass(frozen=True, slots=True)
class WatchlistEntry:
    """A wanted plate, why it is wanted, and the case that says so."""

    plate: str  # canonical
    display: str
    reason: str
    reference: str
    added_by: str = ""


@dataclass(frozen=True, slots=True)
class WatchlistHit:
    """A read that matched an entry: by `rule` (exact, confusion, edit) at `distance` edits."""

    entry: WatchlistEntry
    read: str  # the canonical text that was looked up
    rule: str
    distance: int


class Watchlist:
    """Plates to alert on; `match` answers in microseconds whatever the list's size."""

    def __init__(self, entries: Iterable[WatchlistEntry] = ()) -> None:
        self._entries: list[WatchlistEntry] = []
        self._by_plate: dict[str, list[int]] = {}
        self._by_folded: dict[str, list[int]] = {}
        self._by_deletion: dict[str, list[int]] = {}
        for entry in entries:
            self._index(entry)

    def add(self, plate: str, reason: str = "", reference: str = "", added_by: str = "") -> WatchlistEntry:
        """Add a plate as written by a person ("CA 123-456"); returns the stored entry."""
        normalised = normalise(plate)
        if not normalised.canonical:
            raise ValueError("a watchlist plate needs at least one letter or digit")
        entry = WatchlistEntry(normalised.canonical, normalised.display, reason, reference, added_by)
        self._index(entry)
        return entry

    def _index(self, entry: WatchlistEntry) -> None:
        at = len(self._entries)
        self._entries.append(entry)
        self._by_plate.setdefault(entry.plate, []).append(at)
        folded = fold(entry.plate)
        self._by_folded.setdefault(folded, []).append(at)
        if len(folded) >= MIN_FUZZY_LENGTH:
            for key in _deletions(folded):
                self._by_deletion.setdefault(key, []).append(at)

    @classmethod
    def from_csv(cls, source: str | Path, added_by: str = "") -> Watchlist:
        """Load `plate,reason,reference[,added_by]` rows from a file path or the CSV text itself.

        A `str` is read as a path only when it names an existing file and has no newline.
        """
        if isinstance(source, Path) or ("\n" not in source and os.path.isfile(source)):
            text = Path(source).read_text(encoding="utf-8-sig")
        else:
            text = source
        reader = csv.DictReader(io.StringIO(text))
        fields = {(f or "").strip().lower() for f in reader.fieldnames or ()}
        if "plate" not in fields:
            raise ValueError("watchlist CSV needs a 'plate' column (and optionally reason, reference)")
        watchlist = cls()
        for row in reader:
            cells = {(k or "").strip().lower(): (v or "").strip() for k, v in row.items()}
            if not clean(cells.get("plate", "")):
                continue
            watchlist.add(
                cells["plate"],
                cells.get("reason", ""),
                cells.get("reference", ""),
                cells.get("added_by") or added_by,
            )
        return watchlist

    def __len__(self) -> int:
        return len(self._entries)

    def __iter__(self) -> Iterator[WatchlistEntry]:
        return iter(self._entries)

    def match(self, text: str) -> WatchlistHit | None:
        """The best entry for an OCR read: exact, then look-alike, then one edit; else None."""
        read = normalise(text).canonical
        if not read:
            return None
        if read in self._by_plate:
            return WatchlistHit(self._entries[self._by_plate[read][0]], read, EXACT, 0)
        folded = fold(read)
        if folded in self._by_folded:
            return WatchlistHit(self._entries[self._by_folded[folded][0]], read, CONFUSION, 0)
        if len(folded) < MIN_FUZZY_LENGTH - 1:
            return None
        best: WatchlistHit | None = None
        for at in self._fuzzy_candidates(folded):
            entry = self._entries[at]
            if len(entry.plate) < MIN_FUZZY_LENGTH or not within_one_edit(folded, fold(entry.plate)):
                continue
            hit = WatchlistHit(entry, read, EDIT, 1)
            if best is None or self._prefer(hit, best):
                best = hit
        return best

    def _fuzzy_candidates(self, folded: str) -> set[int]:
        found: set[int] = set(self._by_deletion.get(folded, ()))  # the read lost a character
        for key in _deletions(folded):
            found.update(self._by_folded.get(key, ()))  # the read gained a character
            found.update(self._by_deletion.get(key, ()))  # the read has one wrong character
        return found

    @staticmethod
    def _prefer(a: WatchlistHit, b: WatchlistHit) -> bool:
        """Between two one-edit hits, prefer the one whose unfolded text is closer to the read."""

        def closeness(hit: WatchlistHit) -> tuple[int, int, str]:
            same = sum(x == y for x, y in zip(hit.read, hit.entry.plate, strict=False))
            return (_RULE_RANK[hit.rule], -same, hit.entry.plate)

        return closeness(a) < closeness(b)
