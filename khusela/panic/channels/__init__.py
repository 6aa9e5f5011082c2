"""Panic channels for phones without the app (USSD, SMS) and for MQTT devices.

What the phone channels share lives here: who is calling, and raising their alert.

A number registered to a resident raises the alert as that resident, so their panic
profile (vulnerability, false-alarm history) and their trusted contacts apply, and
presses within two minutes join through `raise_alert`. Any other number is still heard,
never dropped: the alert has no resident, its sender is `phone:<16 hex>` (a keyed hash of
the number, so presses can be matched without the number itself ending up in keys and
the audit log), and the number goes in the alert's note for the operator to call back.
The note is personal data: never log it.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, insert, select

from khusela.core.clock import Clock, SystemClock
from khusela.core.errors import InvalidInput
from khusela.core.gazetteer import Gazetteer
from khusela.identity.directory import normalise_phone
from khusela.identity.model import Role
from khusela.identity.tables import user_roles, users
from khusela.panic import records
from khusela.panic.events import ALERT_CHANGED
from khusela.panic.intake import Intake, RaisePanicAlert, raise_alert
from khusela.panic.model import (
    JOIN_WINDOW,
    OPEN_STATUSES,
    AlertType,
    Channel,
    LocationSource,
    TriageFacts,
    triage,
)
from khusela.panic.tables import alert_presses, alerts


@dataclass(frozen=True, slots=True)
class Caller:
    number: str
    """E.164 when the number could be normalised, else as the gateway sent it."""
    sender: str
    resident_id: str | None


def identify(conn: Connection, raw_number: str, pepper: str) -> Caller:
    """The caller behind a gateway's phone number: a registered resident, or an unknown number."""
    try:
        number = normalise_phone(raw_number)
    except InvalidInput:
        number = "".join(raw_number.split())
        resident_id = None
    else:
        resident_id = conn.execute(
            select(users.c.id)
            .join(user_roles, user_roles.c.user_id == users.c.id)
            .where(users.c.phone == number, users.c.is_active, user_roles.c.role == Role.RESIDENT.value)
        ).scalar()
    if resident_id is not None:
        return Caller(number, str(resident_id), str(resident_id))
    return Caller(number, phone_sender(number, pepper), None)


def phone_sender(number: str, pepper: str) -> str:
    digest = hmac.new(pepper.encode(), number.encode(), hashlib.sha256).hexdigest()
    return f"phone:{digest[:16]}"


def reference(alert_id: str) -> str:
    """The short reference a caller can quote on the phone: the alert id's last six characters."""
    return alert_id.replace("-", "")[-6:].upper()


def press_id(channel: Channel, gateway_id: str) -> str:
    """A press id from the gateway's own id (session or message), so its retries find one alert."""
    if len(gateway_id) > 48:
        gateway_id = hashlib.sha256(gateway_id.encode()).hexdigest()[:48]
    return f"{channel.value}:{gateway_id}"


def raise_from_phone(
    conn: Connection,
    caller: Caller,
    *,
    type: AlertType,
    channel: Channel,
    client_alert_id: str,
    location_text: str | None,
    gazetteer: Gazetteer,
    clock: Clock | None = None,
) -> Intake:
    """Raise (or find, or join) the caller's alert and add what they typed about where they are.

    The same `client_alert_id` always finds the same alert: that is how the second USSD
    screen reaches the alert raised on the first, and how a gateway's retry is answered.
    """
    now = (clock or SystemClock()).now()
    command = RaisePanicAlert(
        type=type,
        channel=channel,
        sender=caller.sender,
        resident_id=caller.resident_id,
        client_alert_id=client_alert_id,
        source=LocationSource.TYPED,
        location_text=location_text,
        note=None if caller.resident_id else f"Caller {caller.number}",
    )
    intake = None if caller.resident_id else _press_of_unknown_number(conn, command, now)
    if intake is None:
        intake = raise_alert(conn, command, gazetteer, clock)
    if not intake.created and location_text and location_text != intake.alert["location_text"]:
        alert = records.change(
            conn,
            intake.alert,
            {"location_text": location_text},
            actor=caller.sender,
            kind="location_typed",
            at=now,
            subject=ALERT_CHANGED,
            audit_details={"channel": channel.value},
        )
        intake = Intake(alert, created=False)
    return intake


def _press_of_unknown_number(conn: Connection, command: RaisePanicAlert, now: datetime) -> Intake | None:
    """A retry, or a repeat press joining the number's open alert; None when a new alert is due.

    `raise_alert` joins presses by resident or device; an unknown number has neither, so
    its open alert is found here through the presses it made.
    """
    earlier = conn.execute(
        select(alert_presses.c.alert_id).where(
            alert_presses.c.sender == command.sender,
            alert_presses.c.client_alert_id == command.client_alert_id,
        )
    ).scalar()
    if earlier is not None:
        return Intake(records.load(conn, earlier), created=False)
    row = conn.execute(
        select(alerts)
        .join(alert_presses, alert_presses.c.alert_id == alerts.c.id)
        .where(
            alert_presses.c.sender == command.sender,
            alerts.c.status.in_([s.value for s in OPEN_STATUSES]),
            alerts.c.created_at >= now - JOIN_WINDOW,
        )
        .order_by(alerts.c.created_at.desc())
        .limit(1)
        .with_for_update(of=alerts)
    ).first()
    if row is None:
        return None
    alert = dict(row._mapping)
    presses = alert["presses"] + 1
    facts = TriageFacts(
        AlertType(alert["type"]), silent=alert["silent"], duress=alert["duress"], presses=presses
    )
    joined = records.change(
        conn,
        alert,
        {"presses": presses, "priority": min(alert["priority"], triage(facts))},
        actor=command.sender,
        kind="press_joined",
        at=now,
        subject=ALERT_CHANGED,
        audit_details={"presses": presses, "channel": command.channel.value},
    )
    conn.execute(
        insert(alert_presses).values(
            sender=command.sender, client_alert_id=command.client_alert_id, alert_id=alert["id"], at=now
        )
    )
    return Intake(joined, created=False)
