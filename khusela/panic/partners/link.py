"""The partner link: an ASAP-like exchange with private security and EMS control rooms.

Modelled on the flow of APCO/CSAA ASAP (alarm monitoring company ↔ PSAP), but it is not
ASAP: the messages are our own JSON. A partner's system receives a panic alert, answers
accept or reject, then reports dispatched, on scene and closed, so a firm's control room
can work the alert without a Khusela console. Plain data and pure functions, no I/O.

**Signing (both directions).** Each partner has a shared secret. Every message carries

    X-Khusela-Timestamp: <unix seconds when sent>
    X-Khusela-Signature: sha256=<hex HMAC-SHA256(secret, "<timestamp>." + raw body)>

The timestamp is inside the signed bytes, so it cannot be changed without breaking the
signature; a receiver refuses a message more than 5 minutes from its own clock (replay).

**Khusela → partner.** `POST <partner url>`, `Content-Type: application/json`, plus
`X-Khusela-Delivery: <message id>`:

    {"message_id": "…", "kind": "offer" | "update", "created_at": "<RFC 3339>",
     "partner_status": "offered" | "accepted" | …,   (where the partner stands, as we see it)
     "reply_path": "/api/panic/partners/<agency id>/updates",
     "alert": {"id": "…", "version": 7, "type": "crime", "status": "new", "priority": 1,
               "open": true, "silent_approach": true, "duress": false, "presses": 2,
               "raised_at": "…",
               "location": {"lat": -26.18850, "lon": 28.04700, "accuracy_m": 12.0,
                            "source": "gps", "at": "…", "text": null, "unknown": false},
               "province": "GP", "municipality": "JHB"}}

`offer` is the first message about an alert (the operator offered it, or dispatched one of
the partner's units); `update` follows every later change (a new fix, a cancel, a duress
signal, the alert closed). `version` only grows: apply a message only if its version is
newer than the last one applied (retries may arrive out of order). Any 2xx means
"received"; anything else, or no answer within 5 s, is retried with backoff, and if the
partner stays unreachable the operator's timeline says so. Never sent: the resident's
name, phone number or note.

**Partner → Khusela.** `POST /api/panic/partners/<agency id>/updates`, signed the same way:

    {"alert_id": "…", "status": "accepted" | "rejected" | "dispatched" | "on_scene" | "closed",
     "unit_ref": "AR-12"?, "eta_seconds": 420?, "outcome": "attended"?, "reason": "…"?,
     "at": "<RFC 3339 with offset>"}

Answers: 200 applied (repeating the current status changes nothing); 401 bad, missing or
stale signature; 404 the alert was not offered to this partner; 409 not allowed from where
the partner stands, or the alert is closed; 422 malformed. The flow:

    offered → accepted | rejected
    accepted → dispatched | rejected | closed
    dispatched → on_scene | rejected | closed
    on_scene → closed

A rejection returns the alert to the operator queue when the partner held it.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from khusela.core.clock import as_utc
from khusela.panic.model import OPEN_STATUSES, AlertStatus, Outcome, can_move

TIMESTAMP_HEADER = "X-Khusela-Timestamp"
SIGNATURE_HEADER = "X-Khusela-Signature"
DELIVERY_HEADER = "X-Khusela-Delivery"
MAX_SKEW_SECONDS = 300
PARTNER_AGENCY_TYPES = frozenset({"private_security", "ems"})


class PartnerStatus(StrEnum):
    OFFERED = "offered"
    ACCEPTED = "accepted"
    REJECTED = "rejected"
    DISPATCHED = "dispatched"
    ON_SCENE = "on_scene"
    CLOSED = "closed"


ACTIVE = frozenset(
    {PartnerStatus.OFFERED, PartnerStatus.ACCEPTED, PartnerStatus.DISPATCHED, PartnerStatus.ON_SCENE}
)
"""A partner in one of these is working the alert and is told of every change to it."""

_NEXT: dict[PartnerStatus, frozenset[PartnerStatus]] = {
    PartnerStatus.OFFERED: frozenset({PartnerStatus.ACCEPTED, PartnerStatus.REJECTED}),
    PartnerStatus.ACCEPTED: frozenset(
        {PartnerStatus.DISPATCHED, PartnerStatus.REJECTED, PartnerStatus.CLOSED}
    ),
    PartnerStatus.DISPATCHED: frozenset(
        {PartnerStatus.ON_SCENE, PartnerStatus.REJECTED, PartnerStatus.CLOSED}
    ),
    PartnerStatus.ON_SCENE: frozenset({PartnerStatus.CLOSED}),
    PartnerStatus.REJECTED: frozenset(),
    PartnerStatus.CLOSED: frozenset(),
}


def can_report(current: PartnerStatus, reported: PartnerStatus) -> bool:
    """Whether a partner standing at `current` may report `reported` (checked state machine)."""
    return reported in _NEXT[current]


# ------------------------------------------------------------------ signing


class BadSignature(Exception):
    """The message is unsigned, wrongly signed or outside the replay window."""


def signature(secret: str, timestamp: int, body: bytes) -> str:
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"sha256={mac.hexdigest()}"


def signed_headers(secret: str, body: bytes, now: datetime) -> dict[str, str]:
    timestamp = int(as_utc(now).timestamp())
    return {
        "Content-Type": "application/json",
        TIMESTAMP_HEADER: str(timestamp),
        SIGNATURE_HEADER: signature(secret, timestamp, body),
    }


def verify(secret: str, body: bytes, timestamp: str | None, signed: str | None, now: datetime) -> None:
    """Raise `BadSignature` unless `signed` is the signature of `timestamp.body` and the
    timestamp lies within `MAX_SKEW_SECONDS` of `now`."""
    if not timestamp or not signed:
        raise BadSignature("the message is not signed")
    try:
        sent = int(timestamp)
    except ValueError:
        raise BadSignature("the timestamp is not a number of seconds") from None
    if abs(as_utc(now).timestamp() - sent) > MAX_SKEW_SECONDS:
        raise BadSignature("the message is too old or from the future (replay window is 5 minutes)")
    if not hmac.compare_digest(signature(secret, sent, body), signed.strip()):
        raise BadSignature("the signature does not match")


# ------------------------------------------------------------------ messages


def _time(value: datetime | None) -> str | None:
    return None if value is None else as_utc(value).astimezone(UTC).replace(microsecond=0).isoformat()


def alert_message(
    kind: str,
    message_id: str,
    alert: dict[str, Any],
    agency_id: str,
    partner_status: PartnerStatus,
    now: datetime,
) -> bytes:
    """The JSON body of a message to a partner (the exact bytes that are signed)."""
    located = not alert["location_unknown"] and alert["lat"] is not None
    body = {
        "message_id": message_id,
        "kind": kind,
        "created_at": _time(now),
        "partner_status": partner_status.value,
        "reply_path": f"/api/panic/partners/{agency_id}/updates",
        "alert": {
            "id": alert["id"],
            "version": alert["version"],
            "type": alert["type"],
            "status": alert["status"],
            "priority": alert["priority"],
            "open": AlertStatus(alert["status"]) in OPEN_STATUSES,
            "silent_approach": bool(alert["silent"] or alert["duress"]),
            "duress": bool(alert["duress"]),
            "presses": alert["presses"],
            "raised_at": _time(alert["created_at"]),
            "location": {
                "lat": alert["lat"] if located else None,
                "lon": alert["lon"] if located else None,
                "accuracy_m": alert["accuracy_m"] if located else None,
                "source": alert["location_source"],
                "at": _time(alert["location_at"]) if located else None,
                "text": alert.get("location_text"),
                "unknown": not located,
            },
            "province": alert["province"],
            "municipality": alert["municipality"],
        },
    }
    return json.dumps(body, separators=(",", ":"), sort_keys=True).encode()


# ------------------------------------------------------------------ effect on the alert


def alert_changes(
    alert: dict[str, Any],
    agency_id: str,
    reported: PartnerStatus,
    now: datetime,
    outcome: str | None,
    units_on_alert: int = 0,
) -> dict[str, Any]:
    """What a partner's report changes on the alert row (may be nothing beyond the timeline).

    Accepting makes the partner the responsible agency unless another already is (and
    acknowledges a new alert). Dispatched, on scene and closed move the alert only while the
    partner is its responsible agency. A rejection by the responsible partner frees the
    alert: no agency, and back to "acknowledged" (waiting for dispatch) if it was dispatched
    — unless units are still assigned to it (`units_on_alert`), which the operator must
    stand down first: then the rejection is only a timeline line.
    """
    status = AlertStatus(alert["status"])
    holder = alert.get("assigned_agency_id")
    if reported is PartnerStatus.ACCEPTED:
        return _accepted(status, holder, agency_id, now)
    if reported is PartnerStatus.REJECTED:
        holds_alone = holder == agency_id and units_on_alert == 0
        return _rejected(alert, status, now) if holds_alone else {}
    return _progress(status, reported, now, outcome) if holder == agency_id else {}


def _progress(
    status: AlertStatus, reported: PartnerStatus, now: datetime, outcome: str | None
) -> dict[str, Any]:
    """Dispatched, on scene, closed: moves of an alert the partner is responsible for."""
    if reported is PartnerStatus.DISPATCHED and status in (AlertStatus.NEW, AlertStatus.ACKNOWLEDGED):
        return {"status": AlertStatus.DISPATCHED.value, "dispatched_at": now}
    if (
        reported is PartnerStatus.ON_SCENE
        and status is not AlertStatus.ON_SCENE
        and can_move(status, AlertStatus.ON_SCENE)
    ):
        return {"status": AlertStatus.ON_SCENE.value, "on_scene_at": now}
    if reported is PartnerStatus.CLOSED and can_move(status, AlertStatus.RESOLVED):
        return {
            "status": AlertStatus.RESOLVED.value,
            "outcome": outcome or Outcome.ATTENDED.value,
            "closed_at": now,
        }
    return {}


def _accepted(status: AlertStatus, holder: str | None, agency_id: str, now: datetime) -> dict[str, Any]:
    values: dict[str, Any] = {}
    if holder is None:
        values["assigned_agency_id"] = agency_id
    if status is AlertStatus.NEW:
        values.update(status=AlertStatus.ACKNOWLEDGED.value, acknowledged_at=now)
    return values


def _rejected(alert: dict[str, Any], status: AlertStatus, now: datetime) -> dict[str, Any]:
    values: dict[str, Any] = {"assigned_agency_id": None}
    if status in (AlertStatus.DISPATCHED, AlertStatus.EN_ROUTE):
        values["status"] = AlertStatus.ACKNOWLEDGED.value
        if alert.get("acknowledged_at") is None:
            values["acknowledged_at"] = now
    return values
