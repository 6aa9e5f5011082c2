"""The USSD menu for feature phones, as a pure function of what the caller has typed.

USSD gateways (Africa's Talking and the many that copied its format) call us once per
screen with the whole path typed so far, joined by `*`: `""` on dialling in, `"1"` after
choosing crime, `"1*Corner of Main and 5th"` after typing a landmark. So the menu needs no
session store: `step(text)` reads the path and says where the caller is; `screen` says
what to show. Replies start `CON ` (more to come) or `END ` (session over), each screen
under 160 characters so that it fits one USSD page on any handset.

A caller who times out, runs out of airtime or loses signal on the location screen must
not be lost: the alert is raised as soon as an emergency type is chosen, and the typed
landmark, when it comes, is added to that same alert (the caller's session id makes the
second request find it). A caller who answers `0` or nothing is "location unknown": the
operator is prompted to call back for it.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from khusela.panic.model import AlertType

MENU: tuple[tuple[str, AlertType, str], ...] = (
    ("1", AlertType.CRIME, "Crime"),
    ("2", AlertType.MEDICAL, "Medical"),
    ("3", AlertType.FIRE, "Fire"),
    ("4", AlertType.GBV, "Abuse/GBV"),
    ("5", AlertType.ACCIDENT, "Accident"),
    ("6", AlertType.OTHER, "Other"),
)
_CHOICES = {key: alert_type for key, alert_type, _label in MENU}
_OPTIONS = "\n".join(f"{key} {label}" for key, _type, label in MENU)
UNKNOWN_LOCATION = "0"
"""What the caller types on the location screen when they cannot say where they are."""
MAX_LOCATION = 300


class Stage(StrEnum):
    CHOOSE_TYPE = "choose_type"
    """Show the menu; nothing to raise yet."""
    ASK_LOCATION = "ask_location"
    """A type was chosen: raise the alert, then ask where the caller is."""
    LOCATED = "located"
    """The caller answered the location screen: add it to the alert and end the session."""


@dataclass(frozen=True, slots=True)
class Step:
    stage: Stage
    type: AlertType | None = None
    location_text: str | None = None
    """The typed landmark or address; None when the caller did not give one."""
    retry: bool = False
    """The caller's last choice was not on the menu: say so and ask again."""


def step(text: str) -> Step:
    """Where a caller is, from the gateway's accumulated `text`.

    Choices that are not on the menu are skipped (the menu is asked again), so `"9*2"` is
    a medical emergency. Everything after the chosen type is the location, `*` included:
    a caller may type a star in an address.
    """
    parts = text.split("*") if text else []
    for index, part in enumerate(parts):
        chosen = _CHOICES.get(part.strip())
        if chosen is None:
            continue
        rest = parts[index + 1 :]
        if not rest:
            return Step(Stage.ASK_LOCATION, chosen)
        return Step(Stage.LOCATED, chosen, location_text=_location("*".join(rest)))
    return Step(Stage.CHOOSE_TYPE, retry=bool(parts))


def _location(typed: str) -> str | None:
    cleaned = " ".join(typed.split())[:MAX_LOCATION]
    return None if cleaned in ("", UNKNOWN_LOCATION) else cleaned


def screen(current: Step, reference: str | None = None, *, location_known: bool = False) -> str:
    """The reply to the gateway for `current`. `reference` (the alert's short id) is needed
    once an alert exists; `location_known` says whether the alert has any location at all."""
    if current.stage is Stage.CHOOSE_TYPE:
        heading = "Please reply with a number 1-6." if current.retry else "Khusela emergency. Reply with:"
        return f"CON {heading}\n{_OPTIONS}"
    if reference is None:
        raise ValueError("an alert reference is needed once a type is chosen")
    if current.stage is Stage.ASK_LOCATION:
        return (
            f"CON Help is being arranged. Ref {reference}.\n"
            f"Where are you? Type a landmark or address ({UNKNOWN_LOCATION} if unsure):"
        )
    if location_known or current.location_text:
        return f"END Help is being arranged. Ref {reference}. Keep your phone on; we may call you."
    return f"END Help is being arranged. Ref {reference}. We will call you to find where you are."
