"""Requests for information between agencies: asked, assigned, answered, with the answer
itself marked (it may be more sensitive than the question).

Visibility goes through the one policy: a request is its asking agency's, granted to the
agency it is assigned to, and classified at its question's level; the answer is shown only to
those cleared for the answer's own classification.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Row, insert, or_, select, update

from khusela.audit import log as audit
from khusela.core.errors import InvalidInput, NotFound
from khusela.identity.model import Clearance, Principal
from khusela.identity.policy import Action, Resource, can
from khusela.identity.tables import agencies
from khusela.intel import rows
from khusela.intel.grading import Grade
from khusela.intel.markings import Marking, Tlp
from khusela.intel.model import Originator, RequestForInformation, RfiAnswer, RfiStatus
from khusela.intel.tables import intel_rfis


@dataclass(frozen=True, slots=True)
class RfiView:
    rfi: RequestForInformation
    answer_hidden: bool


def _marking(tlp: int, classification: int, caveats: list[str]) -> Marking:
    return Marking(Tlp(tlp), Clearance(classification), frozenset(caveats))


def _rfi(row: Row[Any]) -> RequestForInformation:
    answer = None
    if row.answer is not None:
        answer = RfiAnswer(
            row.answer,
            _marking(row.answer_tlp, row.answer_classification, row.answer_caveats or []),
            Originator(row.asked_instance, row.answered_agency_id, row.answered_by),
            row.answered_at,
            Grade.parse(row.answer_grade) if row.answer_grade else None,
        )
    return RequestForInformation(
        uuid.UUID(row.id),
        row.question,
        Originator(row.asked_instance, row.asked_agency_id, row.asked_by),
        row.asked_at,
        _marking(row.tlp, row.classification, row.caveats),
        RfiStatus(row.status),
        row.assigned_to,
        answer,
    )


def _resource(principal: Principal, rfi: RequestForInformation) -> Resource:
    return Resource(
        agency_id=rfi.asked_by.agency_id,
        classification=rfi.marking.classification,
        granted=rfi.assigned_to is not None and rfi.assigned_to == principal.agency_id,
    )


def _view(principal: Principal, rfi: RequestForInformation) -> RfiView:
    hidden = rfi.answer is not None and rfi.answer.marking.classification > principal.clearance
    return RfiView(rfi, hidden)


def ask(
    conn: Connection, actor: Principal, question: str, marking: Marking, now: datetime
) -> RequestForInformation:
    if actor.agency_id is None:
        raise InvalidInput("only a member of an agency can ask for information")
    if marking.classification > actor.clearance:
        raise InvalidInput("you cannot mark a request above your own clearance")
    rfi = RequestForInformation(
        uuid.uuid4(),
        question,
        Originator(rows.instance_name(conn), actor.agency_id, actor.user_id),
        now,
        marking,
    )
    audit.record(conn, actor.username, "intel.rfi.ask", "intel_rfi", str(rfi.id))
    conn.execute(
        insert(intel_rfis).values(
            id=str(rfi.id),
            question=question,
            asked_instance=rfi.asked_by.instance,
            asked_agency_id=actor.agency_id,
            asked_by=actor.user_id,
            asked_at=now,
            tlp=int(marking.tlp),
            classification=int(marking.classification),
            caveats=sorted(marking.caveats),
            status=rfi.status.value,
        )
    )
    return rfi


def get(conn: Connection, principal: Principal, rfi_id: str) -> RfiView:
    row = conn.execute(select(intel_rfis).where(intel_rfis.c.id == rfi_id)).first()
    if row is None:
        raise NotFound("no such request for information")
    rfi = _rfi(row)
    if not can(principal, Action.INTEL_READ, _resource(principal, rfi)):
        raise NotFound("no such request for information")
    return _view(principal, rfi)


def inbox(conn: Connection, principal: Principal) -> list[RfiView]:
    """Requests the caller's agency asked or was assigned, newest first."""
    if principal.agency_id is None:
        return []
    r = intel_rfis
    query = (
        select(r)
        .where(
            or_(r.c.asked_agency_id == principal.agency_id, r.c.assigned_to == principal.agency_id),
            r.c.classification <= int(principal.clearance),
        )
        .order_by(r.c.asked_at.desc())
        .limit(200)
    )
    found = [_rfi(row) for row in conn.execute(query)]
    return [
        _view(principal, rfi) for rfi in found if can(principal, Action.INTEL_READ, _resource(principal, rfi))
    ]


def assign(conn: Connection, actor: Principal, rfi_id: str, agency_id: str) -> RfiView:
    """The asking agency hands its question to another agency."""
    view = get(conn, actor, rfi_id)
    if view.rfi.asked_by.agency_id != actor.agency_id:
        raise NotFound("no such request for information")
    if conn.execute(select(agencies.c.id).where(agencies.c.id == agency_id)).first() is None:
        raise InvalidInput(f"unknown agency: {agency_id}")
    try:
        rfi = view.rfi.assign(agency_id)
    except ValueError as exc:
        raise InvalidInput(str(exc)) from None
    audit.record(conn, actor.username, "intel.rfi.assign", "intel_rfi", rfi_id, {"agency": agency_id})
    conn.execute(
        update(intel_rfis)
        .where(intel_rfis.c.id == rfi_id)
        .values(status=rfi.status.value, assigned_to=agency_id)
    )
    return _view(actor, rfi)


def answer(
    conn: Connection,
    actor: Principal,
    rfi_id: str,
    text: str,
    marking: Marking,
    grade: Grade | None,
    now: datetime,
) -> RfiView:
    """The assigned agency answers; the answer carries its own marking."""
    view = get(conn, actor, rfi_id)
    if actor.agency_id is None:
        raise NotFound("no such request for information")
    if marking.classification > actor.clearance:
        raise InvalidInput("you cannot mark an answer above your own clearance")
    reply = RfiAnswer(
        text, marking, Originator(view.rfi.asked_by.instance, actor.agency_id, actor.user_id), now, grade
    )
    try:
        rfi = view.rfi.respond(reply)
    except ValueError as exc:
        raise InvalidInput(str(exc)) from None
    audit.record(conn, actor.username, "intel.rfi.answer", "intel_rfi", rfi_id)
    conn.execute(
        update(intel_rfis)
        .where(intel_rfis.c.id == rfi_id)
        .values(
            status=rfi.status.value,
            answer=text,
            answer_tlp=int(marking.tlp),
            answer_classification=int(marking.classification),
            answer_caveats=sorted(marking.caveats),
            answer_grade=f"{grade.code}{grade.handling.value}" if grade else None,
            answered_agency_id=actor.agency_id,
            answered_by=actor.user_id,
            answered_at=now,
        )
    )
    return _view(actor, rfi)
