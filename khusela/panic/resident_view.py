"""What the resident's phone may show of an alert — one place, used by the API and the feed.

A duress alert looks cancelled and shows no unit or ETA: whoever forced the resident's
hand may be reading the screen.
"""

from __future__ import annotations

from sqlalchemy import Connection, select

from khusela.panic import records
from khusela.panic.lifecycle import resident_view_status
from khusela.panic.schemas import ResidentAlertOut
from khusela.panic.tables import assignments, units


def resident_view(conn: Connection, alert: records.Alert) -> ResidentAlertOut:
    current = conn.execute(
        select(assignments.c.eta_seconds, units.c.callsign)
        .join(units, units.c.id == assignments.c.unit_id)
        .where(assignments.c.alert_id == alert["id"], assignments.c.cleared_at.is_(None))
        .order_by(assignments.c.assigned_at.desc())
        .limit(1)
    ).first()
    hidden = current is None or bool(alert["duress"])
    return ResidentAlertOut(
        id=str(alert["id"]),
        status=resident_view_status(alert),
        type=alert["type"],
        created_at=alert["created_at"],
        location_unknown=bool(alert["location_unknown"]),
        eta_seconds=None if hidden or current is None else current.eta_seconds,
        unit_callsign=None if hidden or current is None else current.callsign,
    )
