"""Every read of intel items: one item, lists, full-text search, export selection.

Each selects through `access.visible_clause` in the same query (nothing the caller may not
see is fetched), returns the sanitised copy to anyone outside the originating agency when the
handling rules require it, and audits every item returned: one record for a single read, one
batch (`audit.append`) per list, search or export. A read outside the owning agency is also a
dissemination (`channel = read`).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Connection, Select, func, literal_column, select, text

from khusela.audit import log as audit
from khusela.core.errors import InvalidInput, NotFound
from khusela.identity.model import Principal
from khusela.intel import rows
from khusela.intel.access import visible_clause
from khusela.intel.handling import needs_sanitising
from khusela.intel.model import Category
from khusela.intel.rows import StoredItem
from khusela.intel.sanitise import sanitise
from khusela.intel.store import dissemination_row, log_dissemination
from khusela.intel.tables import intel_items

MAX_PAGE = 200
MAX_QUERY = 200
_WORD = re.compile(r"\w+", re.UNICODE)


def present(principal: Principal, stored: StoredItem) -> StoredItem:
    """The copy this reader may see: sanitised outside the originating agency when required."""
    if needs_sanitising(stored.item, principal.agency_id):
        return replace(stored, item=sanitise(stored.item))
    return stored


def _audit_reads(
    conn: Connection, principal: Principal, found: Sequence[StoredItem], how: str, now: datetime
) -> None:
    if not found:
        return
    audit.append(
        conn,
        [
            audit.Entry(
                principal.username,
                "intel.item.read",
                "intel_item",
                str(s.item.id),
                {"via": how, "version": s.item.version},
            )
            for s in found
        ],
    )
    outside = [s for s in found if s.item.originator.agency_id != principal.agency_id]
    log_dissemination(
        conn,
        [
            dissemination_row(
                s.item,
                "read",
                principal.username,
                "user",
                principal.user_id,
                f"need-to-know read ({how})",
                needs_sanitising(s.item, principal.agency_id),
                now,
            )
            for s in outside
        ],
    )


def get(conn: Connection, principal: Principal, item_id: str, now: datetime) -> StoredItem:
    """One item, or 'not found' for an item the caller may not see (never 'forbidden')."""
    row = conn.execute(
        select(intel_items).where(intel_items.c.id == item_id, visible_clause(principal, now))
    ).first()
    if row is None:
        raise NotFound("no such intelligence item")
    stored = rows.load(conn, [row])[0]
    _audit_reads(conn, principal, [stored], "item", now)
    return present(principal, stored)


def _page(query: Select[tuple[object, ...]], limit: int, offset: int) -> Select[tuple[object, ...]]:
    if not 1 <= limit <= MAX_PAGE:
        raise InvalidInput(f"limit must be between 1 and {MAX_PAGE}")
    if offset < 0:
        raise InvalidInput("offset cannot be negative")
    return query.limit(limit).offset(offset)


def visible_query(principal: Principal, now: datetime) -> Select[tuple[object, ...]]:
    return select(intel_items).where(visible_clause(principal, now))


def list_items(
    conn: Connection,
    principal: Principal,
    now: datetime,
    *,
    category: Category | None = None,
    municipality: str | None = None,
    limit: int = 50,
    offset: int = 0,
) -> list[StoredItem]:
    """Items the caller may see, newest first."""
    query = visible_query(principal, now)
    if category is not None:
        query = query.where(intel_items.c.category == category.value)
    if municipality is not None:
        query = query.where(intel_items.c.municipality == municipality)
    query = _page(query.order_by(intel_items.c.created_at.desc(), intel_items.c.id), limit, offset)
    found = rows.load(conn, conn.execute(query).all())
    _audit_reads(conn, principal, found, "list", now)
    return [present(principal, s) for s in found]


def fts_query(q: str) -> str:
    """The words of `q` as an FTS5 query of quoted terms (all must match): user text never
    reaches the FTS5 query syntax."""
    words = _WORD.findall(q)
    if not words:
        raise InvalidInput("search for at least one word")
    return " ".join(f'"{w}"' for w in words[:20])


def search_query(
    conn: Connection, principal: Principal, q: str, now: datetime, limit: int
) -> Select[tuple[object, ...]]:
    """The access-filtered full-text query, newest matches first; the policy is in the same
    SQL statement. Newest-first (not relevance) on both backends: PostgreSQL then either walks
    the `created_at` index and stops at the first `limit` visible matches (common words) or
    fetches the few matches from the GIN index (rare words) — ranking would have to score
    every match, which grows with the store."""
    if len(q) > MAX_QUERY:
        raise InvalidInput(f"a search may be at most {MAX_QUERY} characters")
    base = visible_query(principal, now)
    if conn.dialect.name == "postgresql":
        if not _WORD.search(q):
            raise InvalidInput("search for at least one word")
        tsq = func.websearch_to_tsquery(literal_column("'english'::regconfig"), q)
        vector: ColumnElement[Any] = literal_column("intel_items.search")
        query = base.where(vector.op("@@")(tsq)).order_by(intel_items.c.created_at.desc())
        return _page(query, limit, 0)
    match = text(
        "intel_items.id IN (SELECT item_id FROM intel_items_fts WHERE intel_items_fts MATCH :fts)"
    ).bindparams(fts=fts_query(q))
    return _page(base.where(match).order_by(intel_items.c.created_at.desc()), limit, 0)


def tune_for_search(conn: Connection) -> None:
    """PostgreSQL's JIT compiles a plan in 20-30 ms: worth it for reports, not for a search
    box. Local to the transaction."""
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql("SET LOCAL jit = off")


def search(
    conn: Connection, principal: Principal, q: str, now: datetime, limit: int = 50
) -> list[StoredItem]:
    tune_for_search(conn)
    found = rows.load(conn, conn.execute(search_query(conn, principal, q, now, limit)).all())
    _audit_reads(conn, principal, found, "search", now)
    return [present(principal, s) for s in found]


def visible_ids(conn: Connection, principal: Principal, ids: Sequence[str], now: datetime) -> set[str]:
    """Which of `ids` the caller may see (for the entity graph: links reveal no hidden item)."""
    if not ids:
        return set()
    query = select(intel_items.c.id).where(
        intel_items.c.id.in_(sorted(set(ids))), visible_clause(principal, now)
    )
    return set(conn.execute(query).scalars())


def audit_reads(
    conn: Connection, principal: Principal, found: Sequence[StoredItem], how: str, now: datetime
) -> None:
    _audit_reads(conn, principal, found, how, now)
