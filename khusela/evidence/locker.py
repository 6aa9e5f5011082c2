"""Cases and evidence items: creating a case, adding an item, reading through the policy.

Adding an item stores its bytes write-once *before* the transaction inserts the row,
custody entry and audit record: if the transaction rolls back, an unreferenced object is
left in the store (harmless: it is content-addressed and a retry reuses it), but a row
can never name bytes that were not durably stored. The API streams an upload into the
store itself (`MediaStore.stage`) and then calls `record_item`; `add_item` does both for a
caller that holds a file.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any, BinaryIO

from sqlalchemy import Connection, insert, select, update

from khusela.audit import log as audit
from khusela.audit.chain import GENESIS
from khusela.core.clock import Clock, SystemClock
from khusela.core.errors import Conflict, Forbidden, InvalidInput, NotFound
from khusela.core.ids import new_id
from khusela.evidence import custody
from khusela.evidence.custody import CustodyAction
from khusela.evidence.storage import MediaStore, StoredMedia
from khusela.evidence.tables import evidence_cases, evidence_items
from khusela.identity.model import Principal
from khusela.identity.policy import Action, Columns, Resource, can, read_filter
from khusela.store.unique import insert_unique

CASE_NUMBER = re.compile(r"^CAS\s*(\d{1,6})\s*/\s*(\d{1,2})\s*/\s*(\d{4})$", re.IGNORECASE)
"""A SAPS case reference: CAS <serial>/<month>/<year>, e.g. `CAS 123/11/2026`."""

CASE_COLUMNS = Columns(agency=evidence_cases.c.agency_id)


class ItemKind(StrEnum):
    CLIP = "clip"
    SNAPSHOT = "snapshot"
    DOCUMENT = "document"


@dataclass(frozen=True, slots=True)
class Case:
    id: str
    case_number: str
    title: str
    agency_id: str
    created_by: str
    created_at: datetime
    legal_hold: bool
    custody_seq: int
    custody_head: str


@dataclass(frozen=True, slots=True)
class Item:
    id: str
    case_id: str
    kind: str
    sha256: str
    size: int
    media_type: str
    original_name: str
    source: dict[str, Any] | None
    captured_at: datetime | None
    added_by: str
    added_at: datetime


def normalise_case_number(raw: str) -> str:
    """`cas 123 / 11 / 2026` → `CAS 123/11/2026`; refuse anything else."""
    match = CASE_NUMBER.match(raw.strip())
    if match is None:
        raise InvalidInput("a case number looks like CAS 123/11/2026 (serial/month/year)")
    serial, month, year = (int(g) for g in match.groups())
    if not 1 <= month <= 12 or not 1990 <= year <= 2200 or serial == 0:
        raise InvalidInput("a case number looks like CAS 123/11/2026 (serial/month/year)")
    return f"CAS {serial}/{month}/{year}"


def case_resource(case: Case) -> Resource:
    return Resource(agency_id=case.agency_id)


def create_case(
    conn: Connection,
    actor: str,
    case_number: str,
    title: str,
    agency_id: str,
    clock: Clock | None = None,
) -> Case:
    """Open a case for an agency; its custody log starts with a "created" entry."""
    number = normalise_case_number(case_number)
    title = title.strip()
    if not 1 <= len(title) <= 200:
        raise InvalidInput("a case title is 1 to 200 characters")
    case_id = new_id()
    now = (clock or SystemClock()).now()
    insert_unique(
        conn,
        insert(evidence_cases).values(
            id=case_id,
            case_number=number,
            title=title,
            agency_id=agency_id,
            created_by=actor,
            created_at=now,
            legal_hold=False,
            custody_seq=0,
            custody_head=GENESIS,
        ),
        f"case {number} exists already, or the agency is unknown",
    )
    custody.append(conn, case_id, actor, CustodyAction.CREATED, details={"case_number": number}, clock=clock)
    audit.record(conn, actor, "evidence.case_created", "evidence_case", case_id, {"case_number": number})
    return get_case(conn, case_id)


def add_item(
    conn: Connection,
    store: MediaStore,
    actor: str,
    case_id: str,
    data: BinaryIO,
    kind: ItemKind,
    media_type: str,
    original_name: str,
    source: dict[str, Any] | None = None,
    captured_at: datetime | None = None,
    clock: Clock | None = None,
) -> Item:
    """Store the bytes write-once, then record the item, its custody entry and audit record."""
    get_case(conn, case_id)
    check_item_fields(original_name, captured_at)
    stored = store.put(data)
    return record_item(
        conn, actor, case_id, stored, kind, media_type, original_name, source, captured_at, clock
    )


def check_item_fields(original_name: str, captured_at: datetime | None) -> None:
    """Refuse an item's descriptive fields before any of its bytes are stored."""
    if not original_name.strip() or len(original_name) > 255:
        raise InvalidInput("an original file name is 1 to 255 characters")
    if captured_at is not None and captured_at.tzinfo is None:
        raise InvalidInput("captured_at needs a time zone")


