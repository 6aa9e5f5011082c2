"""Joint operations: the plan, the shared timeline while it runs, the outcomes and debrief.

Briefing notes are marked like intelligence (TLP, classification, caveats; `intel.markings`):
the classification is checked against each reader's clearance, and community partners see an
operation only when their group takes part and it is marked TLP:GREEN or CLEAR.

Events are linked by id to the module that holds them (panic alerts, CCTV events, cyber
alerts); the link keeps a one-line summary without personal information, and whoever links
must be able to read the event in its own module. Outcomes of an operation under an
agreement count toward that agreement's indicators (`partners.indicators`), and the debrief
rolls them up into the risk register (`ROLLUP`, `roll_up`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

import h3
from sqlalchemy import ColumnElement, Connection, and_, insert, or_, select, update
from sqlalchemy.exc import IntegrityError

from khusela.audit import log as audit
from khusela.bus.outbox import enqueue
from khusela.core.clock import as_utc
from khusela.core.errors import Conflict, Forbidden, InvalidInput, NotFound
from khusela.core.events import Event
from khusela.core.geo import JURISDICTION_RESOLUTION, is_valid_cell
from khusela.core.ids import new_id
from khusela.identity.model import Principal
from khusela.identity.policy import Action, Columns, Scope, can, read_filter, scope_of
from khusela.identity.tables import agencies
from khusela.intel.markings import Marking, banner
from khusela.partners.access import is_community, tlp_ceiling
from khusela.partners.model import LinkKind, OperationStatus, OutcomeKind
from khusela.partners.tables import (
    partner_operation_agencies,
    partner_operation_cells,
    partner_operation_links,
    partner_operation_outcomes,
    partner_operations,
)
from khusela.risk import register
from khusela.risk.model import Category, check_text

OPERATION_CHANGED = "partners.operation_changed"
MAX_CELLS = 5000


@dataclass(frozen=True, slots=True)
class OperationPlan:
    name: str
    objective: str
    starts_at: datetime
    ends_at: datetime
    lead_agency_id: str
    commander: str
    marking: Marking
    briefing: str = ""
    participants: dict[str, list[str]] = field(default_factory=dict)
    """Agency id → units (call signs or unit ids) it commits."""
    cells: tuple[str, ...] = ()
    polygon: list[tuple[float, float]] | None = None
    """(lat, lon) ring; its H3 cells are computed and stored with the operation."""
    agreement_id: str | None = None
    province: str | None = None
    municipality: str | None = None


def area_cells(plan: OperationPlan) -> set[str]:
    cells = set(plan.cells)
    for cell in cells:
        if not is_valid_cell(cell):
            raise InvalidInput(f"{cell!r} is not an H3 cell")
    if plan.polygon:
        if len(plan.polygon) < 3:
            raise InvalidInput("an area polygon has at least three corners")
        shape = h3.LatLngPoly([(lat, lon) for lat, lon in plan.polygon])
        cells |= set(h3.polygon_to_cells(shape, JURISDICTION_RESOLUTION))
        # A block smaller than a cell holds no cell centre: the corners' cells cover it.
        cells |= {h3.latlng_to_cell(lat, lon, JURISDICTION_RESOLUTION) for lat, lon in plan.polygon}
    if len(cells) > MAX_CELLS:
        raise InvalidInput(f"the area covers {len(cells)} cells; draw at most {MAX_CELLS}")
    return cells


def _geojson(polygon: list[tuple[float, float]] | None) -> dict[str, Any] | None:
    if not polygon:
        return None
    ring = [[lon, lat] for lat, lon in polygon]
    if ring[0] != ring[-1]:
        ring.append(ring[0])
    return {"type": "Polygon", "coordinates": [ring]}


def visible_clause(viewer: Principal) -> ColumnElement[bool]:
    """Operations the viewer may read: taking part, or in reach by place; clearance and TLP apply."""
    o = partner_operations.c
    by_place = read_filter(
        viewer,
        Action.PARTNERS_READ,
        Columns(province=o.province, municipality=o.municipality, classification=o.classification),
    )
    clauses = [by_place]
    if viewer.agency_id is not None and scope_of(viewer, Action.PARTNERS_READ) is not None:
        taking_part = select(partner_operation_agencies.c.operation_id).where(
            partner_operation_agencies.c.agency_id == viewer.agency_id
        )
        clauses.append(and_(o.id.in_(taking_part), o.classification <= int(viewer.clearance)))
    return and_(or_(*clauses), o.tlp <= int(tlp_ceiling(viewer)))


def plan(conn: Connection, actor: Principal, spec: OperationPlan, now: datetime) -> dict[str, Any]:
    if not can(actor, Action.PARTNERS_WRITE):
        raise Forbidden("your roles do not allow partners.write")
    if is_community(actor):
        raise Forbidden("operations are planned by police and officials; community groups take part")
    if spec.ends_at <= spec.starts_at:
        raise InvalidInput("an operation ends after it starts")
    if spec.marking.classification > actor.clearance:
        raise InvalidInput("you cannot mark an operation above your own clearance")
    participants = {spec.lead_agency_id: [], **spec.participants}
    known = set(conn.execute(select(agencies.c.id).where(agencies.c.id.in_(list(participants)))).scalars())
    if missing := sorted(set(participants) - known):
        raise InvalidInput(f"unknown agencies: {', '.join(missing)}")
    if scope_of(actor, Action.PARTNERS_WRITE) is not Scope.ALL and actor.agency_id not in participants:
        raise Forbidden("you may plan only operations your own agency takes part in")
    cells = area_cells(spec)
    operation_id = new_id()
    conn.execute(
        insert(partner_operations).values(
            id=operation_id,
            name=spec.name,
            objective=spec.objective,
            status=OperationStatus.PLANNED.value,
            starts_at=spec.starts_at,
            ends_at=spec.ends_at,
            agreement_id=spec.agreement_id,
            lead_agency_id=spec.lead_agency_id,
            commander=spec.commander,
            area=_geojson(spec.polygon),
            province=spec.province,
            municipality=spec.municipality,
            tlp=int(spec.marking.tlp),
            classification=int(spec.marking.classification),
            caveats=sorted(spec.marking.caveats),
            briefing=spec.briefing,
            created_by=actor.username,
            created_at=now,
            updated_at=now,
        )
    )
    conn.execute(
        insert(partner_operation_agencies),
        [{"operation_id": operation_id, "agency_id": a, "units": units} for a, units in participants.items()],
    )
    if cells:
        conn.execute(
            insert(partner_operation_cells),
            [{"operation_id": operation_id, "cell": c} for c in sorted(cells)],
        )
    audit.record(
        conn, actor.username, "partners.operation_plan", "operation", operation_id, {"name": spec.name}
    )
    enqueue(conn, Event(OPERATION_CHANGED, {"operation_id": operation_id, "change": "planned"}))
    return get(conn, actor, operation_id)


def _row(conn: Connection, viewer: Principal, operation_id: str) -> dict[str, Any]:
    row = conn.execute(
        select(partner_operations).where(partner_operations.c.id == operation_id, visible_clause(viewer))
    ).first()
    if row is None:
        raise NotFound(f"no operation {operation_id} that you may see")
    return dict(row._mapping)


def _participants(conn: Connection, operation_id: str) -> list[dict[str, Any]]:
    rows = conn.execute(
        select(agencies.c.id, agencies.c.name, partner_operation_agencies.c.units)
        .join(partner_operation_agencies, partner_operation_agencies.c.agency_id == agencies.c.id)
        .where(partner_operation_agencies.c.operation_id == operation_id)
        .order_by(agencies.c.name)
    )
    return [dict(r._mapping) for r in rows]


def _writable(conn: Connection, actor: Principal, operation_id: str) -> dict[str, Any]:
    operation = _row(conn, actor, operation_id)
    scope = scope_of(actor, Action.PARTNERS_WRITE)
    if scope is None:
        raise Forbidden("your roles do not allow partners.write")
    if scope is not Scope.ALL and actor.agency_id not in {p["id"] for p in _participants(conn, operation_id)}:
        raise Forbidden("only agencies taking part may change the operation")
    return operation


def get(conn: Connection, viewer: Principal, operation_id: str) -> dict[str, Any]:
    operation = _row(conn, viewer, operation_id)
    marking = Marking(
        _tlp(operation["tlp"]), _clearance(operation["classification"]), frozenset(operation["caveats"])
    )
    operation["banner"] = banner(marking)
    operation["participants"] = _participants(conn, operation_id)
    operation["cells"] = list(
        conn.execute(
            select(partner_operation_cells.c.cell).where(
                partner_operation_cells.c.operation_id == operation_id
            )
        ).scalars()
    )
    operation["outcomes"] = outcomes(conn, operation_id)
    return operation


def _tlp(value: int) -> Any:
    from khusela.intel.markings import Tlp

    return Tlp(value)


def _clearance(value: int) -> Any:
    from khusela.identity.model import Clearance

    return Clearance(value)


def list_operations(
    conn: Connection, viewer: Principal, status: OperationStatus | None = None
) -> list[dict[str, Any]]:
    query = select(partner_operations).where(visible_clause(viewer))
    if status is not None:
        query = query.where(partner_operations.c.status == status.value)
    rows = conn.execute(query.order_by(partner_operations.c.starts_at.desc()))
    return [dict(r._mapping) for r in rows]


def _summary_of(conn: Connection, actor: Principal, kind: LinkKind, ref_id: str) -> tuple[datetime, str]:
    """The linked event's time and a one-line summary, if the actor may read it in its module."""
    if kind is LinkKind.PANIC_ALERT:
        from khusela.panic import queries

        alert = queries.visible_alert(conn, actor, ref_id)
        return alert["created_at"], f"Panic alert ({alert['type']}), P{alert['priority']}, {alert['status']}"
    if kind is LinkKind.CCTV_EVENT:
        from khusela.cctv import cameras
        from khusela.cctv.tables import cctv_events

        event = conn.execute(select(cctv_events).where(cctv_events.c.id == ref_id)).first()
        if event is None:
            raise NotFound("no such camera event")
        camera = cameras.get_camera(conn, actor, event.camera_id)
        what = f"{event.label} {event.kind}" + (
            f", plate on watchlist {event.watchlist}" if event.watchlist else ""
        )
        return event.at, f"Camera {camera['name']}: {what}"
    if kind is LinkKind.INCIDENT:
        return _incident_summary(conn, actor, ref_id)
    from khusela.cyber.soc.tables import cyber_alerts

    if not can(actor, Action.CYBER_READ):
        raise NotFound("no such cyber alert")
    cyber = conn.execute(select(cyber_alerts).where(cyber_alerts.c.id == ref_id)).first()
    if cyber is None:
        raise NotFound("no such cyber alert")
    return cyber.raised_at, f"Cyber alert ({cyber.severity}): {cyber.title}"[:300]


