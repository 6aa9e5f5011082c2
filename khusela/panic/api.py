"""Panic's routes: raising alerts, the operator queue and detail, the resident's own
alert (location trail, cancel), the panic profile, and units."""

from __future__ import annotations

from dataclasses import asdict
from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Response, status

from khusela.api.deps import PlatformDep, require
from khusela.identity.model import Principal, Role
from khusela.identity.policy import Action
from khusela.panic import lifecycle, profile, queries, records
from khusela.panic.intake import FALSE_ALARM_REVIEW, RaisePanicAlert, raise_alert
from khusela.panic.model import OPEN_STATUSES, AlertStatus, Channel
from khusela.panic.resident_view import resident_view
from khusela.panic.schemas import (
    AlertCreate,
    AlertDetailOut,
    AlertOut,
    CancelIn,
    LocationIn,
    NoteIn,
    ProfileIn,
    ProfileOut,
    ResidentAlertOut,
)

router = APIRouter(prefix="/api/panic", tags=["panic"])
Resident = Annotated[Principal, Depends(require(Action.PANIC_RAISE))]
Reader = Annotated[Principal, Depends(require(Action.PANIC_READ))]
Dispatcher = Annotated[Principal, Depends(require(Action.PANIC_DISPATCH))]


@router.post(
    "/alerts",
    status_code=status.HTTP_201_CREATED,
    response_model=ResidentAlertOut,
    summary="Raise a panic alert (answered only after a durable commit)",
    responses={200: {"description": "A retry or a repeat press: the existing alert"}},
)
def create_alert(
    body: AlertCreate, resident: Resident, platform: PlatformDep, response: Response
) -> ResidentAlertOut:
    command = RaisePanicAlert(
        type=body.type,
        channel=Channel.APP,
        sender=resident.user_id,
        resident_id=resident.user_id,
        client_alert_id=body.client_alert_id,
        lat=body.lat,
        lon=body.lon,
        accuracy_m=body.accuracy_m,
        source=body.source,
        silent=body.silent,
        note=body.note,
    )
    with platform.db.write() as conn:
        intake = raise_alert(conn, command, platform.gazetteer)
        out = _new_alert_view(intake.alert) if intake.created else resident_view(conn, intake.alert)
    platform.relay.notify()
    if not intake.created:
        response.status_code = status.HTTP_200_OK
    return out


def _new_alert_view(alert: records.Alert) -> ResidentAlertOut:
    """`resident_view` of an alert created in this transaction: no unit can be assigned yet,
    so the answer needs no query (one statement less on the hottest path)."""
    return ResidentAlertOut(
        id=str(alert["id"]),
        status=lifecycle.resident_view_status(alert),
        type=alert["type"],
        created_at=alert["created_at"],
        location_unknown=bool(alert["location_unknown"]),
        eta_seconds=None,
        unit_callsign=None,
    )


@router.get("/alerts", response_model=list[AlertOut] | list[ResidentAlertOut], summary="The alert queue")
def list_alerts(
    viewer: Reader,
    platform: PlatformDep,
    status_filter: Annotated[str, Query(alias="status", pattern=r"^(open|closed|all|[a-z_]+)$")] = "open",
    limit: Annotated[int, Query(ge=1, le=10_000)] = 5000,
) -> list[AlertOut] | list[ResidentAlertOut]:
    """Operators: alerts in their jurisdiction, most urgent then oldest first. Residents: their own.
    The default limit is high on purpose: an open alert must never fall off the queue."""
    if status_filter == "open":
        statuses: set[AlertStatus] | None = set(OPEN_STATUSES)
    elif status_filter == "closed":
        statuses = {AlertStatus.RESOLVED, AlertStatus.CANCELLED}
    elif status_filter == "all":
        statuses = None
    else:
        statuses = {queries.parse_status(status_filter)}
    with platform.db.read() as conn:
        rows = queries.list_alerts(conn, viewer, statuses, limit)
        if viewer.roles == {Role.RESIDENT}:
            return [resident_view(conn, r) for r in rows]
        escalated = queries.escalations_of(conn, [r["id"] for r in rows])
    return [AlertOut.model_validate({**r, "escalations": escalated.get(r["id"], [])}) for r in rows]


