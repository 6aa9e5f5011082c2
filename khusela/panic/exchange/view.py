"""What an export of one alert may contain, read in one place.

The CAP and EIDO builders are pure functions of an `ExportView`, so what leaves the
platform is decided here and in them alone: the alert's own row (whose note, resident id
and device id the builders never read), the units assigned to it and the agencies
involved. Callers first check the reader with `queries.visible_alert`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, select

from khusela.identity.tables import agencies
from khusela.panic.tables import assignments, units


@dataclass(frozen=True, slots=True)
class Responder:
    """One unit's assignment to the alert."""

    assignment_id: str
    agency_id: str
    callsign: str
    kind: str
    status: str
    assigned_at: datetime
    eta_seconds: int | None = None
    on_scene_at: datetime | None = None
    cleared_at: datetime | None = None
    outcome: str | None = None


@dataclass(frozen=True, slots=True)
class AgencyInfo:
    id: str
    name: str
    type: str


@dataclass(frozen=True, slots=True)
class ExportView:
    alert: dict[str, Any]
    responders: tuple[Responder, ...] = ()
    agencies: tuple[AgencyInfo, ...] = ()
    """Agencies involved: the assigned agency and those of the assigned units."""


def load_view(conn: Connection, alert: dict[str, Any]) -> ExportView:
    """The export view of an alert the caller has already been allowed to read."""
    rows = conn.execute(
        select(
            assignments.c.id,
            assignments.c.status,
            assignments.c.assigned_at,
            assignments.c.eta_seconds,
            assignments.c.on_scene_at,
            assignments.c.cleared_at,
            assignments.c.outcome,
            units.c.agency_id,
            units.c.callsign,
            units.c.kind,
        )
        .join(units, units.c.id == assignments.c.unit_id)
        .where(assignments.c.alert_id == alert["id"])
        .order_by(assignments.c.assigned_at, assignments.c.id)
    ).all()
    responders = tuple(
        Responder(
            assignment_id=r.id,
            agency_id=r.agency_id,
            callsign=r.callsign,
            kind=r.kind,
            status=r.status,
            assigned_at=r.assigned_at,
            eta_seconds=r.eta_seconds,
            on_scene_at=r.on_scene_at,
            cleared_at=r.cleared_at,
            outcome=r.outcome,
        )
        for r in rows
    )
    wanted = {r.agency_id for r in responders}
    if alert.get("assigned_agency_id"):
        wanted.add(alert["assigned_agency_id"])
    found = (
        conn.execute(
            select(agencies.c.id, agencies.c.name, agencies.c.type)
            .where(agencies.c.id.in_(sorted(wanted)))
            .order_by(agencies.c.name)
        ).all()
        if wanted
        else []
    )
    return ExportView(
        alert=alert,
        responders=responders,
        agencies=tuple(AgencyInfo(a.id, a.name, a.type) for a in found),
    )
