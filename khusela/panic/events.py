"""Panic's domain events (subjects on the bus) and the payloads consumers can rely on.

| subject                   | when                                        | who reacts            |
|---------------------------|---------------------------------------------|-----------------------|
| panic.alert_raised        | a new alert was committed                   | live feed, notifier   |
| panic.alert_changed       | status, priority, location or assignment    | live feed, notifier   |
| panic.unit_changed        | a unit's status or location                 | live feed             |
| panic.escalated           | an alert missed a time target               | live feed, supervisor |
"""

from __future__ import annotations

from typing import Any

from khusela.core.events import Event

ALERT_RAISED = "panic.alert_raised"
ALERT_CHANGED = "panic.alert_changed"
UNIT_CHANGED = "panic.unit_changed"
ESCALATED = "panic.escalated"


def alert_event(subject: str, alert: dict[str, Any], change: str) -> Event:
    """An alert event carries what the policy needs to route it (locality, owner) and
    what a console needs to redraw it; never the resident's note or phone number."""
    payload = {
        "alert_id": alert["id"],
        "change": change,
        "status": alert["status"],
        "priority": alert["priority"],
        "type": alert["type"],
        "channel": alert["channel"],
        "resident_id": alert["resident_id"],
        "assigned_agency_id": alert.get("assigned_agency_id"),
        "silent": alert.get("silent", False),
        "duress": alert.get("duress", False),
        "province": alert["province"],
        "municipality": alert["municipality"],
        "cell": alert["cell"],
        "lat": alert["lat"],
        "lon": alert["lon"],
        "location_unknown": alert["location_unknown"],
        "version": alert["version"],
    }
    return Event(subject=subject, payload=payload)
