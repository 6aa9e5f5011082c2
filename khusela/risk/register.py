"""The locality risk register: entries written by the officials of the locality, read by
everyone whose jurisdiction covers it, and every change kept.

Writing needs `RISK_WRITE` over the entry's locality (a municipal official's agency
jurisdiction names their municipality); reading goes through the policy's `read_filter`
on the entry's province and municipality. An entry the caller may read but not edit gives
403 on edit; one they may not read is 404 (its existence is not disclosed).

Each write stores a version row (who, when, each changed field's old and new value, the
whole entry after it) in the same transaction as the entry and the audit record, and edits
carry the version they were made from, so two officials editing at once cannot silently
overwrite each other (409).

One write comes from the system rather than an official: a joint operation closed with its
debrief adds a done mitigation line to the open entries it concerns (`entries_over`,
`note_operation`; the rule is in `partners.operations`), through the same version row and
audit record, signed "operation <id>"."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import replace
from datetime import date, datetime
from typing import Any

import h3
from sqlalchemy import Connection, insert, select, update

from khusela.audit import log as audit
from khusela.core.clock import SystemClock
from khusela.core.errors import Conflict, Forbidden, InvalidInput, NotFound
from khusela.core.ids import new_id
from khusela.identity.model import Principal
from khusela.identity.policy import Action, Columns, Resource, can, read_filter
from khusela.risk import localities
from khusela.risk.model import (
    ActionStatus,
    Category,
    EntrySpec,
    EntryStatus,
    Mitigation,
    check_text,
    level_of,
    validate,
)
from khusela.risk.tables import risk_entries, risk_entry_versions, risk_locality_cells

ENTRY_COLUMNS = Columns(province=risk_entries.c.province, municipality=risk_entries.c.municipality)
EDITABLE = (
    "locality_code",
    "category",
    "title",
    "description",
    "likelihood",
    "impact",
    "owner",
    "mitigations",
    "status",
    "review_date",
)


def _resource(row: Mapping[str, Any]) -> Resource:
    return Resource(province=row["province"], municipality=row["municipality"])


def may_edit(actor: Principal, row: Mapping[str, Any]) -> bool:
    return can(actor, Action.RISK_WRITE, _resource(row))


def _plain(value: Any) -> Any:
    return value.isoformat() if isinstance(value, date | datetime) else value


def _values(conn: Connection, spec: EntrySpec) -> dict[str, Any]:
    place = localities.get(conn, spec.locality_code)
    if place.level == "province":
        raise InvalidInput("locality: a risk belongs to a district, municipality, ward or precinct")
    return {
        "locality_code": place.code,
        "province": place.province,
        "district": place.district,
        "municipality": place.municipality or place.district,
        "category": spec.category.value,
        "title": spec.title.strip(),
        "description": spec.description.strip(),
        "likelihood": spec.likelihood,
        "impact": spec.impact,
        "score": spec.likelihood * spec.impact,
        "level": level_of(spec.likelihood, spec.impact).value,
        "owner": spec.owner.strip(),
        "mitigations": [m.as_json() for m in spec.mitigations],
        "status": spec.status.value,
        "review_date": spec.review_date,
    }


def _snapshot(row: Mapping[str, Any]) -> dict[str, Any]:
    return {k: _plain(v) for k, v in row.items()}


def _version(conn: Connection, row: Mapping[str, Any], action: str, changes: dict[str, Any]) -> None:
    conn.execute(
        insert(risk_entry_versions).values(
            entry_id=row["id"],
            version=row["version"],
            at=row["updated_at"],
            by=row["updated_by"],
            action=action,
            changes=changes,
            snapshot=_snapshot(row),
        )
    )


def create(
    conn: Connection, actor: Principal, spec: EntrySpec, now: datetime | None = None
) -> dict[str, Any]:
    validate(spec)
    values = _values(conn, spec)
    if not may_edit(actor, values):
        raise Forbidden("only officials of this locality may add to its risk register")
    now = now or SystemClock().now()
    row = {
        "id": new_id(),
        **values,
        "version": 1,
        "created_by": actor.username,
        "created_at": now,
        "updated_by": actor.username,
        "updated_at": now,
    }
    conn.execute(insert(risk_entries).values(**row))
    _version(conn, row, "created", {k: [None, _plain(row[k])] for k in EDITABLE})
    audit.record(
        conn,
        actor.username,
        "risk.entry_created",
        "risk_entry",
        row["id"],
        {"locality": row["locality_code"]},
    )
    return row


def spec_of(row: Mapping[str, Any]) -> EntrySpec:
    """The entry as a spec, so an edit can replace some fields and be validated whole."""
    return EntrySpec(
        locality_code=row["locality_code"],
        category=Category(row["category"]),
        title=row["title"],
        description=row["description"],
        likelihood=row["likelihood"],
        impact=row["impact"],
        owner=row["owner"],
        mitigations=tuple(mitigation_of(m) for m in row["mitigations"]),
        status=EntryStatus(row["status"]),
        review_date=row["review_date"],
    )


def mitigation_of(raw: Mapping[str, Any]) -> Mitigation:
    due = raw.get("due")
    try:
        return Mitigation(
            str(raw.get("action") or ""),
            date.fromisoformat(due) if isinstance(due, str) else due,
            ActionStatus(raw.get("status") or ActionStatus.PLANNED),
        )
    except ValueError as exc:
        raise InvalidInput(f"mitigation: {exc}") from exc


def _editable_row(conn: Connection, actor: Principal, entry_id: str) -> dict[str, Any]:
    row = get(conn, actor, entry_id)
    if not may_edit(actor, row):
        raise Forbidden("this entry belongs to another locality: only its officials may edit it")
    return row


def edit(
    conn: Connection,
    actor: Principal,
    entry_id: str,
    expected_version: int,
    changes: Mapping[str, Any],
    now: datetime | None = None,
) -> dict[str, Any]:
    """Apply some fields (names as in `EntrySpec`) to the entry at `expected_version`."""
    unknown = set(changes) - set(EDITABLE)
    if unknown:
        raise InvalidInput(f"cannot change {', '.join(sorted(unknown))}")
    old = _editable_row(conn, actor, entry_id)
    if old["version"] != expected_version:
        who, now_at = old["updated_by"], old["version"]
        raise Conflict(f"the entry was changed by {who} (now version {now_at}): reload and edit again")
    spec = replace(spec_of(old), **changes)
    validate(spec)
    values = _values(conn, spec)
    if not may_edit(actor, values):
        raise Forbidden("you may not move an entry to a locality you do not serve")
    diff = {k: [_plain(old[k]), _plain(values[k])] for k in EDITABLE if _plain(old[k]) != _plain(values[k])}
    if not diff:
        return old
    return _save(
        conn, old, values, diff, actor.username, now or SystemClock().now(), "edited", "risk.entry_edited"
    )


def _save(
    conn: Connection,
    old: dict[str, Any],
    values: Mapping[str, Any],
    diff: dict[str, Any],
    by: str,
    now: datetime,
    kind: str,
    audit_action: str,
) -> dict[str, Any]:
    """Write `values` over `old` as the next version, only if the row is still at `old`'s
    version: the row, its version row (`kind`, the diff) and the audit record together."""
    new = {**old, **values, "version": old["version"] + 1, "updated_by": by, "updated_at": now}
    done = conn.execute(
        update(risk_entries)
        .where(risk_entries.c.id == old["id"], risk_entries.c.version == old["version"])
        .values(**values, version=new["version"], updated_by=by, updated_at=now)
    )
    if done.rowcount != 1:
        raise Conflict("the entry was changed at the same moment: reload and edit again")
    _version(conn, new, kind, diff)
    audit.record(conn, by, audit_action, "risk_entry", old["id"], {"fields": sorted(diff)})
    return new


def close(
    conn: Connection, actor: Principal, entry_id: str, expected_version: int, now: datetime | None = None
) -> dict[str, Any]:
    """ "Delete" closes: the entry and its history stay for the record (an auditor must be
    able to see that a risk was known and what was done about it)."""
    return edit(conn, actor, entry_id, expected_version, {"status": EntryStatus.CLOSED}, now)


def get(conn: Connection, viewer: Principal, entry_id: str) -> dict[str, Any]:
    row = conn.execute(
        select(risk_entries).where(
            risk_entries.c.id == entry_id, read_filter(viewer, Action.RISK_READ, ENTRY_COLUMNS)
        )
    ).first()
    if row is None:
        raise NotFound("no such register entry")
    return dict(row._mapping)


def list_entries(
    conn: Connection,
    viewer: Principal,
    *,
    locality: str | None = None,
    municipality: str | None = None,
    category: Category | None = None,
    include_closed: bool = False,
    limit: int = 2000,
) -> list[dict[str, Any]]:
    query = select(risk_entries).where(read_filter(viewer, Action.RISK_READ, ENTRY_COLUMNS))
    if locality:
        query = query.where(risk_entries.c.locality_code == locality)
    if municipality:
        query = query.where(risk_entries.c.municipality == municipality)
    if category:
        query = query.where(risk_entries.c.category == category.value)
    if not include_closed:
        query = query.where(risk_entries.c.status != EntryStatus.CLOSED.value)
    query = query.order_by(risk_entries.c.score.desc(), risk_entries.c.updated_at.desc()).limit(limit)
    return [dict(r._mapping) for r in conn.execute(query)]


def history(conn: Connection, viewer: Principal, entry_id: str) -> list[dict[str, Any]]:
    """Every version of an entry the viewer may read, newest first."""
    get(conn, viewer, entry_id)
    rows = conn.execute(
        select(risk_entry_versions)
        .where(risk_entry_versions.c.entry_id == entry_id)
        .order_by(risk_entry_versions.c.version.desc())
    )
    return [dict(r._mapping) for r in rows]


# --- system notes: a joint operation's outcomes ------------------------------------------------


def _with_ancestors(cells: Iterable[str]) -> set[str]:
    return {h3.cell_to_parent(c, r) for c in cells for r in range(h3.get_resolution(c) + 1)}


def _overlaps(cell: str, area: set[str], area_up: set[str]) -> bool:
    """Whether `cell` and the area share ground, whatever the two resolutions: the cell holds
    one of the area's cells, or one of them holds the cell."""
    return cell in area_up or any(
        h3.cell_to_parent(cell, r) in area for r in range(h3.get_resolution(cell) + 1)
    )


