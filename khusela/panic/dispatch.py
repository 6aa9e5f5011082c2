"""Dispatching units to alerts, and responders moving their assignments to the end.

An operator dispatches a unit to an alert they may dispatch to (PANIC_DISPATCH on the
alert). The unit must be available, unless the operator explicitly re-dispatches it, which
stands it down from its current alert first. The responder then moves the assignment
acknowledged → en route → on scene → resolved (with an outcome); each step is checked by
the state machine below, timestamped on the assignment, and written to the alert with
`records.change` (timeline, audit record and event in one transaction). Resolving frees
the unit; the last open assignment resolved resolves the alert; an alert closed by other
means frees all its units through `release_units`.

Locks are always taken alerts first (by id), then the unit, so that a dispatch, a
re-dispatch and a responder's step never deadlock one another on PostgreSQL.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Connection, insert, select, update

from khusela.audit import log as audit
from khusela.bus.outbox import enqueue
from khusela.core.clock import Clock, SystemClock
from khusela.core.errors import Conflict, Forbidden, InvalidInput, NotFound
from khusela.core.ids import new_id
from khusela.identity.directory import get_agency
from khusela.identity.model import Principal
from khusela.identity.policy import Action, can, read_filter
from khusela.panic import records
from khusela.panic.avl import Unit, load_unit, unit_changed, unit_resource
from khusela.panic.events import ALERT_CHANGED
from khusela.panic.model import OPEN_STATUSES, AlertStatus, Outcome, UnitKind, UnitStatus, can_move
from khusela.panic.queries import ALERT_COLUMNS, alert_resource, visible_alert
from khusela.panic.recommend import (
    REACH,
    ROAD_FACTOR,
    AgencyInfo,
    Reach,
    Refusal,
    agreed_partners,
    haversine_m,
    refusal,
    speed_mps,
)
from khusela.panic.tables import alerts, assignments, units
from khusela.panic.units import UNIT_COLUMNS

Assignment = dict[str, Any]
"""An assignment row as a plain mapping (column name → value)."""


class AssignmentStatus(StrEnum):
    ASSIGNED = "assigned"
    ACKNOWLEDGED = "acknowledged"
    EN_ROUTE = "en_route"
    ON_SCENE = "on_scene"
    RESOLVED = "resolved"
    CANCELLED = "cancelled"
    """Stood down by the operator, re-dispatched elsewhere, or the alert closed."""


S = AssignmentStatus
_MOVES: dict[AssignmentStatus, frozenset[AssignmentStatus]] = {
    S.ASSIGNED: frozenset({S.ACKNOWLEDGED, S.CANCELLED}),
    S.ACKNOWLEDGED: frozenset({S.EN_ROUTE, S.CANCELLED}),
    S.EN_ROUTE: frozenset({S.ON_SCENE, S.CANCELLED}),
    S.ON_SCENE: frozenset({S.RESOLVED, S.CANCELLED}),
    S.RESOLVED: frozenset(),
    S.CANCELLED: frozenset(),
}
OPEN_ASSIGNMENT = frozenset({S.ASSIGNED, S.ACKNOWLEDGED, S.EN_ROUTE, S.ON_SCENE})
RESPONDER_MOVES = frozenset({S.ACKNOWLEDGED, S.EN_ROUTE, S.ON_SCENE, S.RESOLVED})
"""What a responder reports; standing a unit down (CANCELLED) is the operator's."""

UNIT_STATUS_AFTER: dict[AssignmentStatus, UnitStatus] = {
    S.ASSIGNED: UnitStatus.ASSIGNED,
    S.ACKNOWLEDGED: UnitStatus.ASSIGNED,
    S.EN_ROUTE: UnitStatus.EN_ROUTE,
    S.ON_SCENE: UnitStatus.ON_SCENE,
    S.RESOLVED: UnitStatus.AVAILABLE,
    S.CANCELLED: UnitStatus.AVAILABLE,
}
_STAMP: dict[AssignmentStatus, str] = {
    S.ACKNOWLEDGED: "acknowledged_at",
    S.EN_ROUTE: "en_route_at",
    S.ON_SCENE: "on_scene_at",
    S.RESOLVED: "cleared_at",
    S.CANCELLED: "cleared_at",
}
_TIMELINE_KIND: dict[AssignmentStatus, str] = {
    S.ACKNOWLEDGED: "unit_acknowledged",
    S.EN_ROUTE: "unit_en_route",
    S.ON_SCENE: "unit_on_scene",
    S.RESOLVED: "unit_resolved",
    S.CANCELLED: "unit_stood_down",
}
_PROGRESS = {AlertStatus.DISPATCHED: 1, AlertStatus.EN_ROUTE: 2, AlertStatus.ON_SCENE: 3}
_ALERT_STATUS_FOR = {S.EN_ROUTE: AlertStatus.EN_ROUTE, S.ON_SCENE: AlertStatus.ON_SCENE}


