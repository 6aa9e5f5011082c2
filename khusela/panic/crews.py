"""Who crews which unit: a responder signs on to one unit for the shift, so that the
responder view knows whose assignments to show and the console knows who is on board."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, delete, insert, select

from khusela.audit import log as audit
from khusela.core.clock import Clock, SystemClock
from khusela.core.errors import NotFound
from khusela.identity.model import Principal
from khusela.identity.policy import Action, can
from khusela.panic.avl import load_unit, unit_resource
from khusela.panic.tables import unit_crews
from khusela.panic.units import Unit, list_units


@dataclass(frozen=True, slots=True)
class Crewing:
    unit: Unit
    signed_on_at: datetime


def sign_on(conn: Connection, responder: Principal, unit_id: str, clock: Clock | None = None) -> Crewing:
    """Crew `unit_id` from now on (leaving any unit crewed before). Only a unit the
    responder may update (their own agency's) can be crewed; any other is NotFound."""
    unit = load_unit(conn, unit_id)
    if not can(responder, Action.UNIT_UPDATE, unit_resource(unit)):
        raise NotFound("no such unit")
    now = (clock or SystemClock()).now()
    conn.execute(delete(unit_crews).where(unit_crews.c.user_id == responder.user_id))
    conn.execute(insert(unit_crews).values(user_id=responder.user_id, unit_id=unit_id, signed_on_at=now))
    audit.record(conn, responder.username, "unit.crew_on", "unit", unit_id, {"callsign": unit["callsign"]})
    crewing = current(conn, responder)
    assert crewing is not None
    return crewing


def sign_off(conn: Connection, responder: Principal) -> None:
    gone = conn.execute(
        delete(unit_crews).where(unit_crews.c.user_id == responder.user_id).returning(unit_crews.c.unit_id)
    ).first()
    if gone is not None:
        audit.record(conn, responder.username, "unit.crew_off", "unit", gone.unit_id)


def current(conn: Connection, responder: Principal) -> Crewing | None:
    """The unit the responder crews, if they still may see it (a moved unit drops out)."""
    row = conn.execute(select(unit_crews).where(unit_crews.c.user_id == responder.user_id)).first()
    if row is None:
        return None
    unit = next((u for u in list_units(conn, responder, unit_id=row.unit_id)), None)
    return None if unit is None else Crewing(unit, row.signed_on_at)
