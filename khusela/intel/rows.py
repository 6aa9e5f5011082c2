"""Intel items between the model and the tables: one stored item with who it is shared with.

`StoredItem` pairs an `IntelItem` (whose `distribution` holds partner instances only, as
federation reads it) with the local audience — agencies, named users, sharing groups — and
its status; `shareable()` is what the access rule reads.
"""

from __future__ import annotations

import json
import uuid
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, Connection, Row, delete, insert, select, text

from khusela.identity.model import Clearance
from khusela.intel.access import Shareable
from khusela.intel.grading import Credibility, Grade, HandlingCode, Reliability
from khusela.intel.markings import Marking, Tlp
from khusela.intel.model import (
    Attachment,
    Category,
    IntelItem,
    Locality,
    Observable,
    ObservableKind,
    Originator,
    TimeWindow,
)
from khusela.intel.tables import (
    DIST_AGENCY,
    DIST_INSTANCE,
    DIST_USER,
    intel_instance,
    intel_item_cells,
    intel_item_distribution,
    intel_item_groups,
    intel_items,
)


@dataclass(frozen=True, slots=True)
class Audience:
    """Who, in this instance, an item is shared with beyond its agency."""

    agencies: frozenset[str] = frozenset()
    users: frozenset[str] = frozenset()
    groups: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True)
class StoredItem:
    item: IntelItem
    audience: Audience
    status: str
    seq: int

    def shareable(self) -> Shareable:
        item = self.item
        return Shareable(
            agency_id=item.originator.agency_id,
            author_id=item.originator.author_id,
            tlp=item.marking.tlp,
            classification=item.marking.classification,
            groups=self.audience.groups,
            agencies=self.audience.agencies,
            users=self.audience.users,
            received=item.received_from is not None,
            status=self.status,
            review_at=item.review_date,
        )


def item_values(item: IntelItem, status: str, seq: int) -> dict[str, Any]:
    grade, loc, window = item.grade, item.locality, item.window
    return {
        "id": str(item.id),
        "version": item.version,
        "seq": seq,
        "status": status,
        "title": item.title,
        "body": item.body,
        "category": item.category.value,
        "tlp": int(item.marking.tlp),
        "classification": int(item.marking.classification),
        "caveats": sorted(item.marking.caveats),
        "reliability": grade.reliability.value if grade else None,
        "credibility": int(grade.credibility) if grade else None,
        "handling": grade.handling.value if grade else None,
        "province": loc.province,
        "municipality": loc.municipality,
        "ward": loc.ward,
        "cells": list(loc.cells),
        "window_start": window.start if window else None,
        "window_end": window.end if window else None,
        "origin_instance": item.originator.instance,
        "agency_id": item.originator.agency_id,
        "author_id": item.originator.author_id,
        "review_at": item.review_date,
        "human_source": item.human_source,
        "source_ref": item.source_ref,
        "source_description": item.source_description,
        "sanitised": item.sanitised,
        "sanitised_note": item.sanitised_note,
        "attachments": [[a.name, a.sha256, a.size, a.releasable] for a in item.attachments],
        "observables": [[o.kind.value, o.value] for o in item.observables],
        "received_from": item.received_from,
        "created_at": item.created_at,
        "updated_at": item.updated_at,
    }


def _item(row: Row[Any], instances: frozenset[str]) -> IntelItem:
    grade = None
    if row.reliability is not None and row.credibility is not None and row.handling is not None:
        grade = Grade(Reliability(row.reliability), Credibility(row.credibility), HandlingCode(row.handling))
    return IntelItem(
        id=uuid.UUID(row.id),
        version=row.version,
        title=row.title,
        body=row.body,
        category=Category(row.category),
        originator=Originator(row.origin_instance, row.agency_id, row.author_id),
        marking=Marking(Tlp(row.tlp), Clearance(row.classification), frozenset(row.caveats)),
        created_at=row.created_at,
        updated_at=row.updated_at,
        grade=grade,
        locality=Locality(row.province, row.municipality, row.ward, tuple(row.cells)),
        window=TimeWindow(row.window_start, row.window_end) if row.window_start else None,
        distribution=instances,
        review_at=row.review_at,
        human_source=row.human_source,
        source_ref=row.source_ref,
        source_description=row.source_description,
        attachments=tuple(Attachment(n, h, int(s), bool(r)) for n, h, s, r in row.attachments),
        observables=tuple(Observable(ObservableKind(k), v) for k, v in row.observables),
        sanitised=row.sanitised,
        sanitised_note=row.sanitised_note,
        received_from=row.received_from,
    )


def load(conn: Connection, rows: Sequence[Row[Any]]) -> list[StoredItem]:
    """Full items for `rows` of `intel_items`, with their audiences, in the order given."""
    if not rows:
        return []
    ids = [r.id for r in rows]
    dist: dict[str, dict[str, set[str]]] = defaultdict(lambda: defaultdict(set))
    groups: dict[str, set[str]] = defaultdict(set)
    for chunk in _chunks(ids, 500):
        d = intel_item_distribution
        for r in conn.execute(select(d.c.item_id, d.c.kind, d.c.target).where(d.c.item_id.in_(chunk))):
            dist[r.item_id][r.kind].add(r.target)
        g = intel_item_groups
        for gr in conn.execute(select(g.c.item_id, g.c.group_id).where(g.c.item_id.in_(chunk))):
            groups[gr.item_id].add(gr.group_id)
    out = []
    for row in rows:
        kinds = dist.get(row.id, {})
        audience = Audience(
            frozenset(kinds.get(DIST_AGENCY, ())),
            frozenset(kinds.get(DIST_USER, ())),
            frozenset(groups[row.id]),
        )
        out.append(
            StoredItem(_item(row, frozenset(kinds.get(DIST_INSTANCE, ()))), audience, row.status, row.seq)
        )
    return out


