"""Making analyst-written text and timestamps safe to place inside machine-read files.

Reasons are free text typed by people under pressure (and possibly pasted from an attacker's
e-mail). Each output format has its own dangerous characters; all of them break on a line end,
and bidi/format controls can make a comment read differently from what a parser sees."""

from __future__ import annotations

import re
import unicodedata
from datetime import UTC, datetime

REASON_LIMIT = 200
_SPACES = re.compile(r"\s+")


def one_line(text: str, limit: int = REASON_LIMIT) -> str:
    """`text` as one line of printable characters: every control, format (bidi override, zero
    width), line or paragraph separator becomes a space; runs of space collapse; long text is cut."""
    kept = []
    for char in text:
        category = unicodedata.category(char)
        kept.append(" " if category[0] in "CZ" else char)
    flat = _SPACES.sub(" ", "".join(kept)).strip()
    return flat if len(flat) <= limit else flat[: limit - 3].rstrip() + "..."


def restricted(text: str, forbidden: str, *, ascii_only: bool = False, limit: int = REASON_LIMIT) -> str:
    """`one_line(text)` with each character of `forbidden` replaced by a space (and, for formats
    whose tools are unsure of UTF-8, accents folded and any other non-ASCII character dropped)."""
    flat = one_line(text, limit=10 * limit)
    if ascii_only:
        flat = unicodedata.normalize("NFKD", flat).encode("ascii", "ignore").decode("ascii")
    flat = flat.translate({ord(c): " " for c in forbidden})
    return one_line(flat, limit=limit)


def iso_utc(moment: datetime) -> str:
    """`2026-03-01T10:00:00Z`: second precision, always UTC, the form every consumer parses."""
    return moment.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
