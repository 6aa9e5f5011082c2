"""Entities (people, vehicles, organisations, places, phones, businesses, mine sites), the
items that mention them and the links between them, each asserted by an item.

Need-to-know carries through the graph: an entity is visible when its classification is within
the caller's clearance and it is their agency's or mentioned by an item they may see; a link
(entity to item, entity to entity) is visible only when the item asserting it is. Traversal
therefore never reveals that a hidden item exists. A person is recorded only with a
reasonable-suspicion justification (28 CFR Part 23), and special personal information only on
a record tied to an open case (POPIA): `handling.check_entity` refuses otherwise.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Row, insert, or_, select

from khusela.audit import log as audit
from khusela.core.errors import InvalidInput, NotFound
from khusela.evidence.tables import evidence_cases
from khusela.identity.model import Clearance, Principal
from khusela.intel import store
from khusela.intel.access import visible_clause
from khusela.intel.handling import check_entity
from khusela.intel.markings import Marking, Tlp
from khusela.intel.model import Category, Entity, EntityKind
from khusela.intel.tables import intel_entities, intel_entity_links, intel_item_links, intel_items


@dataclass(frozen=True, slots=True)
class EntityView:
    entity: Entity
    agency_id: str


@dataclass(frozen=True, slots=True)
class Neighbour:
    entity: Entity
    relation: str
    direction: str  # "out" (this → neighbour) or "in"
    asserted_by: str


@dataclass(frozen=True, slots=True)
class EntityPage:
    entity: Entity
    items: list[tuple[str, str, str]]  # (item id, title, relation)
    neighbours: list[Neighbour]


def _entity(row: Row[Any]) -> Entity:
    return Entity(
        uuid.UUID(row.id),
        EntityKind(row.kind),
        row.label,
        Marking(Tlp(row.tlp), Clearance(row.classification), frozenset(row.caveats)),
        dict(row.attributes),
        row.justification,
        Category(row.criminal_activity) if row.criminal_activity else None,
        row.case_ref,
    )


def _open_cases(conn: Connection, case_ref: str | None) -> set[str]:
    if case_ref is None:
        return set()
    found = conn.execute(select(evidence_cases.c.case_number).where(evidence_cases.c.case_number == case_ref))
    return set(found.scalars())


def create(conn: Connection, actor: Principal, entity: Entity, now: datetime) -> Entity:
    """Save an entity for the actor's agency once the handling rules pass."""
    if actor.agency_id is None:
        raise InvalidInput("only a member of an agency can record an entity")
    check_entity(entity, _open_cases(conn, entity.case_ref))
    audit.record(
        conn,
        actor.username,
        "intel.entity.create",
        "intel_entity",
        str(entity.id),
        {"kind": entity.kind.value},
    )
    conn.execute(
        insert(intel_entities).values(
            id=str(entity.id),
            kind=entity.kind.value,
            label=entity.label,
            tlp=int(entity.marking.tlp),
            classification=int(entity.marking.classification),
            caveats=sorted(entity.marking.caveats),
            attributes=dict(entity.attributes),
            justification=entity.justification,
            criminal_activity=entity.criminal_activity.value if entity.criminal_activity else None,
            case_ref=entity.case_ref,
            agency_id=actor.agency_id,
            created_by=actor.username,
            created_at=now,
        )
    )
    return entity


def _visible_entity_clause(principal: Principal, now: datetime) -> Any:
    mentioned = (
        select(intel_item_links.c.entity_id)
        .join(intel_items, intel_items.c.id == intel_item_links.c.item_id)
        .where(visible_clause(principal, now))
    )
    own = intel_entities.c.agency_id == principal.agency_id if principal.agency_id else None
    reach = (
        or_(intel_entities.c.id.in_(mentioned), own)
        if own is not None
        else intel_entities.c.id.in_(mentioned)
    )
    return (intel_entities.c.classification <= int(principal.clearance)) & reach


def visible(conn: Connection, principal: Principal, entity_id: str, now: datetime) -> Entity:
    row = conn.execute(
        select(intel_entities).where(intel_entities.c.id == entity_id, _visible_entity_clause(principal, now))
    ).first()
    if row is None:
        raise NotFound("no such entity")
    return _entity(row)