def entries_over(
    conn: Connection, cells: Collection[str], municipality: str | None, categories: Collection[Category]
) -> list[tuple[str, Category]]:
    """(Id, category) of the entries not closed, of these categories, whose locality shares ground with
    the area: its H3 cells, or, for an area given only as a municipality, that municipality.
    A system query: no viewer, so callers must not hand the result to a user as it is."""
    if not categories or not (cells or municipality):
        return []
    query = select(risk_entries.c.id, risk_entries.c.locality_code, risk_entries.c.category).where(
        risk_entries.c.status != EntryStatus.CLOSED.value,
        risk_entries.c.category.in_(sorted(c.value for c in categories)),
    )
    if not cells:
        rows = conn.execute(query.where(risk_entries.c.municipality == municipality)).all()
        return [(r.id, Category(r.category)) for r in rows]
    rows = conn.execute(query).all()
    codes = sorted({r.locality_code for r in rows})
    area, area_up = set(cells), _with_ancestors(cells)
    covered = {
        c.locality_code
        for c in conn.execute(
            select(risk_locality_cells).where(risk_locality_cells.c.locality_code.in_(codes))
        )
        if _overlaps(c.cell, area, area_up)
    }
    return [(r.id, Category(r.category)) for r in rows if r.locality_code in covered]


