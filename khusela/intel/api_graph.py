"""Entity and request-for-information routes. An entity or request the caller may not see is
"not found"; an entity page lists only visible items and links asserted by visible items."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, status
from pydantic import Field

from khusela.api.deps import PlatformDep, require
from khusela.api.schemas import Incoming
from khusela.core.errors import InvalidInput
from khusela.identity.model import Principal
from khusela.identity.policy import Action
from khusela.intel import entities, rfis
from khusela.intel.grading import Grade
from khusela.intel.markings import Marking, banner
from khusela.intel.model import Category, Entity, EntityKind
from khusela.intel.schemas import utcnow

router = APIRouter(prefix="/api/intel", tags=["intel"])
Reader = Annotated[Principal, Depends(require(Action.INTEL_READ))]
Writer = Annotated[Principal, Depends(require(Action.INTEL_WRITE))]


class EntityCreate(Incoming):
    kind: EntityKind
    label: str = Field(min_length=1, max_length=300)
    tlp: str = Field("AMBER", max_length=20)
    classification: str = Field("restricted", max_length=20)
    caveats: list[str] = Field(default_factory=list, max_length=10)
    attributes: dict[str, str] = Field(default_factory=dict, max_length=50)
    justification: str | None = Field(None, max_length=2000)
    criminal_activity: Category | None = None
    case_ref: str | None = Field(None, max_length=80)


class ItemLinkIn(Incoming):
    item_id: str = Field(min_length=1, max_length=36)
    relation: str = Field("mentions", min_length=1, max_length=80)


class EntityLinkIn(Incoming):
    target_id: str = Field(min_length=1, max_length=36)
    relation: str = Field(min_length=1, max_length=80)
    asserted_by: str = Field(min_length=1, max_length=36, description="The item that asserts the link.")


class RfiCreate(Incoming):
    question: str = Field(min_length=10, max_length=10_000)
    tlp: str = Field("AMBER", max_length=20)
    classification: str = Field("restricted", max_length=20)
    caveats: list[str] = Field(default_factory=list, max_length=10)


class AssignIn(Incoming):
    agency_id: str = Field(min_length=1, max_length=36)


class AnswerIn(Incoming):
    answer: str = Field(min_length=1, max_length=100_000)
    tlp: str = Field(max_length=20)
    classification: str = Field(max_length=20)
    caveats: list[str] = Field(default_factory=list, max_length=10)
    grade: str | None = Field(None, max_length=8, description="e.g. 'B2 P'")


def _marking(tlp: str, classification: str, caveats: list[str]) -> Marking:
    try:
        return Marking.parse(tlp, classification, caveats)
    except ValueError as exc:
        raise InvalidInput(str(exc)) from None


def _entity_out(entity: Entity) -> dict[str, Any]:
    return {
        "id": str(entity.id),
        "kind": entity.kind.value,
        "label": entity.label,
        "banner": banner(entity.marking),
        "attributes": dict(entity.attributes),
        "criminal_activity": entity.criminal_activity.value if entity.criminal_activity else None,
        "case_ref": entity.case_ref,
    }


@router.post("/entities", status_code=status.HTTP_201_CREATED, summary="Record an entity")
def create_entity(body: EntityCreate, writer: Writer, platform: PlatformDep) -> dict[str, Any]:
    try:
        entity = Entity(
            uuid.uuid4(),
            body.kind,
            body.label,
            _marking(body.tlp, body.classification, body.caveats),
            body.attributes,
            body.justification,
            body.criminal_activity,
            body.case_ref,
        )
    except ValueError as exc:
        raise InvalidInput(str(exc)) from None
    with platform.db.write() as conn:
        entities.create(conn, writer, entity, utcnow())
    return _entity_out(entity)


@router.get("/entities", summary="Find entities by label among those the caller may see")
def find_entities(
    reader: Reader, platform: PlatformDep, label: Annotated[str, Query(min_length=1, max_length=300)]
) -> list[dict[str, Any]]:
    with platform.db.read() as conn:
        return [_entity_out(e) for e in entities.search(conn, reader, label, utcnow())]


@router.get("/entities/{entity_id}", summary="Entity page: visible items and graph neighbours")
def entity_page(entity_id: str, reader: Reader, platform: PlatformDep) -> dict[str, Any]:
    with platform.db.write() as conn:
        found = entities.page(conn, reader, entity_id, utcnow())
    return {
        "entity": _entity_out(found.entity),
        "items": [{"id": i, "title": t, "relation": r} for i, t, r in found.items],
        "neighbours": [
            {
                "entity": _entity_out(n.entity),
                "relation": n.relation,
                "direction": n.direction,
                "asserted_by": n.asserted_by,
            }
            for n in found.neighbours
        ],
    }


@router.post("/entities/{entity_id}/items", status_code=status.HTTP_201_CREATED, summary="Link to an item")
def link_item(entity_id: str, body: ItemLinkIn, writer: Writer, platform: PlatformDep) -> dict[str, str]:
    with platform.db.write() as conn:
        link_id = entities.link_to_item(conn, writer, entity_id, body.item_id, body.relation, utcnow())
    return {"id": link_id}


@router.post("/entities/{entity_id}/links", status_code=status.HTTP_201_CREATED, summary="Link two entities")
def link_entity(entity_id: str, body: EntityLinkIn, writer: Writer, platform: PlatformDep) -> dict[str, str]:
    with platform.db.write() as conn:
        link_id = entities.link_entities(
            conn, writer, entity_id, body.target_id, body.relation, body.asserted_by, utcnow()
        )
    return {"id": link_id}


def _rfi_out(view: rfis.RfiView) -> dict[str, Any]:
    rfi = view.rfi
    answer = None
    if rfi.answer is not None:
        answer = (
            {"hidden": True, "banner": banner(rfi.answer.marking)}
            if view.answer_hidden
            else {
                "hidden": False,
                "text": rfi.answer.text,
                "banner": banner(rfi.answer.marking, rfi.answer.grade),
                "agency_id": rfi.answer.answered_by.agency_id,
                "answered_at": rfi.answer.answered_at.isoformat(),
            }
        )
    return {
        "id": str(rfi.id),
        "question": rfi.question,
        "banner": banner(rfi.marking),
        "asked_agency_id": rfi.asked_by.agency_id,
        "asked_at": rfi.asked_at.isoformat(),
        "status": rfi.status.value,
        "assigned_to": rfi.assigned_to,
        "answer": answer,
    }


@router.post("/rfis", status_code=status.HTTP_201_CREATED, summary="Ask for information")
def ask(body: RfiCreate, writer: Writer, platform: PlatformDep) -> dict[str, Any]:
    marking = _marking(body.tlp, body.classification, body.caveats)
    with platform.db.write() as conn:
        rfi = rfis.ask(conn, writer, body.question, marking, utcnow())
    return _rfi_out(rfis.RfiView(rfi, False))


@router.get("/rfis", summary="The agency's RFI inbox: asked by it or assigned to it")
def inbox(reader: Reader, platform: PlatformDep) -> list[dict[str, Any]]:
    with platform.db.read() as conn:
        return [_rfi_out(v) for v in rfis.inbox(conn, reader)]


@router.get("/rfis/{rfi_id}", summary="One request")
def get_rfi(rfi_id: str, reader: Reader, platform: PlatformDep) -> dict[str, Any]:
    with platform.db.read() as conn:
        return _rfi_out(rfis.get(conn, reader, rfi_id))


@router.post("/rfis/{rfi_id}/assign", summary="Assign the request to an agency")
def assign(rfi_id: str, body: AssignIn, writer: Writer, platform: PlatformDep) -> dict[str, Any]:
    with platform.db.write() as conn:
        return _rfi_out(rfis.assign(conn, writer, rfi_id, body.agency_id))


@router.post("/rfis/{rfi_id}/answer", summary="Answer, with the answer's own marking")
def answer(rfi_id: str, body: AnswerIn, writer: Writer, platform: PlatformDep) -> dict[str, Any]:
    marking = _marking(body.tlp, body.classification, body.caveats)
    try:
        grade = Grade.parse(body.grade) if body.grade else None
    except ValueError as exc:
        raise InvalidInput(str(exc)) from None
    with platform.db.write() as conn:
        return _rfi_out(rfis.answer(conn, writer, rfi_id, body.answer, marking, grade, utcnow()))
