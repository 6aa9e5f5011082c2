"""Source and information grading (Admiralty / NATO system) and the handling code of the UK
3x5x2 model, so every report says how far to trust it and whether it may be passed on.

The two grades are independent on purpose: a reliable source can pass on hearsay (A3) and an
unknown source can report something corroborated (F1). Analysts weigh both; neither alone.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum, StrEnum


class Reliability(StrEnum):
    """How far the *source* has proven trustworthy in the past."""

    A = "A"
    B = "B"
    C = "C"
    D = "D"
    E = "E"
    F = "F"

    @property
    def meaning(self) -> str:
        return _RELIABILITY[self]

    @classmethod
    def parse(cls, text: str) -> Reliability:
        try:
            return cls(text.strip().upper())
        except ValueError:
            raise ValueError(f"unknown source reliability {text!r} (choose A to F)") from None


_RELIABILITY = {
    Reliability.A: "completely reliable: no doubt of authenticity, trustworthiness or competence",
    Reliability.B: "usually reliable: minor doubt, a history of mostly valid information",
    Reliability.C: "fairly reliable: doubt, but has provided valid information before",
    Reliability.D: "not usually reliable: significant doubt, some valid information in the past",
    Reliability.E: "unreliable: lacking authenticity, a history of invalid information",
    Reliability.F: "reliability cannot be judged: no basis to evaluate the source",
}


class Credibility(IntEnum):
    """How far the *information itself* is corroborated."""

    CONFIRMED = 1
    PROBABLY_TRUE = 2
    POSSIBLY_TRUE = 3
    DOUBTFUL = 4
    IMPROBABLE = 5
    CANNOT_BE_JUDGED = 6

    @property
    def meaning(self) -> str:
        return _CREDIBILITY[self]

    @classmethod
    def parse(cls, text: str | int) -> Credibility:
        try:
            return cls(int(str(text).strip()))
        except ValueError:
            raise ValueError(f"unknown information credibility {text!r} (choose 1 to 6)") from None


_CREDIBILITY = {
    Credibility.CONFIRMED: "confirmed by other independent sources; logical and consistent",
    Credibility.PROBABLY_TRUE: "not confirmed, but logical and consistent with other information",
    Credibility.POSSIBLY_TRUE: "not confirmed; reasonably logical, agrees with some other information",
    Credibility.DOUBTFUL: "not confirmed; possible but not logical, no other information on it",
    Credibility.IMPROBABLE: "not confirmed; illogical and contradicted by other information",
    Credibility.CANNOT_BE_JUDGED: "truth cannot be judged: no basis to evaluate the information",
}


class HandlingCode(StrEnum):
    """3x5x2 handling: whether the recipient may pass the report on without asking."""

    P = "P"
    C = "C"

    @property
    def meaning(self) -> str:
        if self is HandlingCode.P:
            return "lawful sharing permitted: may be disseminated to other law-enforcement partners"
        return "conditions apply: sharing needs the originator's conditions, sanitising or consent"

    @classmethod
    def parse(cls, text: str) -> HandlingCode:
        try:
            return cls(text.strip().upper())
        except ValueError:
            raise ValueError(f"unknown handling code {text!r} (choose P or C)") from None


@dataclass(frozen=True, slots=True)
class Grade:
    """A report's full grading: source reliability, information credibility and handling."""

    reliability: Reliability
    credibility: Credibility
    handling: HandlingCode

    @property
    def code(self) -> str:
        """The two-character grade analysts write in the margin, e.g. ``B2``."""
        return f"{self.reliability.value}{int(self.credibility)}"

    def explain(self) -> str:
        """One sentence per part, for the console tooltip and for briefings."""
        return (
            f"Source {self.reliability.value}: {self.reliability.meaning}. "
            f"Information {int(self.credibility)}: {self.credibility.meaning}. "
            f"Handling {self.handling.value}: {self.handling.meaning}."
        )

    @classmethod
    def parse(cls, text: str) -> Grade:
        """Read ``"B2 P"``, ``"b2/c"`` or ``"B 2 P"`` as analysts type it."""
        compact = "".join(ch for ch in text.upper() if ch.isalnum())
        if len(compact) != 3:
            raise ValueError(f"grade {text!r} must be reliability, credibility and handling, e.g. 'B2 P'")
        return cls(
            Reliability.parse(compact[0]), Credibility.parse(compact[1]), HandlingCode.parse(compact[2])
        )