def can_advance(current: AssignmentStatus, target: AssignmentStatus) -> bool:
    """Whether an assignment may go from `current` to `target` (a checked state machine)."""
    return target in _MOVES[current]


def alert_status_after(current: AlertStatus, step: AssignmentStatus) -> AlertStatus:
    """The alert's status once one of its units reached `step`: alerts only move forward
    (a second unit en route does not pull an alert with a unit on scene back)."""
    wanted = _ALERT_STATUS_FOR.get(step)
    if wanted is None or current not in _PROGRESS:
        return current
    return wanted if _PROGRESS[wanted] > _PROGRESS[current] else current


def straight_line_eta(alert: records.Alert, unit: Unit) -> int | None:
    if None in (alert["lat"], alert["lon"], unit["lat"], unit["lon"]):
        return None
    metres = haversine_m(unit["lat"], unit["lon"], alert["lat"], alert["lon"])
    return round(metres * ROAD_FACTOR / speed_mps(UnitKind(unit["kind"])))


# --- dispatching --------------------------------------------------------------------------


def dispatch(
    conn: Connection,
    operator: Principal,
    alert_id: str,
    unit_id: str,
    *,
    redispatch: bool = False,
    clock: Clock | None = None,
) -> Assignment:
    """Send unit `unit_id` to alert `alert_id`; returns the new assignment.

    NotFound when the operator may not dispatch to the alert or the unit does not exist;
    Forbidden when the unit's agency may not be sent there (see `recommend.REACH`), or is a
    community partner with no active dispatch agreement binding it to the operator's agency
    or the agency handling the alert;
    Conflict when the alert is closed, the unit is off duty, already on this alert, or
    busy elsewhere without `redispatch`. Capability is advice, not a rule: an operator may
    send the police to a medical alert (they are often first there).
    """
    now = (clock or SystemClock()).now()
    visible_alert(conn, operator, alert_id, Action.PANIC_DISPATCH)
    load_unit(conn, unit_id)
    before = _open_assignment_of(conn, unit_id)
    ids = sorted({alert_id} | ({before["alert_id"]} if before else set()))
    locked = {i: records.load(conn, i, for_update=True) for i in ids}
    unit = load_unit(conn, unit_id, for_update=True)
    current = _open_assignment_of(conn, unit_id)
    if _id(current) != _id(before):
        raise Conflict("the unit changed meanwhile; reload and try again")
    alert = locked[alert_id]
    if not can_move(AlertStatus(alert["status"]), AlertStatus.DISPATCHED):
        raise Conflict(f"the alert is {alert['status']}: it takes no more units")
    _check_unit_free(unit, current, alert_id, redispatch)
    _check_reach(conn, operator, unit, alert, now)
    if current is not None:
        _stand_down(conn, current, locked[current["alert_id"]], unit, operator.username, now, alert_id)
    assignment: Assignment = {
        "id": new_id(),
        "alert_id": alert_id,
        "unit_id": unit_id,
        "status": S.ASSIGNED.value,
        "eta_seconds": straight_line_eta(alert, unit),
        "assigned_at": now,
        "acknowledged_at": None,
        "en_route_at": None,
        "on_scene_at": None,
        "cleared_at": None,
        "outcome": None,
    }
    conn.execute(insert(assignments).values(**assignment))
    _set_unit_status(conn, unit, UnitStatus.ASSIGNED, now, "dispatched", alert_id=alert_id)
    others = [a for a in _open_assignments_of_alert(conn, alert_id) if a["id"] != assignment["id"]]
    values: dict[str, Any] = {}
    if AlertStatus(alert["status"]) not in _PROGRESS:
        values["status"] = AlertStatus.DISPATCHED.value
    if alert["acknowledged_at"] is None:
        values["acknowledged_at"] = now  # dispatching answers the alert
    if alert["dispatched_at"] is None:
        values["dispatched_at"] = now
    if alert["assigned_agency_id"] is None or not others:
        values["assigned_agency_id"] = unit["agency_id"]
    records.change(
        conn,
        alert,
        values,
        actor=operator.username,
        kind="unit_dispatched",
        at=now,
        subject=ALERT_CHANGED,
        audit_details={
            "assignment_id": assignment["id"],
            "unit_id": unit_id,
            "callsign": unit["callsign"],
            "eta_seconds": assignment["eta_seconds"],
            "redispatch": current is not None,
        },
    )
    return assignment