def _incident_summary(conn: Connection, actor: Principal, ref_id: str) -> tuple[datetime, str]:
    """A risk-log incident, if the actor may read risk data where it happened."""
    from khusela.risk.incident_log import INCIDENT_COLUMNS
    from khusela.risk.tables import risk_incidents

    if not ref_id.isdigit():
        raise NotFound("no such incident")
    row = conn.execute(
        select(risk_incidents.c.at, risk_incidents.c.category, risk_incidents.c.municipality).where(
            risk_incidents.c.id == int(ref_id), read_filter(actor, Action.RISK_READ, INCIDENT_COLUMNS)
        )
    ).first()
    if row is None:
        raise NotFound("no such incident")
    where = f" in {row.municipality}" if row.municipality else ""
    return row.at, f"Incident ({row.category}){where}"


def link(
    conn: Connection, actor: Principal, operation_id: str, kind: LinkKind, ref_id: str, now: datetime
) -> dict[str, Any]:
    operation = _writable(conn, actor, operation_id)
    if operation["status"] == OperationStatus.CLOSED.value:
        raise Conflict("the operation is closed; its timeline is final")
    at, summary = _summary_of(conn, actor, kind, ref_id)
    try:
        with conn.begin_nested():
            conn.execute(
                insert(partner_operation_links).values(
                    operation_id=operation_id,
                    kind=kind.value,
                    ref_id=ref_id,
                    at=at,
                    summary=summary,
                    linked_by=actor.username,
                )
            )
    except IntegrityError:
        raise Conflict("that event is already on the operation's timeline") from None
    if operation["status"] == OperationStatus.PLANNED.value and now >= operation["starts_at"]:
        _set_status(conn, operation_id, OperationStatus.ACTIVE, now)
    audit.record(
        conn,
        actor.username,
        "partners.operation_link",
        "operation",
        operation_id,
        {"kind": kind.value, "ref": ref_id},
    )
    enqueue(conn, Event(OPERATION_CHANGED, {"operation_id": operation_id, "change": "linked"}))
    return {"kind": kind.value, "ref_id": ref_id, "at": at, "summary": summary}


