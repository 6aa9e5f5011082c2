"""Raising a panic alert: every channel (app, USSD, SMS, device) ends here.

The promise to a person in danger: the alert is committed, with its event in the outbox,
before any answer goes back; a retry returns the same alert; presses within two minutes
join the open alert; and a bad or missing location never stops an alert — it is accepted
and flagged `location_unknown` for the operator to chase.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Connection, Select, bindparam, insert, select

from khusela.audit import log as audit
from khusela.bus.outbox import enqueue
from khusela.core.clock import Clock, SystemClock
from khusela.core.gazetteer import Gazetteer
from khusela.core.ids import new_id
from khusela.panic import records
from khusela.panic.events import ALERT_CHANGED, ALERT_RAISED, alert_event
from khusela.panic.model import (
    JOIN_WINDOW,
    OPEN_STATUSES,
    AlertStatus,
    AlertType,
    Channel,
    LocationSource,
    TriageFacts,
    plausible,
    triage,
)
from khusela.panic.tables import alert_locations, alert_presses, alerts, panic_profiles

FALSE_ALARM_REVIEW = 3
"""Residents with this many false alarms are flagged for operator review (never dropped)."""

# Built once: `insert(t).values(**row)` rebuilds a bound parameter per column on every call,
# which was a visible share of an alert's CPU; these take the row as parameters instead.
_INSERT_ALERT = insert(alerts)
_INSERT_LOCATION = insert(alert_locations)
_INSERT_PRESS = insert(alert_presses)
_EARLIER_PRESS = select(alert_presses.c.alert_id).where(
    alert_presses.c.sender == bindparam("sender"),
    alert_presses.c.client_alert_id == bindparam("client_alert_id"),
)
_PROFILE = select(panic_profiles.c.vulnerable, panic_profiles.c.false_alarms).where(
    panic_profiles.c.user_id == bindparam("user_id")
)


def _open_alert_of(column: ColumnElement[str | None]) -> Select[Any]:
    """The id of the newest open alert of one resident (or device) raised since `since`,
    locked. Only the id: most presses find none, and reading the alert's thirty columns
    just to learn that cost more than the statement itself."""
    return (
        select(alerts.c.id)
        .where(
            column == bindparam("who"),
            alerts.c.status.in_([s.value for s in OPEN_STATUSES]),
            alerts.c.created_at >= bindparam("since"),
        )
        .order_by(alerts.c.created_at.desc())
        .limit(1)
        .with_for_update()
    )


_OPEN_OF_RESIDENT = _open_alert_of(alerts.c.resident_id)
_OPEN_OF_DEVICE = _open_alert_of(alerts.c.device_id)


@dataclass(frozen=True, slots=True)
class RaisePanicAlert:
    """A press of the panic button, from whichever channel."""

    type: AlertType
    channel: Channel
    sender: str
    """Who pressed: the resident's user id, or `device:<id>` for a site device."""
    resident_id: str | None = None
    client_alert_id: str | None = None
    lat: float | None = None
    lon: float | None = None
    accuracy_m: float | None = None
    source: LocationSource = LocationSource.GPS
    location_text: str | None = None
    silent: bool = False
    note: str | None = None
    device_id: str | None = None


@dataclass(frozen=True, slots=True)
class Intake:
    alert: records.Alert
    created: bool
    """False when the press joined an open alert or repeated an earlier request."""


def raise_alert(
    conn: Connection, command: RaisePanicAlert, gazetteer: Gazetteer, clock: Clock | None = None
) -> Intake:
    now = (clock or SystemClock()).now()
    if command.client_alert_id:
        earlier = conn.execute(
            _EARLIER_PRESS, {"sender": command.sender, "client_alert_id": command.client_alert_id}
        ).first()
        if earlier is not None:
            return Intake(records.load(conn, earlier.alert_id), created=False)
    open_alert = _open_alert_to_join(conn, command, now)
    if open_alert is not None:
        return Intake(_join(conn, open_alert, command, gazetteer, now), created=False)
    return Intake(_create(conn, command, gazetteer, now), created=True)


def _record_press(conn: Connection, command: RaisePanicAlert, alert_id: str, now: datetime) -> None:
    """Remember the client's id for this press, so a retry finds the same alert."""
    if command.client_alert_id:
        conn.execute(
            _INSERT_PRESS,
            {
                "sender": command.sender,
                "client_alert_id": command.client_alert_id,
                "alert_id": alert_id,
                "at": now,
            },
        )


def _open_alert_to_join(conn: Connection, command: RaisePanicAlert, now: datetime) -> records.Alert | None:
    if command.resident_id is None and command.device_id is None:
        return None
    if command.resident_id:
        row = conn.execute(
            _OPEN_OF_RESIDENT, {"who": command.resident_id, "since": now - JOIN_WINDOW}
        ).first()
    else:
        row = conn.execute(_OPEN_OF_DEVICE, {"who": command.device_id, "since": now - JOIN_WINDOW}).first()
    return None if row is None else records.load(conn, row.id)  # already locked by this transaction


