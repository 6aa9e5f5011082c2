"""The unit every check produces: a weight, the feature family it belongs to, and a sentence an
analyst can verify in the raw message. Families let the benchmark say *which kind* of evidence
separates phishing from legitimate mail, not just how often the total crosses a line."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Final

AUTHENTICATION: Final = "authentication"
RELAY: Final = "relay path"
MISMATCH: Final = "sender mismatch"
IMPERSONATION: Final = "impersonation"
LOOKALIKE: Final = "look-alike domains"
SENDER: Final = "sender address"
LINKS: Final = "links"
CREDENTIALS: Final = "credential language/forms"
LURES: Final = "lures and urgency"
OBFUSCATION: Final = "obfuscation"
ATTACHMENTS: Final = "attachments"
MACROS: Final = "macros"
FAMILIES: Final = (
    AUTHENTICATION, RELAY, MISMATCH, IMPERSONATION, LOOKALIKE, SENDER,
    LINKS, CREDENTIALS, LURES, OBFUSCATION, ATTACHMENTS, MACROS,
)  # fmt: skip


@dataclass(frozen=True)
class Finding:
    weight: int
    family: str
    reason: str


@dataclass
class Evidence:
    """Findings collected so far; the same sentence is never counted twice."""

    items: list[Finding] = field(default_factory=list)

    def add(self, weight: int, reason: str, family: str) -> None:
        if all(f.reason != reason for f in self.items):
            self.items.append(Finding(weight, family, reason))

    def has(self, family: str) -> bool:
        return any(f.family == family for f in self.items)
