"""The handling rules every intel write and share passes through, each refusing with a reason
an analyst can act on. Pure functions: the service layer calls them before it stores or sends.

Sources of the rules: 28 CFR Part 23 (criminal intelligence systems keep a record about a person
only on reasonable suspicion of criminal activity), POPIA section 26 (special personal
information), the UK 3x5x2 handling code, and a review clock so nothing is kept forever.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from khusela.identity.model import AgencyType, Principal
from khusela.intel.errors import IntelRuleBroken
from khusela.intel.grading import HandlingCode
from khusela.intel.model import Entity, EntityKind, IntelItem

MIN_JUSTIFICATION = 20
"""Characters: enough to force a sentence of facts rather than 'suspect' or 'see file'."""

SPECIAL_ATTRIBUTES = frozenset(
    {
        "political_affiliation",
        "political_opinion",
        "religion",
        "religious_belief",
        "philosophical_belief",
        "union_membership",
        "trade_union",
        "sexual_orientation",
        "sex_life",
        "ethnicity",
        "ethnic_origin",
        "race",
        "health",
        "biometric",
        "culture",
    }
)
"""Attribute keys that record political, religious or social views or other POPIA special
personal information. Kept only when the record is tied to an open case."""

REVIEW_NOTICE = timedelta(days=90)
"""How long before its review date an item is flagged 'due' so its owner can re-justify it."""

PURGE_GRACE = timedelta(days=180)
"""How long an item stays hidden (not searchable, not shared) after its review date before it is
purged: time for its agency to review it or for oversight to audit a disputed deletion."""

LAW_ENFORCEMENT = frozenset({AgencyType.SAPS_STATION, AgencyType.METRO_POLICE, AgencyType.SSA})

ReviewState = Literal["current", "due", "hidden", "purge"]


def check_person_record(entity: Entity) -> None:
    """28 CFR Part 23: a person is recorded only on a written reasonable suspicion of a named
    criminal activity. Other entity kinds pass."""
    if entity.kind is not EntityKind.PERSON:
        return
    reason = (entity.justification or "").strip()
    if len(reason) < MIN_JUSTIFICATION:
        raise IntelRuleBroken(
            f"a record about a person needs a reasonable-suspicion justification of at least "
            f"{MIN_JUSTIFICATION} characters stating the facts that link them to criminal activity"
        )
    if entity.criminal_activity is None:
        raise IntelRuleBroken("a record about a person must name the criminal activity it is suspected of")


def check_special_attributes(entity: Entity, open_cases: Collection[str]) -> None:
    """POPIA special personal information (views, beliefs, membership, orientation, ethnicity…)
    may be kept only on a record linked to an open case; the refusal names the keys."""
    special = sorted(k for k in entity.attributes if k.strip().lower() in SPECIAL_ATTRIBUTES)
    if not special:
        return
    if entity.case_ref is None or entity.case_ref not in open_cases:
        raise IntelRuleBroken(
            f"{', '.join(special)} may be recorded only when the record is linked to an open case"
        )


def check_entity(entity: Entity, open_cases: Collection[str]) -> None:
    """Every rule an entity must pass before it is saved."""
    check_person_record(entity)
    check_special_attributes(entity, open_cases)


def check_submission(item: IntelItem) -> None:
    """An item is submitted for sharing only once graded: source, information and handling."""
    if item.grade is None:
        raise IntelRuleBroken(
            "grade the item before submitting it: source reliability (A-F), "
            "information credibility (1-6) and handling code (P or C)"
        )
    if item.human_source and not item.source_ref:
        raise IntelRuleBroken("an item from a human source must reference the source's registration")


def needs_sanitising(item: IntelItem, recipient_agency: str | None) -> bool:
    """Whether `item` must be sanitised before `recipient_agency` sees it.

    Handling C, a human source or any recorded source reference protects the source: anyone
    outside the originating agency (including any agency of a partner instance, passed as None)
    gets the sanitised copy.
    """
    if item.sanitised:
        return False
    if recipient_agency is not None and recipient_agency == item.originator.agency_id:
        return False
    return item.handling is HandlingCode.C or item.human_source or bool(item.source_ref)


def review_state(item: IntelItem, now: datetime) -> ReviewState:
    """Where an item stands on its review clock.

    current → due (within `REVIEW_NOTICE` of its review date) → hidden (from the review date:
    kept but neither searched nor shared) → purge (from review date + `PURGE_GRACE`).
    """
    review = item.review_date
    if now >= review + PURGE_GRACE:
        return "purge"
    if now >= review:
        return "hidden"
    if now >= review - REVIEW_NOTICE:
        return "due"
    return "current"


@dataclass(frozen=True, slots=True)
class DangerRelease:
    """The audit record of an imminent-danger release, reviewed later by oversight."""

    item_id: str
    item_version: int
    recipient_user_id: str
    recipient_agency_id: str | None
    justification: str
    released_at: datetime
    review_by: datetime


def release_for_imminent_danger(
    item: IntelItem, recipient: Principal, justification: str, review_by: datetime, now: datetime
) -> DangerRelease:
    """Allow a mayor, CPF chair or other non-law-enforcement official to see an assessment when
    lives are at risk, only as a sanitised copy, with a written reason and a date by which
    oversight reviews the release."""
    if recipient.agency_type in LAW_ENFORCEMENT:
        raise IntelRuleBroken("law-enforcement recipients receive intelligence through normal sharing")
    if not item.sanitised:
        raise IntelRuleBroken("only a sanitised assessment may be released to a non-law-enforcement official")
    if len(justification.strip()) < MIN_JUSTIFICATION:
        raise IntelRuleBroken(
            f"state the imminent danger in at least {MIN_JUSTIFICATION} characters to justify the release"
        )
    if review_by <= now:
        raise IntelRuleBroken("the release needs a review date in the future")
    return DangerRelease(
        str(item.id),
        item.version,
        recipient.user_id,
        recipient.agency_id,
        justification.strip(),
        now,
        review_by,
    )
