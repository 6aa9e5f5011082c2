"""The sanitised copy of an item: what a recipient outside the originating agency may see
when the source must be protected.

Deterministic and idempotent: sanitising a sanitised item returns it unchanged, so the copy
sent twice (or sanitised again by a relay) is byte-for-byte the same and never a new version.
"""

from __future__ import annotations

from dataclasses import replace

from khusela.intel.model import IntelItem, Originator

SANITISED_NOTE = (
    "Sanitised by the originating agency: source identity, author and non-releasable "
    "attachments removed. Ask the originator through a request for information for more."
)


def sanitise(item: IntelItem) -> IntelItem:
    """Strip what could identify the source; keep markings, grading and provenance.

    Removed: source reference and description, the author (the agency stays), attachments not
    marked releasable. Kept: id, version, originator instance and agency, markings, grade, the
    human-source flag itself (a recipient should know it is HUMINT), dates, locality, body.
    """
    if item.sanitised:
        return item
    return replace(
        item,
        originator=Originator(item.originator.instance, item.originator.agency_id, None),
        source_ref=None,
        source_description=None,
        attachments=tuple(a for a in item.attachments if a.releasable),
        sanitised=True,
        sanitised_note=SANITISED_NOTE,
    )
