"""The risk register's rules, with no I/O: categories, the 5x5 matrix and its level bands,
mitigation actions, and the check that keeps people out of a register about places."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum

from khusela.core.errors import InvalidInput


class Category(StrEnum):
    ILLEGAL_MINING = "illegal_mining"
    DRUG_TRAFFICKING = "drug_trafficking"
    VIOLENT_CRIME = "violent_crime"
    EXTORTION = "extortion"
    BYLAW_NON_ENFORCEMENT = "bylaw_non_enforcement"
    GANG_ACTIVITY = "gang_activity"
    INFRASTRUCTURE_THEFT = "infrastructure_theft"
    GENDER_BASED_VIOLENCE = "gender_based_violence"
    UNREST = "unrest"
    MIGRATION_PRESSURE = "migration_pressure"
    OTHER = "other"


class Level(StrEnum):
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    EXTREME = "extreme"


class EntryStatus(StrEnum):
    OPEN = "open"
    MITIGATING = "mitigating"
    ACCEPTED = "accepted"
    CLOSED = "closed"


class ActionStatus(StrEnum):
    PLANNED = "planned"
    IN_PROGRESS = "in_progress"
    DONE = "done"


BANDS: tuple[tuple[int, Level], ...] = (
    (4, Level.LOW),
    (9, Level.MEDIUM),
    (16, Level.HIGH),
    (25, Level.EXTREME),
)
"""score = likelihood x impact (1-25): low 1-4, medium 5-9, high 10-16, extreme 20-25.
A 5 in either dimension with a 4 in the other (20) is extreme: almost certain and major, or
likely and catastrophic, both need the mayor's attention now."""


def level_of(likelihood: int, impact: int) -> Level:
    if not (1 <= likelihood <= 5 and 1 <= impact <= 5):
        raise InvalidInput("likelihood and impact are 1 to 5")
    score = likelihood * impact
    return next(level for top, level in BANDS if score <= top)


@dataclass(frozen=True, slots=True)
class Mitigation:
    action: str
    due: date | None = None
    status: ActionStatus = ActionStatus.PLANNED

    def as_json(self) -> dict[str, str | None]:
        return {
            "action": self.action,
            "due": self.due.isoformat() if self.due else None,
            "status": self.status,
        }


@dataclass(frozen=True, slots=True)
class EntrySpec:
    """What an official states about one risk in one locality."""

    locality_code: str
    category: Category
    title: str
    description: str
    likelihood: int
    impact: int
    owner: str
    mitigations: tuple[Mitigation, ...] = field(default_factory=tuple)
    status: EntryStatus = EntryStatus.OPEN
    review_date: date | None = None


# --- keeping individuals out --------------------------------------------------------------

_SA_ID = re.compile(r"(?<!\d)\d{2}[01]\d[0-3]\d[\s-]?\d{4}[\s-]?\d{3}(?!\d)")
_PHONE = re.compile(r"(?<![\d+])(?:\+27|0027|0)[\s-]?[1-9]\d(?:[\s-]?\d){7}(?!\d)")
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+\.[\w.-]+")


def _luhn(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch) * (2 if i % 2 else 1)
        total += d - 9 if d > 9 else d
    return total % 10 == 0


def check_text(what: str, text: str) -> None:
    """Refuse free text that identifies a person: a South African ID number (13 digits,
    date of birth first, Luhn check digit last), a phone number or an e-mail address.

    The register is read by every official of the jurisdiction and kept forever with its
    history, so a name slipped into a description would spread personal information far
    beyond any need (POPIA's minimality); risks are about places. The check is light on
    purpose: it catches the identifiers people paste, not every way to name someone, and
    it says which field and why so the official can rephrase."""
    for match in _SA_ID.finditer(text):
        digits = re.sub(r"\D", "", match.group())
        if len(digits) == 13 and _luhn(digits):
            raise InvalidInput(
                f"{what}: looks like an ID number; the register describes places, not people — remove it"
            )
    if _PHONE.search(text):
        raise InvalidInput(f"{what}: looks like a phone number; name an office, not a person's contact")
    if _EMAIL.search(text):
        raise InvalidInput(f"{what}: looks like an e-mail address; name an office, not a person's contact")


def validate(spec: EntrySpec) -> None:
    if not spec.title.strip():
        raise InvalidInput("title: say what the risk is in a few words")
    if not spec.description.strip():
        raise InvalidInput("description: describe the risk")
    if not spec.owner.strip():
        raise InvalidInput("owner: the office responsible (e.g. JMPD By-law Enforcement)")
    level_of(spec.likelihood, spec.impact)
    check_text("title", spec.title)
    check_text("description", spec.description)
    check_text("owner", spec.owner)
    for n, m in enumerate(spec.mitigations, start=1):
        if not m.action.strip():
            raise InvalidInput(f"mitigation {n}: say what will be done")
        check_text(f"mitigation {n}", m.action)