def record_item(
    conn: Connection,
    actor: str,
    case_id: str,
    stored: StoredMedia,
    kind: ItemKind,
    media_type: str,
    original_name: str,
    source: dict[str, Any] | None = None,
    captured_at: datetime | None = None,
    clock: Clock | None = None,
) -> Item:
    """Record bytes already stored write-once as an item of the case, with custody and audit."""
    check_item_fields(original_name, captured_at)
    if stored.size == 0:
        raise InvalidInput("an evidence file cannot be empty")
    duplicate = conn.execute(
        select(evidence_items.c.id).where(
            evidence_items.c.case_id == case_id, evidence_items.c.sha256 == stored.sha256
        )
    ).first()
    if duplicate is not None:
        raise Conflict(f"these bytes are already item {duplicate.id} of this case")
    item = Item(
        id=new_id(),
        case_id=case_id,
        kind=kind.value,
        sha256=stored.sha256,
        size=stored.size,
        media_type=media_type.strip() or "application/octet-stream",
        original_name=original_name.strip(),
        source=source,
        captured_at=captured_at,
        added_by=actor,
        added_at=(clock or SystemClock()).now(),
    )
    conn.execute(insert(evidence_items).values(**asdict(item)))
    details = {"sha256": stored.sha256, "size": stored.size, "kind": kind.value}
    custody.append(conn, case_id, actor, CustodyAction.ADDED, item.id, details, clock=clock)
    audit.record(conn, actor, "evidence.item_added", "evidence_item", item.id, details)
    return item


def record_view(conn: Connection, actor: str, item: Item) -> None:
    """Someone looked at (downloaded) an item: custody and audit both say so."""
    custody.append(conn, item.case_id, actor, CustodyAction.VIEWED, item.id, {"sha256": item.sha256})
    audit.record(conn, actor, "evidence.item_viewed", "evidence_item", item.id)


def set_legal_hold(conn: Connection, actor: str, case_id: str, hold: bool, reason: str) -> Case:
    """Place or lift a legal hold: nothing is deleted anyway, but retention must ask this first."""
    case = get_case(conn, case_id)
    if case.legal_hold == hold:
        return case
    conn.execute(update(evidence_cases).where(evidence_cases.c.id == case_id).values(legal_hold=hold))
    details = {"hold": hold, "reason": reason.strip()[:300]}
    custody.append(conn, case_id, actor, CustodyAction.LEGAL_HOLD, details=details)
    audit.record(conn, actor, "evidence.legal_hold", "evidence_case", case_id, {"hold": hold})
    return get_case(conn, case_id)


def get_case(conn: Connection, case_id: str) -> Case:
    row = conn.execute(select(evidence_cases).where(evidence_cases.c.id == case_id)).first()
    if row is None:
        raise NotFound("no such case")
    return Case(**row._mapping)


def find_case(conn: Connection, id_or_number: str) -> Case:
    """A case by id or by its case number (what the CLI is given)."""
    query = select(evidence_cases)
    try:
        number = normalise_case_number(id_or_number)
        query = query.where(evidence_cases.c.case_number == number)
    except InvalidInput:
        query = query.where(evidence_cases.c.id == id_or_number)
    row = conn.execute(query).first()
    if row is None:
        raise NotFound(f"no case {id_or_number}")
    return Case(**row._mapping)


def visible_case(conn: Connection, viewer: Principal, case_id: str, action: Action) -> Case:
    """The case if `viewer` may `action` it. A case the viewer may not even read is "not
    found" (its existence is need-to-know); one they may read but not change is forbidden."""
    try:
        case = get_case(conn, case_id)
    except NotFound:
        raise NotFound("no such case") from None
    resource = case_resource(case)
    if not can(viewer, Action.EVIDENCE_READ, resource):
        raise NotFound("no such case")
    if not can(viewer, action, resource):
        raise Forbidden(f"your roles do not allow {action.value} on this case")
    return case


def list_cases(conn: Connection, viewer: Principal, limit: int = 500) -> list[Case]:
    """The cases `viewer` may read, newest first."""
    query = (
        select(evidence_cases)
        .where(read_filter(viewer, Action.EVIDENCE_READ, CASE_COLUMNS))
        .order_by(evidence_cases.c.created_at.desc(), evidence_cases.c.id.desc())
        .limit(limit)
    )
    return [Case(**row._mapping) for row in conn.execute(query)]


def all_cases(conn: Connection, limit: int = 500) -> list[Case]:
    """Every case, for the local administrator's CLI (which runs as the platform itself)."""
    query = select(evidence_cases).order_by(evidence_cases.c.created_at.desc()).limit(limit)
    return [Case(**row._mapping) for row in conn.execute(query)]


def items_of(conn: Connection, case_id: str) -> list[Item]:
    """A case's items in the order they were added."""
    rows = conn.execute(
        select(evidence_items)
        .where(evidence_items.c.case_id == case_id)
        .order_by(evidence_items.c.added_at, evidence_items.c.id)
    )
    return [Item(**row._mapping) for row in rows]


def get_item(conn: Connection, case_id: str, item_id: str) -> Item:
    row = conn.execute(
        select(evidence_items).where(evidence_items.c.id == item_id, evidence_items.c.case_id == case_id)
    ).first()
    if row is None:
        raise NotFound("no such item in this case")
    return Item(**row._mapping)