def _set_status(
    conn: Connection, operation_id: str, status: OperationStatus, now: datetime, **more: Any
) -> None:
    conn.execute(
        update(partner_operations)
        .where(partner_operations.c.id == operation_id)
        .values(status=status.value, updated_at=now, **more)
    )


def start(conn: Connection, actor: Principal, operation_id: str, now: datetime) -> dict[str, Any]:
    operation = _writable(conn, actor, operation_id)
    if operation["status"] != OperationStatus.PLANNED.value:
        raise Conflict(f"the operation is {operation['status']}, not planned")
    _set_status(conn, operation_id, OperationStatus.ACTIVE, now)
    audit.record(conn, actor.username, "partners.operation_start", "operation", operation_id)
    enqueue(conn, Event(OPERATION_CHANGED, {"operation_id": operation_id, "change": "active"}))
    return get(conn, actor, operation_id)


def record_outcome(
    conn: Connection,
    actor: Principal,
    operation_id: str,
    kind: OutcomeKind,
    quantity: int,
    description: str,
    now: datetime,
) -> dict[str, Any]:
    operation = _writable(conn, actor, operation_id)
    if operation["status"] == OperationStatus.CLOSED.value:
        raise Conflict("the operation is closed; its outcomes are final")
    if quantity < 1:
        raise InvalidInput("an outcome counts at least one")
    conn.execute(
        insert(partner_operation_outcomes).values(
            operation_id=operation_id,
            kind=kind.value,
            quantity=quantity,
            description=description,
            at=now,
            recorded_by=actor.username,
        )
    )
    audit.record(
        conn,
        actor.username,
        "partners.operation_outcome",
        "operation",
        operation_id,
        {"kind": kind.value, "quantity": quantity},
    )
    return get(conn, actor, operation_id)