@router.get("/alerts/{alert_id}", response_model=AlertDetailOut | ResidentAlertOut, summary="One alert")
def get_alert(alert_id: str, viewer: Reader, platform: PlatformDep) -> AlertDetailOut | ResidentAlertOut:
    with platform.db.read() as conn:
        alert = queries.visible_alert(conn, viewer, alert_id)
        if viewer.roles == {Role.RESIDENT}:
            return resident_view(conn, alert)
        escalated = queries.escalations_of(conn, [alert_id]).get(alert_id, [])
        card = (
            profile.resident_card(conn, alert["resident_id"], FALSE_ALARM_REVIEW)
            if alert["resident_id"]
            else None
        )
        detail = AlertDetailOut.model_validate(
            {
                **alert,
                "trail": queries.trail(conn, alert_id),
                "timeline": queries.timeline(conn, alert_id),
                "resident": None if card is None else asdict(card),
                "escalations": escalated,
            }
        )
    return detail


@router.post(
    "/alerts/{alert_id}/notes", status_code=status.HTTP_204_NO_CONTENT, summary="Add an operator's note"
)
def add_note(alert_id: str, body: NoteIn, operator: Dispatcher, platform: PlatformDep) -> Response:
    with platform.db.write() as conn:
        lifecycle.add_note(conn, operator, alert_id, body.text)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/alerts/{alert_id}/acknowledge", response_model=AlertOut, summary="The operator has seen it")
def acknowledge(alert_id: str, operator: Dispatcher, platform: PlatformDep) -> AlertOut:
    with platform.db.write() as conn:
        alert = lifecycle.acknowledge(conn, operator, alert_id)
    platform.relay.notify()
    return AlertOut.model_validate(alert)


@router.post(
    "/alerts/{alert_id}/locations", response_model=ResidentAlertOut, summary="Add to the location trail"
)
def add_location(
    alert_id: str, body: LocationIn, resident: Resident, platform: PlatformDep
) -> ResidentAlertOut:
    with platform.db.write() as conn:
        alert = lifecycle.add_location(
            conn, resident, alert_id, body.lat, body.lon, body.accuracy_m, body.source, platform.gazetteer
        )
        out = resident_view(conn, alert)
    platform.relay.notify()
    return out


@router.post("/alerts/{alert_id}/cancel", response_model=ResidentAlertOut, summary="Cancel with the PIN")
def cancel(alert_id: str, body: CancelIn, resident: Resident, platform: PlatformDep) -> ResidentAlertOut:
    with platform.db.write() as conn:
        alert = lifecycle.cancel(conn, resident, alert_id, body.pin)
        out = resident_view(conn, alert)
    platform.relay.notify()
    return out


def _profile_out(p: profile.PanicProfile) -> ProfileOut:
    return ProfileOut(
        has_pin=p.has_pin,
        has_duress_pin=p.has_duress_pin,
        vulnerable=p.vulnerable,
        trusted_contacts=[asdict(c) for c in p.trusted_contacts],
    )


@router.get("/profile", response_model=ProfileOut, summary="My panic profile")
def get_profile(resident: Resident, platform: PlatformDep) -> ProfileOut:
    with platform.db.read() as conn:
        return _profile_out(profile.get_profile(conn, resident))


@router.put("/profile", response_model=ProfileOut, summary="Set PINs, vulnerable flag, trusted contacts")
def put_profile(body: ProfileIn, resident: Resident, platform: PlatformDep) -> ProfileOut:
    contacts = (
        None
        if body.trusted_contacts is None
        else [profile.TrustedContact(c.name, c.phone) for c in body.trusted_contacts]
    )
    with platform.db.write() as conn:
        updated = profile.set_profile(
            conn,
            resident,
            now=datetime.now(UTC),
            pin=body.pin,
            duress_pin=body.duress_pin,
            vulnerable=body.vulnerable,
            contacts=contacts,
        )
    return _profile_out(updated)
