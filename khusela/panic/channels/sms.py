"""Inbound SMS: `HELP <where I am>` from any phone, registered or not.

The keyword is matched case-insensitively and spacing is forgiven (`help`, ` Help:`,
`HELP!`): a person in danger types fast. Whatever follows is kept whole as the typed
location, because it is what the operator reads out; a first word naming an emergency
(`HELP fire at …`, `HELP ambulance …`) also sets the alert's type, else the type is
"other" and the operator triages it on the call back. `HELP` alone is still an alert,
flagged location unknown. Any other message gets a short usage reply, never an alert.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from khusela.panic.model import AlertType

_HELP = re.compile(r"^\s*help\b[\s:;,.!-]*(?P<rest>.*)$", re.IGNORECASE | re.DOTALL)
_TYPE_WORDS: dict[str, AlertType] = {
    "crime": AlertType.CRIME,
    "police": AlertType.CRIME,
    "robbery": AlertType.CRIME,
    "medical": AlertType.MEDICAL,
    "ambulance": AlertType.MEDICAL,
    "fire": AlertType.FIRE,
    "gbv": AlertType.GBV,
    "abuse": AlertType.GBV,
    "accident": AlertType.ACCIDENT,
    "crash": AlertType.ACCIDENT,
}
MAX_LOCATION = 300

USAGE = "Khusela: to ask for help, send HELP and where you are, e.g. HELP corner Main Rd and 5th Ave, Soweto"


@dataclass(frozen=True, slots=True)
class HelpRequest:
    type: AlertType
    location_text: str | None


def parse(text: str) -> HelpRequest | None:
    """The help request in an SMS, or None when the message is not one."""
    match = _HELP.match(text)
    if match is None:
        return None
    rest = " ".join(match["rest"].split())[:MAX_LOCATION]
    first = rest.split(" ", 1)[0].strip(".,:;!").lower()
    return HelpRequest(_TYPE_WORDS.get(first, AlertType.OTHER), rest or None)


def confirmation(reference: str, *, location_known: bool) -> str:
    """The reply once the alert is committed, with the reference the caller can quote."""
    if location_known:
        return f"Khusela: help is being arranged. Ref {reference}. Keep your phone on; we may call you."
    return (
        f"Khusela: help is being arranged. Ref {reference}. "
        "We will call you; or reply HELP and where you are."
    )
