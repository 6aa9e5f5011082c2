"""Panic's API schemas (intake, queue, detail, profile), one family per direction."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import Field

from khusela.api.schemas import Incoming, Outgoing
from khusela.panic.model import AlertType, LocationSource, UnitKind, UnitStatus


class AlertCreate(Incoming):
    """A press of the panic button. Coordinates are not range-checked here on purpose:
    an impossible fix is accepted and flagged `location_unknown`, never refused."""

    type: AlertType = AlertType.OTHER
    lat: float | None = None
    lon: float | None = None
    accuracy_m: float | None = Field(None, ge=0)
    source: LocationSource = LocationSource.GPS
    silent: bool = False
    note: str | None = Field(None, max_length=500)
    client_alert_id: str = Field(
        min_length=1, max_length=64, description="The app's own id: retries reuse it"
    )


class LocationIn(Incoming):
    lat: float | None = None
    lon: float | None = None
    accuracy_m: float | None = Field(None, ge=0)
    source: LocationSource = LocationSource.GPS


class CancelIn(Incoming):
    pin: str = Field(pattern=r"^\d{4,8}$")


class ResidentAlertOut(Outgoing):
    """What the resident's phone shows: no priority, no duress flag, no operator notes."""

    id: str
    status: str
    type: AlertType
    created_at: datetime
    location_unknown: bool
    eta_seconds: int | None = None
    unit_callsign: str | None = None


class AlertOut(Outgoing):
    """An alert as the operator queue shows it."""

    id: str
    status: str
    priority: int
    type: AlertType
    channel: str
    silent: bool
    duress: bool
    presses: int
    location_unknown: bool
    outside_coverage: bool
    lat: float | None
    lon: float | None
    accuracy_m: float | None
    location_source: str
    location_at: datetime | None
    location_text: str | None
    province: str
    municipality: str | None
    created_at: datetime
    acknowledged_at: datetime | None
    dispatched_at: datetime | None
    on_scene_at: datetime | None
    closed_at: datetime | None
    outcome: str | None
    assigned_agency_id: str | None
    version: int
    escalations: list[str] = Field(
        default_factory=list, description="Escalations so far: unacknowledged, not_on_scene."
    )


class ResidentCard(Outgoing):
    """What the operator may see of the resident who raised an alert."""

    display_name: str
    phone: str | None
    vulnerable: bool
    false_alarms: int
    flagged_for_review: bool


class AlertDetailOut(AlertOut):
    note: str | None
    resident_id: str | None
    resident: ResidentCard | None = None
    trail: list[dict[str, Any]]
    timeline: list[dict[str, Any]]


class TrustedContactIO(Incoming):
    name: str = Field(min_length=1, max_length=100)
    phone: str = Field(min_length=9, max_length=20)


class ProfileIn(Incoming):
    pin: str | None = Field(None, pattern=r"^\d{4,8}$")
    duress_pin: str | None = Field(None, pattern=r"^\d{4,8}$")
    vulnerable: bool | None = None
    trusted_contacts: list[TrustedContactIO] | None = Field(None, max_length=5)


class ProfileOut(Outgoing):
    has_pin: bool
    has_duress_pin: bool
    vulnerable: bool
    trusted_contacts: list[dict[str, str]]


class UnitPublic(Outgoing):
    id: str
    agency_id: str
    callsign: str
    kind: UnitKind
    status: UnitStatus
    lat: float | None
    lon: float | None
    municipality: str | None
    location_at: datetime | None = Field(None, description="When the position was reported (null: never).")


class UnitCreate(Incoming):
    agency_id: str = Field(min_length=1, max_length=36)
    callsign: str = Field(min_length=2, max_length=40, pattern=r"^[A-Za-z0-9][A-Za-z0-9 ._/-]*$")
    kind: UnitKind
    lat: float = Field(ge=-90, le=90, description="Where the unit is based.")
    lon: float = Field(ge=-180, le=180)


class CrewIn(Incoming):
    unit_id: str = Field(min_length=1, max_length=36)


class CrewOut(Outgoing):
    unit: UnitPublic | None = Field(description="The unit the caller crews this shift, or null.")
    signed_on_at: datetime | None


class NoteIn(Incoming):
    text: str = Field(min_length=1, max_length=1000)
