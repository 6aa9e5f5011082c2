"""What happens to an open alert before dispatch: the operator acknowledges it, the
resident's phone adds to its location trail, and the resident may cancel it — or, under
duress, appear to cancel it while the alert silently becomes more urgent."""

from __future__ import annotations

from sqlalchemy import Connection, insert, select

from khusela.audit import log as audit
from khusela.core.clock import Clock, SystemClock
from khusela.core.errors import Conflict, Forbidden, InvalidInput
from khusela.core.gazetteer import Gazetteer
from khusela.identity import passwords
from khusela.identity.model import Principal
from khusela.identity.policy import Action
from khusela.panic import records
from khusela.panic.events import ALERT_CHANGED
from khusela.panic.model import (
    HIGHEST,
    OPEN_STATUSES,
    AlertStatus,
    LocationSource,
    Outcome,
    can_move,
    plausible,
)
from khusela.panic.queries import visible_alert
from khusela.panic.tables import alert_locations, panic_profiles


def acknowledge(
    conn: Connection, operator: Principal, alert_id: str, clock: Clock | None = None
) -> records.Alert:
    """The operator has seen the alert: stops the 30-second acknowledgement timer."""
    now = (clock or SystemClock()).now()
    alert = visible_alert(conn, operator, alert_id, Action.PANIC_DISPATCH, for_update=True)
    if alert["status"] != AlertStatus.NEW.value:
        raise Conflict(f"the alert is already {alert['status']}")
    return records.change(
        conn,
        alert,
        {"status": AlertStatus.ACKNOWLEDGED.value, "acknowledged_at": now},
        actor=operator.username,
        kind="acknowledged",
        at=now,
        subject=ALERT_CHANGED,
    )


def add_note(
    conn: Connection, operator: Principal, alert_id: str, text: str, clock: Clock | None = None
) -> None:
    """An operator's note on the alert's timeline (what was said on the phone, who was
    called). Notes never change the alert, so they need no version bump and no event."""
    now = (clock or SystemClock()).now()
    visible_alert(conn, operator, alert_id, Action.PANIC_DISPATCH)
    cleaned = text.strip()
    if not cleaned:
        raise InvalidInput("the note is empty")
    records.note(conn, alert_id, operator.username, "note", now, text=cleaned)
    # The audit trail says a note was written, not what it says (it may hold personal data).
    audit.record(conn, operator.username, "panic.note", "alert", alert_id, {"chars": len(cleaned)})


def add_location(
    conn: Connection,
    resident: Principal,
    alert_id: str,
    lat: float | None,
    lon: float | None,
    accuracy_m: float | None,
    source: LocationSource,
    gazetteer: Gazetteer,
    clock: Clock | None = None,
) -> records.Alert:
    """A new fix from the resident's phone while the alert is open.

    An implausible fix is not an error for a person in danger: it is ignored and the
    alert keeps its last good location (or stays `location_unknown`).
    """
    now = (clock or SystemClock()).now()
    alert = visible_alert(conn, resident, alert_id, Action.PANIC_RAISE, for_update=True)
    if AlertStatus(alert["status"]) not in OPEN_STATUSES:
        raise Conflict("the alert is closed")
    if lat is None or lon is None or not plausible(lat, lon):
        return alert
    place = gazetteer.locate(lat, lon)
    conn.execute(
        insert(alert_locations).values(
            alert_id=alert_id, lat=lat, lon=lon, accuracy_m=accuracy_m, source=source.value, at=now
        )
    )
    values = {
        "lat": lat,
        "lon": lon,
        "accuracy_m": accuracy_m,
        "location_source": source.value,
        "location_at": now,
        "location_unknown": False,
        "outside_coverage": not place.covered,
        "province": place.province,
        "municipality": place.municipality,
        "cell": place.cell,
    }
    return records.change(
        conn,
        alert,
        values,
        actor=resident.username,
        kind="location",
        at=now,
        subject=ALERT_CHANGED,
        audit_details={"accuracy_m": accuracy_m, "source": source.value},
    )


def cancel(
    conn: Connection, resident: Principal, alert_id: str, pin: str, clock: Clock | None = None
) -> records.Alert:
    """Cancel with the PIN; the duress PIN answers exactly the same but escalates instead.

    Whoever forces the resident's hand must not be able to tell the two apart, so the
    caller shows the resident the same "cancelled" answer in both cases (see
    `resident_view`).
    """
    now = (clock or SystemClock()).now()
    alert = visible_alert(conn, resident, alert_id, Action.PANIC_RAISE, for_update=True)
    profile = conn.execute(select(panic_profiles).where(panic_profiles.c.user_id == resident.user_id)).first()
    if profile is None or not profile.pin_hash:
        raise InvalidInput("set a PIN in your panic profile before cancelling alerts")
    if profile.duress_pin_hash and passwords.verify_password(profile.duress_pin_hash, pin):
        if alert["duress"]:
            return alert
        return records.change(
            conn,
            alert,
            {"duress": True, "silent": True, "priority": HIGHEST},
            actor=resident.username,
            kind="duress",
            at=now,
            subject=ALERT_CHANGED,
        )
    if not passwords.verify_password(profile.pin_hash, pin):
        raise Forbidden("wrong PIN")
    if alert["duress"]:
        # A real cancel cannot undo a duress signal already given.
        return alert
    if not can_move(AlertStatus(alert["status"]), AlertStatus.CANCELLED):
        raise Conflict(f"the alert is {alert['status']} and can no longer be cancelled")
    cancelled = records.change(
        conn,
        alert,
        {
            "status": AlertStatus.CANCELLED.value,
            "outcome": Outcome.CANCELLED_BY_RESIDENT.value,
            "closed_at": now,
        },
        actor=resident.username,
        kind="cancelled",
        at=now,
        subject=ALERT_CHANGED,
    )
    # Units on their way are stood down in the same transaction: none is left "assigned".
    from khusela.panic.dispatch import release_units

    release_units(conn, cancelled, resident.username, now)
    return cancelled


def resident_view_status(alert: records.Alert) -> str:
    """What the resident's phone shows: a duress alert looks cancelled."""
    return AlertStatus.CANCELLED.value if alert["duress"] else str(alert["status"])
