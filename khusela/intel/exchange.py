"""STIX 2.1 export and import for people and tools outside Khusela federation.

Export: what the caller may see (the same `visible_clause` as every list), sanitised where
the handling rules say so, bounded by a sharing group's maximum shareable marking when the
export is for a group; every exported item is audited and logged as a dissemination with the
caller's reason. Import: a validated, fully marked bundle is held on behalf of the importing
agency (markings, grading and provenance kept; foreign sharing groups and distribution dropped,
because they name another system's audiences); importing the same bundle twice changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from khusela.audit import log as audit
from khusela.core.errors import InvalidInput
from khusela.identity.model import Principal
from khusela.intel import groups, reads, rows, stix, store
from khusela.intel.access import ACTIVE
from khusela.intel.handling import check_submission
from khusela.intel.markings import may_export
from khusela.intel.model import Originator
from khusela.intel.rows import Audience
from khusela.intel.tables import intel_items

MAX_EXPORT = 5000


def export_stix(
    conn: Connection,
    principal: Principal,
    reason: str,
    now: datetime,
    *,
    group_id: str | None = None,
    limit: int = 1000,
) -> dict[str, Any]:
    if len(reason.strip()) < store.MIN_REASON:
        raise InvalidInput(f"give a reason of at least {store.MIN_REASON} characters for the export")
    if not 1 <= limit <= MAX_EXPORT:
        raise InvalidInput(f"limit must be between 1 and {MAX_EXPORT}")
    ceiling = None
    if group_id is not None:
        ceiling = groups.membership(conn, principal, group_id).ceiling
        if ceiling.aggregate_only:
            raise InvalidInput("this group receives aggregates only (counts and maps), never single items")
    query = reads.visible_query(principal, now).order_by(intel_items.c.created_at.desc()).limit(limit)
    found = [reads.present(principal, s) for s in rows.load(conn, conn.execute(query).all())]
    if ceiling is not None:
        found = [s for s in found if may_export(s.item.marking, ceiling)]
    if found:
        audit.append(
            conn,
            [
                audit.Entry(
                    principal.username, "intel.item.export", "intel_item", str(s.item.id), {"group": group_id}
                )
                for s in found
            ],
        )
        kind, recipient = ("group", group_id) if group_id else ("user", principal.user_id)
        store.log_dissemination(
            conn,
            [
                store.dissemination_row(
                    s.item, "export", principal.username, kind, recipient, reason, s.item.sanitised, now
                )
                for s in found
            ],
        )
    return stix.to_json(stix.Exchange(items=tuple(s.item for s in found)))


@dataclass(frozen=True, slots=True)
class ImportResult:
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    revoked: int = 0


def import_stix(conn: Connection, actor: Principal, bundle: Any, now: datetime) -> ImportResult:
    if actor.agency_id is None:
        raise InvalidInput("only a member of an agency can import intelligence")
    exchange = stix.from_bundle(bundle)
    result = ImportResult()
    for incoming in exchange.items:
        item = replace(
            incoming,
            originator=Originator(incoming.originator.instance, actor.agency_id, None),
            sharing_groups=frozenset(),
            distribution=frozenset(),
            received_from=None,
        )
        check_submission(item)
        held = rows.fetch(conn, str(item.id))
        if held is not None and (held.item.version >= item.version or held.status != ACTIVE):
            result = replace(result, unchanged=result.unchanged + 1)
            continue
        audit.record(
            conn, actor.username, "intel.item.import", "intel_item", str(item.id), {"version": item.version}
        )
        seq = store.next_seq(conn)
        if held is None:
            store.insert_item(conn, item, Audience(), seq)
            result = replace(result, inserted=result.inserted + 1)
        else:
            if held.item.originator.agency_id != actor.agency_id:
                raise InvalidInput(f"item {item.id} is held here by another agency")
            store.save_item(conn, replace(held, item=item), seq)
            result = replace(result, updated=result.updated + 1)
    for stone in exchange.tombstones:
        held = rows.fetch(conn, str(stone.id))
        if held is None or held.status != ACTIVE or held.item.originator.agency_id != actor.agency_id:
            continue
        audit.record(conn, actor.username, "intel.item.revoke", "intel_item", str(stone.id), {"via": "stix"})
        store.retire(conn, held, store.REVOKED_STATUS, stone.reason or "revoked by its originator", now)
        result = replace(result, revoked=result.revoked + 1)
    return result