def link_to_item(
    conn: Connection, actor: Principal, entity_id: str, item_id: str, relation: str, now: datetime
) -> str:
    """The item (which the actor's agency owns) mentions the entity."""
    visible(conn, actor, entity_id, now)
    store.owned(conn, actor, item_id)
    link_id = str(uuid.uuid4())
    audit.record(conn, actor.username, "intel.entity.link", "intel_entity", entity_id, {"item": item_id})
    conn.execute(
        insert(intel_item_links).values(
            id=link_id, entity_id=entity_id, item_id=item_id, relation=relation, asserted_by=item_id
        )
    )
    return link_id


def link_entities(
    conn: Connection,
    actor: Principal,
    source: str,
    target: str,
    relation: str,
    asserted_by: str,
    now: datetime,
) -> str:
    """Two entities related, as asserted by an item the actor's agency owns."""
    if source == target:
        raise InvalidInput("an entity cannot be linked to itself")
    visible(conn, actor, source, now)
    visible(conn, actor, target, now)
    store.owned(conn, actor, asserted_by)
    link_id = str(uuid.uuid4())
    audit.record(
        conn,
        actor.username,
        "intel.entity.link",
        "intel_entity",
        source,
        {"target": target, "item": asserted_by},
    )
    conn.execute(
        insert(intel_entity_links).values(
            id=link_id, source_id=source, target_id=target, relation=relation, asserted_by=asserted_by
        )
    )
    return link_id


def page(conn: Connection, principal: Principal, entity_id: str, now: datetime) -> EntityPage:
    """The entity, the visible items that mention it, and its neighbours through links whose
    asserting item is visible. Audited as a read of the entity and of each item listed."""
    entity = visible(conn, principal, entity_id, now)
    il = intel_item_links
    mentions = conn.execute(
        select(il.c.item_id, il.c.relation, intel_items.c.title)
        .join(intel_items, intel_items.c.id == il.c.item_id)
        .where(il.c.entity_id == entity_id, visible_clause(principal, now))
        .order_by(intel_items.c.created_at.desc())
    ).all()
    el = intel_entity_links
    links = conn.execute(
        select(el)
        .join(intel_items, intel_items.c.id == el.c.asserted_by)
        .where(or_(el.c.source_id == entity_id, el.c.target_id == entity_id), visible_clause(principal, now))
    ).all()
    others = {(lk.target_id if lk.source_id == entity_id else lk.source_id) for lk in links}
    shown: Mapping[str, Entity] = {}
    if others:
        rows = conn.execute(
            select(intel_entities).where(
                intel_entities.c.id.in_(sorted(others)),
                intel_entities.c.classification <= int(principal.clearance),
            )
        ).all()
        shown = {r.id: _entity(r) for r in rows}
    neighbours = []
    for lk in links:
        out = lk.source_id == entity_id
        other = lk.target_id if out else lk.source_id
        if other in shown:
            neighbours.append(Neighbour(shown[other], lk.relation, "out" if out else "in", lk.asserted_by))
    entries = [audit.Entry(principal.username, "intel.entity.read", "intel_entity", entity_id)]
    entries += [
        audit.Entry(principal.username, "intel.item.read", "intel_item", m.item_id, {"via": "entity"})
        for m in mentions
    ]
    audit.append(conn, entries)
    return EntityPage(entity, [(m.item_id, m.title, m.relation) for m in mentions], neighbours)


def search(
    conn: Connection, principal: Principal, label: str, now: datetime, limit: int = 50
) -> list[Entity]:
    """Entities by label (prefix, case-insensitive) among those the caller may see."""
    if not label.strip():
        raise InvalidInput("give part of a label to look for")
    query = (
        select(intel_entities)
        .where(
            intel_entities.c.label.ilike(_escape(label.strip()) + "%", escape="\\"),
            _visible_entity_clause(principal, now),
        )
        .order_by(intel_entities.c.label)
        .limit(limit)
    )
    return [_entity(r) for r in conn.execute(query)]


def _escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
