"""Reading alerts through the access policy: the queue, one alert, its trail and timeline.

Every read path (queue, detail, exports, live feed) goes through `ALERT_COLUMNS` /
`alert_resource`, so an operator sees exactly the alerts in their agency's jurisdiction, a
responder those assigned to their agency, and a resident their own.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import Connection, select

from khusela.core.errors import InvalidInput, NotFound
from khusela.identity.model import Principal
from khusela.identity.policy import Action, Columns, Resource, can, read_filter
from khusela.panic import records
from khusela.panic.escalation import EscalationKind
from khusela.panic.model import AlertStatus
from khusela.panic.tables import alert_locations, alert_timeline, alerts

ALERT_COLUMNS = Columns(
    owner=alerts.c.resident_id,
    agency=alerts.c.assigned_agency_id,
    province=alerts.c.province,
    municipality=alerts.c.municipality,
    cell=alerts.c.cell,
)


def alert_resource(alert: dict[str, Any]) -> Resource:
    """The policy's view of an alert (also used for events on the live feed)."""
    return Resource(
        owner_id=alert.get("resident_id"),
        agency_id=alert.get("assigned_agency_id"),
        province=alert.get("province"),
        municipality=alert.get("municipality"),
        cell=alert.get("cell"),
    )


def list_alerts(
    conn: Connection,
    viewer: Principal,
    statuses: Iterable[AlertStatus] | None = None,
    limit: int = 500,
) -> list[records.Alert]:
    """The operator queue: most urgent first, then oldest first."""
    query = select(alerts).where(read_filter(viewer, Action.PANIC_READ, ALERT_COLUMNS))
    if statuses is not None:
        query = query.where(alerts.c.status.in_([s.value for s in statuses]))
    query = query.order_by(alerts.c.priority, alerts.c.created_at).limit(limit)
    return [dict(r._mapping) for r in conn.execute(query)]


ESCALATION_KINDS = {kind.timeline_kind: kind.value for kind in EscalationKind}
"""Timeline kind that records an escalation → the escalation's name."""


def escalations_of(conn: Connection, alert_ids: Sequence[str]) -> dict[str, list[str]]:
    """Which escalations each alert has had, so that a console reloading its queue shows
    them as it would have shown the live `panic.escalated` events."""
    found: dict[str, list[str]] = {}
    for start in range(0, len(alert_ids), 5000):  # within SQLite's bound-parameter limit
        rows = conn.execute(
            select(alert_timeline.c.alert_id, alert_timeline.c.kind).where(
                alert_timeline.c.alert_id.in_(alert_ids[start : start + 5000]),
                alert_timeline.c.kind.in_(ESCALATION_KINDS),
            )
        )
        for alert_id, kind in rows:
            found.setdefault(alert_id, []).append(ESCALATION_KINDS[kind])
    return found


def visible_alert(
    conn: Connection,
    viewer: Principal,
    alert_id: str,
    action: Action = Action.PANIC_READ,
    *,
    for_update: bool = False,
) -> records.Alert:
    """One alert if `viewer` may perform `action` on it; otherwise NotFound (never hint it exists)."""
    alert = records.load(conn, alert_id, for_update=for_update)
    if not can(viewer, action, alert_resource(alert)):
        raise NotFound("no such alert")
    return alert


def trail(conn: Connection, alert_id: str) -> list[dict[str, Any]]:
    rows = conn.execute(
        select(alert_locations).where(alert_locations.c.alert_id == alert_id).order_by(alert_locations.c.at)
    )
    return [dict(r._mapping) for r in rows]


def timeline(conn: Connection, alert_id: str) -> list[dict[str, Any]]:
    rows = conn.execute(
        select(alert_timeline).where(alert_timeline.c.alert_id == alert_id).order_by(alert_timeline.c.id)
    )
    return [{**dict(r._mapping), "details": json.loads(r.details)} for r in rows]


def parse_status(value: str) -> AlertStatus:
    """A status filter from a query string; an unknown one is bad input (422), not a 404."""
    try:
        return AlertStatus(value)
    except ValueError:
        choices = ", ".join(["open", "closed", "all", *(s.value for s in AlertStatus)])
        raise InvalidInput(f"unknown status {value!r} (choose from {choices})") from None