def _check_unit_free(unit: Unit, current: Assignment | None, alert_id: str, redispatch: bool) -> None:
    status = UnitStatus(unit["status"])
    if status is UnitStatus.OFF_DUTY:
        raise Conflict(f"unit {unit['callsign']} is off duty")
    if current is not None and current["alert_id"] == alert_id:
        raise Conflict(f"unit {unit['callsign']} is already assigned to this alert")
    if (status is not UnitStatus.AVAILABLE or current is not None) and not redispatch:
        raise Conflict(
            f"unit {unit['callsign']} is {status.value}: re-dispatch it explicitly to take it off its alert"
        )


def _check_reach(
    conn: Connection, operator: Principal, unit: Unit, alert: records.Alert, now: datetime
) -> None:
    agency = get_agency(conn, unit["agency_id"])
    info = AgencyInfo(agency.id, agency.name, agency.type, agency.jurisdiction)
    # Only community partners depend on agreements: the others cost no query.
    needs_agreement = REACH.get(agency.type) is Reach.AGREEMENT
    agreed = agreed_partners(conn, operator.agency_id, alert, now) if needs_agreement else frozenset()
    why = refusal(
        info, unit["province"], alert["province"], alert["municipality"], alert["cell"], agreed=agreed
    )
    if why is Refusal.NO_AGREEMENT:
        raise Forbidden(
            f"{agency.name} is a community partner: its units are dispatched only under an active "
            "dispatch agreement with your agency or the agency handling this alert, and none is in force"
        )
    if why is not None:
        raise Forbidden(f"units of {agency.name} may not be dispatched to this alert's location")


def _stand_down(
    conn: Connection,
    assignment: Assignment,
    alert: records.Alert,
    unit: Unit,
    actor: str,
    now: datetime,
    new_alert_id: str,
) -> None:
    """Take a unit off its current alert because it is re-dispatched to another."""
    conn.execute(
        update(assignments)
        .where(assignments.c.id == assignment["id"])
        .values(status=S.CANCELLED.value, cleared_at=now)
    )
    records.change(
        conn,
        alert,
        {},
        actor=actor,
        kind="unit_redispatched",
        at=now,
        subject=ALERT_CHANGED,
        audit_details={
            "assignment_id": assignment["id"],
            "unit_id": unit["id"],
            "callsign": unit["callsign"],
            "to_alert_id": new_alert_id,
        },
    )


# --- responders' steps --------------------------------------------------------------------


def move_assignment(
    conn: Connection,
    actor: Principal,
    assignment_id: str,
    target: AssignmentStatus,
    outcome: Outcome | None = None,
    *,
    clock: Clock | None = None,
) -> Assignment:
    """Move an assignment to `target`: a responder of the unit's agency reports progress
    (UNIT_UPDATE), an operator who may dispatch to the alert stands the unit down.

    NotFound when the actor may not act on it; InvalidInput for a missing or stray outcome;
    Conflict for a step the state machine refuses. Repeating the step just taken (a retry
    from a phone on a poor network) returns the assignment unchanged.
    """
    now = (clock or SystemClock()).now()
    peek = _load_assignment(conn, assignment_id)
    _check_actor(conn, actor, peek, target)
    if (target is S.RESOLVED) != (outcome is not None):
        raise InvalidInput("an outcome is required to resolve, and only then")
    alert = records.load(conn, peek["alert_id"], for_update=True)
    assignment = _load_assignment(conn, assignment_id, for_update=True)
    unit = load_unit(conn, assignment["unit_id"], for_update=True)
    current = AssignmentStatus(assignment["status"])
    if current is target and (outcome is None or assignment["outcome"] == outcome.value):
        return assignment
    if not can_advance(current, target):
        raise Conflict(f"an assignment that is {current.value} cannot become {target.value}")
    alert_open = AlertStatus(alert["status"]) in OPEN_STATUSES
    if not alert_open and target not in (S.RESOLVED, S.CANCELLED):
        raise Conflict(f"the alert is {alert['status']}: clear the assignment instead")
    changes: dict[str, Any] = {"status": target.value, _STAMP[target]: now}
    if outcome is not None:
        changes["outcome"] = outcome.value
    conn.execute(update(assignments).where(assignments.c.id == assignment_id).values(**changes))
    _set_unit_status(
        conn, unit, UNIT_STATUS_AFTER[target], now, f"assignment_{target.value}", alert_id=alert["id"]
    )
    values = _alert_values(conn, alert, assignment_id, target, outcome, now) if alert_open else {}
    details: dict[str, Any] = {
        "assignment_id": assignment_id,
        "unit_id": unit["id"],
        "callsign": unit["callsign"],
    }
    if outcome is not None:
        details["outcome"] = outcome.value
    records.change(
        conn,
        alert,
        values,
        actor=actor.username,
        kind=_TIMELINE_KIND[target],
        at=now,
        subject=ALERT_CHANGED,
        audit_details=details,
    )
    return {**assignment, **changes}


