"""What may be told to whom: Traffic Light Protocol 2.0, classification and handling caveats.

TLP says how far the *recipient* may pass something on; classification says who may *read* it
at all (and is checked against a person's clearance by `khusela.identity.policy`); caveats add
narrow, named restrictions. All three travel with every item, every export and every bundle.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from enum import IntEnum, StrEnum

from khusela.identity.model import Clearance
from khusela.intel.grading import Grade


class Tlp(IntEnum):
    """TLP 2.0 levels, ordered from the widest audience to the narrowest."""

    CLEAR = 0
    GREEN = 1
    AMBER = 2
    AMBER_STRICT = 3
    RED = 4

    @classmethod
    def parse(cls, text: str) -> Tlp:
        """Read ``"AMBER+STRICT"``, ``"amber+strict"``, ``"TLP:AMBER+STRICT"`` or ``"TLP: amber strict"``."""
        word = text.strip().upper()
        if word.startswith("TLP:"):
            word = word[4:].strip()
        word = re.sub(r"[\s_+-]+", "+", word)
        try:
            return _BY_CODE[word.lower()]
        except KeyError:
            choices = ", ".join(t.label for t in cls)
            raise ValueError(f"unknown TLP marking {text!r} (choose from {choices})") from None

    @property
    def code(self) -> str:
        """The lower-case value the OASIS TLP 2.0 STIX extension uses (``amber+strict``)."""
        return self.name.lower().replace("_", "+")

    @property
    def label(self) -> str:
        """As printed on a banner: ``TLP:AMBER+STRICT``."""
        return f"TLP:{self.code.upper()}"

    @property
    def audience(self) -> str:
        """Who may receive it, in FIRST's own sense, for the console and for briefings."""
        return _AUDIENCE[self]

    @property
    def leaves_instance(self) -> bool:
        """Whether it may go to a partner instance at all: AMBER+STRICT and RED never do,
        because their audience is one organisation or named people, not a partner province."""
        return self <= Tlp.AMBER


_BY_CODE = {t.name.lower().replace("_", "+"): t for t in Tlp}
_AUDIENCE = {
    Tlp.CLEAR: "anyone: no limit on disclosure, subject to copyright",
    Tlp.GREEN: "the wider community (peer agencies and partners), but not the public or published",
    Tlp.AMBER: "recipient organisations and their clients, on a need-to-know basis",
    Tlp.AMBER_STRICT: "the recipient organisation only, on a need-to-know basis; not its clients",
    Tlp.RED: "the named recipients only, and no further",
}


class Caveat(StrEnum):
    """The closed set of caveats every agency understands. Local codes use the ``X-`` prefix."""

    LAW_ENFORCEMENT_ONLY = "LEO"
    ORIGINATOR_CONTROLLED = "ORCON"
    NO_FEDERATION = "NOFED"
    PERSONAL_INFORMATION = "POPIA"
    SENSITIVE_SOURCE = "SOURCE"
    ACTIVE_CASE = "CASE"

    @property
    def meaning(self) -> str:
        return _CAVEAT_MEANING[self]


_CAVEAT_MEANING = {
    Caveat.LAW_ENFORCEMENT_ONLY: "law-enforcement agencies only (SAPS, metro police, SSA)",
    Caveat.ORIGINATOR_CONTROLLED: "any further sharing needs the originating agency's consent",
    Caveat.NO_FEDERATION: "never sent to another provincial instance, whatever its TLP",
    Caveat.PERSONAL_INFORMATION: "contains personal information under POPIA; process only for its purpose",
    Caveat.SENSITIVE_SOURCE: "could identify a source; handle as if naming them",
    Caveat.ACTIVE_CASE: "relates to an active investigation; disclosure could prejudice it",
}

FREE_CAVEAT = re.compile(r"X-[A-Z0-9][A-Z0-9_]{1,23}")
"""A local caveat: prefixed so a typo of a closed code can never pass as a free one."""


def parse_caveat(text: str) -> str:
    """Normalise one caveat, refusing anything outside the closed set or the ``X-`` pattern."""
    word = text.strip().upper()
    if word in Caveat._value2member_map_:
        return word
    if FREE_CAVEAT.fullmatch(word):
        return word
    known = ", ".join(c.value for c in Caveat)
    raise ValueError(f"unknown caveat {text!r} (use one of {known}, or a local code like X-OPS_KUBU)")


def parse_caveats(values: Iterable[str]) -> frozenset[str]:
    return frozenset(parse_caveat(v) for v in values)


LAW_ENFORCEMENT = frozenset({Caveat.LAW_ENFORCEMENT_ONLY.value})


@dataclass(frozen=True, slots=True)
class Marking:
    """Everything that governs disclosure of one item; compared as a whole."""

    tlp: Tlp
    classification: Clearance = Clearance.UNCLASSIFIED
    caveats: frozenset[str] = frozenset()

    def __post_init__(self) -> None:
        for caveat in self.caveats:
            if parse_caveat(caveat) != caveat:
                raise ValueError(f"caveat {caveat!r} must be written in capitals, e.g. {caveat.upper()!r}")

    @classmethod
    def parse(cls, tlp: str, classification: str = "unclassified", caveats: Iterable[str] = ()) -> Marking:
        return cls(Tlp.parse(tlp), Clearance.parse(classification), parse_caveats(caveats))


@dataclass(frozen=True, slots=True)
class GroupCeiling:
    """The most a sharing group (or an output such as a dashboard) may ever be shown.

    `accepted_caveats` lists the caveats the group is entitled to; an item carrying any other
    caveat stays out. `aggregate_only` groups see counts and maps, never individual items.
    """

    tlp: Tlp
    classification: Clearance = Clearance.UNCLASSIFIED
    accepted_caveats: frozenset[str] = frozenset()
    aggregate_only: bool = False


MUNICIPAL_DASHBOARD = GroupCeiling(Tlp.GREEN, Clearance.UNCLASSIFIED, aggregate_only=True)
"""Mayors' and councils' dashboards: TLP:GREEN figures, aggregated, never single reports."""

LAW_ENFORCEMENT_PARTNERS = GroupCeiling(
    Tlp.AMBER, Clearance.SECRET, frozenset({c.value for c in Caveat} - {Caveat.ORIGINATOR_CONTROLLED.value})
)
"""SAPS, metro police and SSA analysts sharing among themselves."""


def may_export(item_marking: Marking, group_ceiling: GroupCeiling, *, aggregate: bool = False) -> bool:
    """Whether something marked `item_marking` may be shown to a group under `group_ceiling`.

    `aggregate` says the output is a count or a heat map rather than the item itself, which is
    all an aggregate-only group may ever receive.
    """
    if group_ceiling.aggregate_only and not aggregate:
        return False
    return (
        item_marking.tlp <= group_ceiling.tlp
        and item_marking.classification <= group_ceiling.classification
        and item_marking.caveats <= group_ceiling.accepted_caveats
    )


def banner(marking: Marking, grade: Grade | None = None) -> str:
    """The line the console prints above and below an item: the strictest words first.

    ``TLP:AMBER+STRICT // CONFIDENTIAL // LEO/POPIA // B2 // P``; caveats appear only when
    present, and the grade only when the item has been graded.
    """
    parts = [marking.tlp.label, marking.classification.name.replace("_", " ")]
    if marking.caveats:
        parts.append("/".join(sorted(marking.caveats)))
    if grade is not None:
        parts += [grade.code, grade.handling.value]
    return " // ".join(parts)