def _chunks(values: Sequence[str], size: int) -> Iterable[Sequence[str]]:
    for start in range(0, len(values), size):
        yield values[start : start + size]


def write_audience(conn: Connection, item: IntelItem, audience: Audience) -> None:
    """Replace the item's distribution, groups and cells with what `item` and `audience` say."""
    item_id = str(item.id)
    for table in (intel_item_distribution, intel_item_groups, intel_item_cells):
        conn.execute(delete(table).where(table.c.item_id == item_id))
    dist = [{"item_id": item_id, "kind": DIST_INSTANCE, "target": t} for t in sorted(item.distribution)]
    dist += [{"item_id": item_id, "kind": DIST_AGENCY, "target": t} for t in sorted(audience.agencies)]
    dist += [{"item_id": item_id, "kind": DIST_USER, "target": t} for t in sorted(audience.users)]
    if dist:
        conn.execute(insert(intel_item_distribution), dist)
    if audience.groups:
        conn.execute(
            insert(intel_item_groups), [{"item_id": item_id, "group_id": g} for g in sorted(audience.groups)]
        )
    if item.locality.cells:
        conn.execute(
            insert(intel_item_cells),
            [{"item_id": item_id, "cell": c} for c in sorted(set(item.locality.cells))],
        )


def index_text(conn: Connection, item_id: str, title: str | None, body: str | None) -> None:
    """Keep SQLite's FTS5 table in step (PostgreSQL's tsvector is a generated column)."""
    if conn.dialect.name != "sqlite":
        return
    conn.execute(text("DELETE FROM intel_items_fts WHERE item_id = :id"), {"id": item_id})
    if title is not None:
        conn.execute(
            text("INSERT INTO intel_items_fts (item_id, title, body) VALUES (:id, :t, :b)"),
            {"id": item_id, "t": title, "b": body or ""},
        )


def by_ids(conn: Connection, ids: Sequence[str]) -> list[StoredItem]:
    found: list[Row[Any]] = []
    for chunk in _chunks(list(ids), 500):
        found += conn.execute(select(intel_items).where(intel_items.c.id.in_(chunk))).all()
    order = {i: n for n, i in enumerate(ids)}
    return load(conn, sorted(found, key=lambda r: order[r.id]))


def fetch(conn: Connection, item_id: str) -> StoredItem | None:
    found = by_ids(conn, [item_id])
    return found[0] if found else None


def instance_name(conn: Connection) -> str:
    """This instance's federation name; ``local`` until an administrator sets one."""
    name = conn.execute(select(intel_instance.c.name).where(intel_instance.c.id == 1)).scalar()
    return str(name) if name else "local"


_COLUMNS = [c.name for c in intel_items.columns]
_JSON = frozenset(c.name for c in intel_items.columns if isinstance(c.type, JSON))


def _driver_value(value: Any, name: str, sqlite: bool) -> Any:
    if name in _JSON:
        return json.dumps(value)
    if isinstance(value, datetime):
        utc = value.astimezone(UTC)
        return utc.replace(tzinfo=None).strftime("%Y-%m-%d %H:%M:%S.%f") if sqlite else utc
    return value


def driver_insert(
    conn: Connection, table: str, columns: Sequence[str], values: Sequence[tuple[Any, ...]]
) -> None:
    """One driver-level executemany of plain values (strings, numbers, booleans, driver-ready
    timestamps): for the bulk paths of federation, where per-row ORM processing dominates."""
    if not values:
        return
    mark = "?" if conn.dialect.name == "sqlite" else "%s"
    # Table and column names are this module's constants; every value is bound.
    statement = f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join([mark] * len(columns))})"  # noqa: S608
    conn.exec_driver_sql(statement, list(values))


def driver_time(conn: Connection, moment: datetime) -> Any:
    utc = moment.astimezone(UTC)
    return utc.replace(tzinfo=None).strftime("%Y-%m-%d %H:%M:%S.%f") if conn.dialect.name == "sqlite" else utc


def bulk_insert_items(conn: Connection, values: Sequence[dict[str, Any]]) -> None:
    """Insert many `item_values` rows with one driver-level executemany.

    A federation envelope carries thousands of items; SQLAlchemy's per-row parameter
    processing would cost more than the database itself. Values are converted here exactly
    as the column types would (UTC timestamps, JSON text)."""
    if not values:
        return
    sqlite = conn.dialect.name == "sqlite"
    driver_insert(
        conn,
        "intel_items",
        _COLUMNS,
        [tuple(_driver_value(v.get(c), c, sqlite) for c in _COLUMNS) for v in values],
    )