def outcomes(conn: Connection, operation_id: str) -> list[dict[str, Any]]:
    rows = conn.execute(
        select(partner_operation_outcomes)
        .where(partner_operation_outcomes.c.operation_id == operation_id)
        .order_by(partner_operation_outcomes.c.at, partner_operation_outcomes.c.id)
    )
    return [dict(r._mapping) for r in rows]


def debrief(
    conn: Connection, actor: Principal, operation_id: str, text: str, now: datetime
) -> dict[str, Any]:
    """Close the operation with its debrief; after this its timeline and outcomes are final.
    Its outcomes are noted on the risk-register entries they concern, in this transaction;
    the answer counts only those entries the actor may read."""
    operation = _writable(conn, actor, operation_id)
    if operation["status"] == OperationStatus.CLOSED.value:
        raise Conflict("the operation is already closed")
    if not text.strip():
        raise InvalidInput("a debrief says what happened and what was learned")
    _set_status(conn, operation_id, OperationStatus.CLOSED, now, debrief=text)
    noted = roll_up(conn, operation, now)
    audit.record(
        conn,
        actor.username,
        "partners.operation_debrief",
        "operation",
        operation_id,
        {"register": len(noted)},
    )
    enqueue(conn, Event(OPERATION_CHANGED, {"operation_id": operation_id, "change": "closed"}))
    closed = get(conn, actor, operation_id)
    closed["register_entries_updated"] = len(register.readable(conn, actor, noted))
    return closed


# --- outcomes into the risk register ---------------------------------------------------------

ROLLUP: dict[OutcomeKind, frozenset[Category]] = {
    OutcomeKind.MINING_SITE_CLOSED: frozenset({Category.ILLEGAL_MINING}),
    OutcomeKind.ARREST: frozenset(
        {
            Category.ILLEGAL_MINING,
            Category.DRUG_TRAFFICKING,
            Category.VIOLENT_CRIME,
            Category.EXTORTION,
            Category.GANG_ACTIVITY,
            Category.INFRASTRUCTURE_THEFT,
        }
    ),
    OutcomeKind.SEIZURE: frozenset(
        {
            Category.ILLEGAL_MINING,
            Category.DRUG_TRAFFICKING,
            Category.GANG_ACTIVITY,
            Category.INFRASTRUCTURE_THEFT,
        }
    ),
    OutcomeKind.BYLAW_NOTICE: frozenset({Category.BYLAW_NON_ENFORCEMENT}),
    OutcomeKind.OTHER: frozenset(),
}
"""Which register categories each kind of outcome speaks to (docs/modules/partners.md says
why). Gender-based violence, unrest, migration pressure and "other" are never noted: an
operation's arrest or seizure count says nothing about how those risks are mitigated."""