def _check_actor(
    conn: Connection, actor: Principal, assignment: Assignment, target: AssignmentStatus
) -> None:
    if target in RESPONDER_MOVES:
        allowed = can(actor, Action.UNIT_UPDATE, unit_resource(load_unit(conn, assignment["unit_id"])))
    elif target is S.CANCELLED:
        allowed = can(
            actor, Action.PANIC_DISPATCH, alert_resource(records.load(conn, assignment["alert_id"]))
        )
    else:
        raise InvalidInput(f"an assignment cannot be moved back to {target.value}")
    if not allowed:
        raise NotFound("no such assignment")


def _alert_values(
    conn: Connection,
    alert: records.Alert,
    assignment_id: str,
    target: AssignmentStatus,
    outcome: Outcome | None,
    now: datetime,
) -> dict[str, Any]:
    values: dict[str, Any] = {}
    status = alert_status_after(AlertStatus(alert["status"]), target)
    if status.value != alert["status"]:
        values["status"] = status.value
    if target is S.ON_SCENE and alert["on_scene_at"] is None:
        values["on_scene_at"] = now
    others = [a for a in _open_assignments_of_alert(conn, alert["id"]) if a["id"] != assignment_id]
    if target is S.RESOLVED and not others and outcome is not None:
        values.update(status=AlertStatus.RESOLVED.value, outcome=outcome.value, closed_at=now)
    return values


def release_units(conn: Connection, alert: records.Alert, actor: str, at: datetime) -> list[Assignment]:
    """Free every unit still assigned to an alert that was just resolved or cancelled
    (call in the same transaction that closes it). Their assignments become resolved (with
    the alert's outcome) or cancelled; each is noted on the timeline and audited."""
    closed: list[Assignment] = []
    resolved = alert["status"] == AlertStatus.RESOLVED.value
    status = S.RESOLVED if resolved else S.CANCELLED
    for assignment in _open_assignments_of_alert(conn, alert["id"], for_update=True):
        changes = {
            "status": status.value,
            "cleared_at": at,
            "outcome": alert["outcome"] if resolved else None,
        }
        conn.execute(update(assignments).where(assignments.c.id == assignment["id"]).values(**changes))
        unit = load_unit(conn, assignment["unit_id"], for_update=True)
        _set_unit_status(conn, unit, UnitStatus.AVAILABLE, at, "released", alert_id=alert["id"])
        details = {"assignment_id": assignment["id"], "unit_id": unit["id"], "callsign": unit["callsign"]}
        records.note(conn, alert["id"], actor, "unit_released", at, **details)
        audit.record(conn, actor, "panic.unit_released", "alert", alert["id"], details)
        closed.append({**assignment, **changes})
    return closed


# --- reading ------------------------------------------------------------------------------


def _load_assignment(conn: Connection, assignment_id: str, *, for_update: bool = False) -> Assignment:
    query = select(assignments).where(assignments.c.id == assignment_id)
    if for_update:
        query = query.with_for_update()
    row = conn.execute(query).first()
    if row is None:
        raise NotFound("no such assignment")
    return dict(row._mapping)


def _id(row: dict[str, Any] | None) -> str | None:
    return None if row is None else str(row["id"])