def _profile(conn: Connection, resident_id: str | None) -> tuple[bool, bool]:
    """(vulnerable, flagged for false alarms) from the resident's panic profile."""
    if resident_id is None:
        return False, False
    row = conn.execute(_PROFILE, {"user_id": resident_id}).first()
    if row is None:
        return False, False
    return bool(row.vulnerable), int(row.false_alarms) >= FALSE_ALARM_REVIEW


def _create(conn: Connection, command: RaisePanicAlert, gazetteer: Gazetteer, now: datetime) -> records.Alert:
    located = plausible(command.lat, command.lon)
    lat, lon = (command.lat, command.lon) if located else (None, None)
    place = gazetteer.locate(lat, lon)
    vulnerable, flagged = _profile(conn, command.resident_id)
    priority = triage(
        TriageFacts(
            command.type, silent=command.silent, vulnerable=vulnerable, flagged_for_false_alarms=flagged
        )
    )
    alert: records.Alert = {
        "id": new_id(),
        "resident_id": command.resident_id,
        "device_id": command.device_id,
        "channel": command.channel.value,
        "type": command.type.value,
        "status": AlertStatus.NEW.value,
        "priority": priority,
        "silent": command.silent,
        "duress": False,
        "presses": 1,
        "location_unknown": not located,
        "outside_coverage": located and not place.covered,
        "lat": lat,
        "lon": lon,
        "accuracy_m": command.accuracy_m if located else None,
        "location_source": (command.source if located else LocationSource.UNKNOWN).value,
        "location_at": now if located else None,
        "location_text": (command.location_text or "")[:300] or None,
        "province": place.province,
        "municipality": place.municipality,
        "cell": place.cell,
        "note": (command.note or "")[:500] or None,
        "outcome": None,
        "created_at": now,
        "acknowledged_at": None,
        "dispatched_at": None,
        "on_scene_at": None,
        "closed_at": None,
        "updated_at": now,
        "assigned_agency_id": None,
        "version": 1,
    }
    conn.execute(_INSERT_ALERT, alert)
    if located:
        _trail(conn, alert["id"], lat, lon, command.accuracy_m, command.source, now)
    actor = command.sender
    records.note(
        conn, alert["id"], actor, "raised", now, channel=command.channel.value, flagged_for_review=flagged
    )
    _record_press(conn, command, alert["id"], now)
    enqueue(conn, alert_event(ALERT_RAISED, alert, "raised"))
    # Staged, not appended: alerts must not queue behind each other for the chain's head
    # row. The record commits with the alert and is chained moments later (audit.log).
    audit.stage(
        conn, audit.Entry(actor, "panic.raise", "alert", alert["id"], {"channel": command.channel.value})
    )
    return alert


def _join(
    conn: Connection, alert: records.Alert, command: RaisePanicAlert, gazetteer: Gazetteer, now: datetime
) -> records.Alert:
    presses = alert["presses"] + 1
    vulnerable, flagged = _profile(conn, command.resident_id)
    silent = alert["silent"] or command.silent
    values: dict[str, object] = {
        "presses": presses,
        "silent": silent,
        "priority": min(
            alert["priority"],
            triage(
                TriageFacts(
                    AlertType(alert["type"]),
                    silent=silent,
                    duress=alert["duress"],
                    presses=presses,
                    vulnerable=vulnerable,
                    flagged_for_false_alarms=flagged,
                )
            ),
        ),
    }
    if command.lat is not None and command.lon is not None and plausible(command.lat, command.lon):
        place = gazetteer.locate(command.lat, command.lon)
        values.update(
            lat=command.lat,
            lon=command.lon,
            accuracy_m=command.accuracy_m,
            location_source=command.source.value,
            location_at=now,
            location_unknown=False,
            outside_coverage=not place.covered,
            province=place.province,
            municipality=place.municipality,
            cell=place.cell,
        )
        _trail(conn, alert["id"], command.lat, command.lon, command.accuracy_m, command.source, now)
    _record_press(conn, command, alert["id"], now)
    return records.change(
        conn,
        alert,
        values,
        actor=command.sender,
        kind="press_joined",
        at=now,
        subject=ALERT_CHANGED,
        audit_details={"presses": presses, "channel": command.channel.value},
    )


def _trail(
    conn: Connection,
    alert_id: str,
    lat: float | None,
    lon: float | None,
    accuracy: float | None,
    source: LocationSource,
    at: datetime,
) -> None:
    conn.execute(
        _INSERT_LOCATION,
        {
            "alert_id": alert_id,
            "lat": lat,
            "lon": lon,
            "accuracy_m": accuracy,
            "source": source.value,
            "at": at,
        },
    )