_PHRASES: dict[OutcomeKind, tuple[str, str]] = {
    OutcomeKind.ARREST: ("arrest", "arrests"),
    OutcomeKind.SEIZURE: ("seizure", "seizures"),
    OutcomeKind.MINING_SITE_CLOSED: ("illegal mining site closed", "illegal mining sites closed"),
    OutcomeKind.BYLAW_NOTICE: ("by-law notice issued", "by-law notices issued"),
}
SAST = timezone(timedelta(hours=2), "SAST")


def _totals(conn: Connection, operation_id: str) -> dict[OutcomeKind, int]:
    totals: dict[OutcomeKind, int] = {}
    for o in outcomes(conn, operation_id):
        kind = OutcomeKind(o["kind"])
        totals[kind] = totals.get(kind, 0) + int(o["quantity"])
    return totals


def _when(starts: datetime, ends: datetime) -> str:
    s, e = as_utc(starts).astimezone(SAST), as_utc(ends).astimezone(SAST)
    first, last = f"{s.day} {s:%b %Y}", f"{e.day} {e:%b %Y}"
    return first if first == last else f"{first} - {last}"


def _title(name: str) -> str:
    """The operation's name as the line shows it; a name holding personal information (the
    register refuses it) is left out rather than failing the debrief."""
    try:
        check_text("operation name", name)
    except InvalidInput:
        return "Joint operation"
    return name if name.lower().startswith("operation") else f"Operation {name}"


def rollup_line(operation: dict[str, Any], totals: dict[OutcomeKind, int], category: Category) -> str:
    """E.g. "Operation Vala Umgodi (3 - 5 Mar 2026): 12 arrests, 2 illegal mining sites closed"."""
    parts = [
        f"{n} {_PHRASES[kind][n != 1]}"
        for kind, n in sorted(totals.items(), key=lambda kv: list(OutcomeKind).index(kv[0]))
        if category in ROLLUP[kind]
    ]
    head = f"{_title(operation['name'])} ({_when(operation['starts_at'], operation['ends_at'])})"
    return f"{head}: {', '.join(parts)}"[:500]


def roll_up(conn: Connection, operation: dict[str, Any], now: datetime) -> list[str]:
    """Note the operation's outcomes on every open register entry they concern (the entry's
    locality shares ground with the operation's area and its category is one the outcomes
    speak to); returns the ids noted. A system write: entries the operation's agencies could
    not see are noted too, and the caller must not disclose them."""
    totals = _totals(conn, operation["id"])
    categories = set().union(*(ROLLUP[kind] for kind in totals)) if totals else set()
    cells = conn.execute(
        select(partner_operation_cells.c.cell).where(
            partner_operation_cells.c.operation_id == operation["id"]
        )
    ).scalars()
    concerned = register.entries_over(conn, set(cells), operation["municipality"], categories)
    by = f"operation {operation['id']}"
    done = min(as_utc(operation["ends_at"]), now).astimezone(SAST).date()
    for entry_id, category in concerned:
        register.note_operation(conn, entry_id, rollup_line(operation, totals, category), by, now, done)
    return [entry_id for entry_id, _ in concerned]


def timeline(conn: Connection, viewer: Principal, operation_id: str) -> list[dict[str, Any]]:
    """Plan window, linked events and outcomes in time order: the shared picture."""
    operation = _row(conn, viewer, operation_id)
    entries: list[dict[str, Any]] = [
        {
            "at": operation["starts_at"],
            "kind": "window_start",
            "ref_id": None,
            "summary": "Operation window opens",
        },
        {
            "at": operation["ends_at"],
            "kind": "window_end",
            "ref_id": None,
            "summary": "Operation window closes",
        },
    ]
    for r in conn.execute(
        select(partner_operation_links).where(partner_operation_links.c.operation_id == operation_id)
    ):
        entries.append({"at": r.at, "kind": r.kind, "ref_id": r.ref_id, "summary": r.summary})
    for o in outcomes(conn, operation_id):
        entries.append(
            {
                "at": o["at"],
                "kind": f"outcome:{o['kind']}",
                "ref_id": None,
                "summary": f"{o['quantity']} x {o['description']}",
            }
        )
    return sorted(entries, key=lambda e: e["at"])
