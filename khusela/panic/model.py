"""Panic alerts, units and their rules. Plain data and pure functions, no I/O."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum


class AlertType(StrEnum):
    CRIME = "crime"
    MEDICAL = "medical"
    FIRE = "fire"
    GBV = "gbv"
    ACCIDENT = "accident"
    OTHER = "other"


class Channel(StrEnum):
    APP = "app"
    USSD = "ussd"
    SMS = "sms"
    DEVICE = "device"
    CCTV = "cctv"
    """Raised by the system itself: a watchlisted plate seen by a camera."""


class LocationSource(StrEnum):
    GPS = "gps"
    NETWORK = "network"
    DEVICE = "device"
    TYPED = "typed"
    """A landmark or address typed by the resident (USSD, SMS): text, not coordinates."""
    UNKNOWN = "unknown"


class AlertStatus(StrEnum):
    NEW = "new"
    ACKNOWLEDGED = "acknowledged"
    DISPATCHED = "dispatched"
    EN_ROUTE = "en_route"
    ON_SCENE = "on_scene"
    RESOLVED = "resolved"
    CANCELLED = "cancelled"


OPEN_STATUSES = frozenset(
    {
        AlertStatus.NEW,
        AlertStatus.ACKNOWLEDGED,
        AlertStatus.DISPATCHED,
        AlertStatus.EN_ROUTE,
        AlertStatus.ON_SCENE,
    }
)


class Outcome(StrEnum):
    ATTENDED = "attended"
    FALSE_ALARM = "false_alarm"
    NO_CONTACT = "no_contact"
    REFERRED = "referred"
    CANCELLED_BY_RESIDENT = "cancelled_by_resident"


class UnitKind(StrEnum):
    POLICE_VEHICLE = "police_vehicle"
    METRO_POLICE_VEHICLE = "metro_police_vehicle"
    AMBULANCE = "ambulance"
    FIRE_ENGINE = "fire_engine"
    SECURITY_VEHICLE = "security_vehicle"
    CPF_PATROL = "cpf_patrol"
    FOOT_PATROL = "foot_patrol"


class UnitStatus(StrEnum):
    AVAILABLE = "available"
    ASSIGNED = "assigned"
    EN_ROUTE = "en_route"
    ON_SCENE = "on_scene"
    OFF_DUTY = "off_duty"


JOIN_WINDOW = timedelta(minutes=2)
"""Presses by one resident within this window join the open alert instead of a new one."""

# Lower number = more urgent. P1 is life in immediate danger.
_BASE_PRIORITY = {
    AlertType.MEDICAL: 2,
    AlertType.FIRE: 2,
    AlertType.GBV: 2,
    AlertType.CRIME: 2,
    AlertType.ACCIDENT: 2,
    AlertType.OTHER: 3,
}
HIGHEST, LOWEST = 1, 4


@dataclass(frozen=True, slots=True)
class TriageFacts:
    """What triage may weigh. Never nationality, ethnicity or any trait of a person's group."""

    type: AlertType
    silent: bool = False
    duress: bool = False
    presses: int = 1
    vulnerable: bool = False
    locality_risk: int = 0
    """0 none/unknown … 3 high, from the risk register once the risk module exists."""
    flagged_for_false_alarms: bool = False


def triage(facts: TriageFacts) -> int:
    """The alert's priority, P1 (most urgent) to P4.

    A silent alarm or a duress PIN means the resident cannot speak freely: always P1.
    Repeat presses, a vulnerable person and a high-risk locality each raise urgency by one.
    A history of false alarms never lowers it below P3: the alert is still worked.
    """
    if facts.silent or facts.duress:
        return HIGHEST
    priority = _BASE_PRIORITY[facts.type]
    if facts.presses >= 3:
        priority -= 1
    if facts.vulnerable:
        priority -= 1
    if facts.locality_risk >= 3:
        priority -= 1
    if facts.flagged_for_false_alarms:
        priority = min(priority + 1, 3)
    return max(HIGHEST, min(LOWEST, priority))


# The alert's lifecycle as the operator and responders move it. Cancel is the resident's.
_ALERT_TRANSITIONS: dict[AlertStatus, frozenset[AlertStatus]] = {
    AlertStatus.NEW: frozenset(
        {AlertStatus.ACKNOWLEDGED, AlertStatus.DISPATCHED, AlertStatus.CANCELLED, AlertStatus.RESOLVED}
    ),
    AlertStatus.ACKNOWLEDGED: frozenset(
        {AlertStatus.DISPATCHED, AlertStatus.CANCELLED, AlertStatus.RESOLVED}
    ),
    AlertStatus.DISPATCHED: frozenset(
        {
            AlertStatus.DISPATCHED,
            AlertStatus.EN_ROUTE,
            AlertStatus.ON_SCENE,
            AlertStatus.CANCELLED,
            AlertStatus.RESOLVED,
        }
    ),
    AlertStatus.EN_ROUTE: frozenset(
        {AlertStatus.DISPATCHED, AlertStatus.ON_SCENE, AlertStatus.CANCELLED, AlertStatus.RESOLVED}
    ),
    AlertStatus.ON_SCENE: frozenset({AlertStatus.DISPATCHED, AlertStatus.RESOLVED}),
    AlertStatus.RESOLVED: frozenset(),
    AlertStatus.CANCELLED: frozenset(),
}


def can_move(current: AlertStatus, target: AlertStatus) -> bool:
    """Whether the alert may go from `current` to `target` (a checked state machine)."""
    return target in _ALERT_TRANSITIONS[current]


@dataclass(frozen=True, slots=True)
class Position:
    lat: float
    lon: float
    accuracy_m: float | None
    source: LocationSource
    at: datetime


def plausible(lat: float | None, lon: float | None) -> bool:
    """Coordinates a phone could really report: on the globe, not the (0, 0) null island."""
    if lat is None or lon is None:
        return False
    if not (-90.0 <= lat <= 90.0 and -180.0 <= lon <= 180.0):
        return False
    return not (abs(lat) < 1e-6 and abs(lon) < 1e-6)