def _open_values() -> list[str]:
    return [s.value for s in OPEN_ASSIGNMENT]


def _open_assignment_of(conn: Connection, unit_id: str) -> Assignment | None:
    row = conn.execute(
        select(assignments)
        .where(assignments.c.unit_id == unit_id, assignments.c.status.in_(_open_values()))
        .order_by(assignments.c.assigned_at.desc())
        .limit(1)
    ).first()
    return None if row is None else dict(row._mapping)


def _open_assignments_of_alert(
    conn: Connection, alert_id: str, *, for_update: bool = False
) -> list[Assignment]:
    query = (
        select(assignments)
        .where(assignments.c.alert_id == alert_id, assignments.c.status.in_(_open_values()))
        .order_by(assignments.c.assigned_at)
    )
    if for_update:
        query = query.with_for_update()
    return [dict(r._mapping) for r in conn.execute(query)]


def _set_unit_status(
    conn: Connection, unit: Unit, status: UnitStatus, now: datetime, change: str, **extra: Any
) -> None:
    conn.execute(update(units).where(units.c.id == unit["id"]).values(status=status.value, updated_at=now))
    enqueue(conn, unit_changed({**unit, "status": status.value}, change, **extra))


@dataclass(frozen=True, slots=True)
class AssignmentView:
    """An assignment with what the responder needs to get there."""

    id: str
    status: AssignmentStatus
    alert_id: str
    alert_type: str
    alert_status: str
    priority: int
    silent: bool
    lat: float | None
    lon: float | None
    accuracy_m: float | None
    location_text: str | None
    unit_id: str
    callsign: str
    unit_kind: str
    agency_id: str
    eta_seconds: int | None
    assigned_at: datetime
    acknowledged_at: datetime | None
    en_route_at: datetime | None
    on_scene_at: datetime | None
    cleared_at: datetime | None
    outcome: str | None


def list_assignments(
    conn: Connection,
    viewer: Principal,
    *,
    mine: bool,
    unit_id: str | None = None,
    include_closed: bool = False,
    limit: int = 200,
) -> list[AssignmentView]:
    """Assignments the viewer may see, newest first. `mine`: those of units of the viewer's
    own agency (a responder's current jobs); otherwise those of alerts or units in the
    viewer's reach (an operator's board)."""
    query = (
        select(
            assignments,
            alerts.c.type.label("alert_type"),
            alerts.c.status.label("alert_status"),
            alerts.c.priority,
            alerts.c.silent,
            alerts.c.lat,
            alerts.c.lon,
            alerts.c.accuracy_m,
            alerts.c.location_text,
            units.c.callsign,
            units.c.kind.label("unit_kind"),
            units.c.agency_id,
        )
        .join(alerts, alerts.c.id == assignments.c.alert_id)
        .join(units, units.c.id == assignments.c.unit_id)
        .order_by(assignments.c.assigned_at.desc())
        .limit(limit)
    )
    if mine:
        if viewer.agency_id is None or not can(viewer, Action.UNIT_UPDATE):
            return []
        query = query.where(units.c.agency_id == viewer.agency_id)
    else:
        query = query.where(
            read_filter(viewer, Action.UNIT_READ, UNIT_COLUMNS)
            | read_filter(viewer, Action.PANIC_READ, ALERT_COLUMNS)
        )
    if unit_id is not None:
        query = query.where(assignments.c.unit_id == unit_id)
    if not include_closed:
        query = query.where(assignments.c.status.in_(_open_values()))
    return [
        AssignmentView(
            id=r.id,
            status=AssignmentStatus(r.status),
            alert_id=r.alert_id,
            alert_type=r.alert_type,
            alert_status=r.alert_status,
            priority=r.priority,
            silent=r.silent,
            lat=r.lat,
            lon=r.lon,
            accuracy_m=r.accuracy_m,
            location_text=r.location_text,
            unit_id=r.unit_id,
            callsign=r.callsign,
            unit_kind=r.unit_kind,
            agency_id=r.agency_id,
            eta_seconds=r.eta_seconds,
            assigned_at=r.assigned_at,
            acknowledged_at=r.acknowledged_at,
            en_route_at=r.en_route_at,
            on_scene_at=r.on_scene_at,
            cleared_at=r.cleared_at,
            outcome=r.outcome,
        )
        for r in conn.execute(query)
    ]