def note_operation(
    conn: Connection, entry_id: str, text: str, by: str, now: datetime, due: date | None = None
) -> dict[str, Any]:
    """Append a done mitigation line written by the system (`by`, e.g. "operation <id>"): a
    new version and an audit record as for an edit, in the caller's transaction. No
    permission check: the caller is the rule that decided the entry is concerned."""
    check_text("mitigation", text)
    row = conn.execute(select(risk_entries).where(risk_entries.c.id == entry_id).with_for_update()).first()
    if row is None:
        raise NotFound("no such register entry")
    old = dict(row._mapping)
    mitigations = [*old["mitigations"], Mitigation(text, due, ActionStatus.DONE).as_json()]
    diff = {"mitigations": [old["mitigations"], mitigations]}
    return _save(conn, old, {"mitigations": mitigations}, diff, by, now, "operation", "risk.entry_noted")


def readable(conn: Connection, viewer: Principal, entry_ids: Collection[str]) -> list[str]:
    """Those of `entry_ids` the viewer may read (the others are not to be mentioned to them)."""
    if not entry_ids:
        return []
    query = select(risk_entries.c.id).where(
        risk_entries.c.id.in_(sorted(entry_ids)), read_filter(viewer, Action.RISK_READ, ENTRY_COLUMNS)
    )
    return list(conn.execute(query).scalars())
