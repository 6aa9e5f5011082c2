"""Append to and verify the audit log, inside the caller's transaction.

Appends lock the single head row (`SELECT … FOR UPDATE` on PostgreSQL; SQLite writers are
already serialised by `BEGIN IMMEDIATE`), so the chain has one order even with many API
nodes. Because the record is written in the caller's transaction, a change and its
audit record commit or roll back together.

A hot path (a panic alert) may `stage` its record instead: it is written, in the caller's
transaction, to `audit_pending`, without touching the head row, so such transactions no
longer queue behind each other for it. Staged records are chained, in the order they were
staged, by the next holder of the head row — every `append` first chains what is staged
and committed (so a record staged before an appended one is chained before it), and the
background `AuditAppender` chains them in batches. Until then they are durable but not
yet part of the chain that `verify` checks.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, delete, func, insert, select, update

from khusela.audit.chain import GENESIS, AuditRecord, canonical, recompute, record_hash
from khusela.audit.tables import audit_head, audit_log, audit_pending
from khusela.core.clock import Clock, SystemClock

HEAD_ID = 1
DRAIN_BATCH = 1000
"""Staged records chained per statement round; `drain` loops until none is left."""


@dataclass(frozen=True, slots=True)
class Entry:
    """One thing to record: who did what to which object, with optional details."""

    actor: str
    action: str
    object_type: str
    object_id: str
    details: dict[str, Any] | None = None


def append(conn: Connection, entries: Sequence[Entry], clock: Clock | None = None) -> int:
    """Chain `entries` onto the log in the current transaction; returns the last seq.

    Records staged (and committed) before this call are chained first, so the chain keeps
    the order in which things happened to any one object."""
    if not entries:
        raise ValueError("nothing to append")
    now = (clock or SystemClock()).now()
    seq, prev = _lock_head(conn)
    seq, prev = _chain_staged(conn, seq, prev, limit=None)
    staged = [
        (now, e.actor, e.action, e.object_type, e.object_id, canonical(e.details or {})) for e in entries
    ]
    seq, prev = _chain(conn, seq, prev, staged)
    _move_head(conn, seq, prev)
    return seq


def stage(conn: Connection, entry: Entry, clock: Clock | None = None) -> None:
    """Write `entry` for chaining later, in the caller's transaction, without taking the
    head row: it commits or rolls back with the change, and never waits for other writers."""
    conn.execute(
        _STAGE,
        {
            "at": (clock or SystemClock()).now(),
            "actor": entry.actor,
            "action": entry.action,
            "object_type": entry.object_type,
            "object_id": entry.object_id,
            "details": canonical(entry.details or {}),
        },
    )


_STAGE = insert(audit_pending)


def drain(conn: Connection, limit: int | None = DRAIN_BATCH) -> int:
    """Chain up to `limit` staged records (None: all) in the current transaction; returns
    how many. Takes the head row only when something is staged."""
    if not has_staged(conn):
        return 0
    seq, prev = _lock_head(conn)
    new_seq, new_prev = _chain_staged(conn, seq, prev, limit=limit)
    if new_seq != seq:
        _move_head(conn, new_seq, new_prev)
    return new_seq - seq


def has_staged(conn: Connection) -> bool:
    """Whether any record waits to be chained."""
    return conn.execute(select(audit_pending.c.id).limit(1)).first() is not None


def staged_count(conn: Connection) -> int:
    """How many records wait to be chained."""
    return int(conn.execute(select(func.count()).select_from(audit_pending)).scalar_one())


_Staged = tuple[datetime, str, str, str, str, str]
"""(at, actor, action, object_type, object_id, canonical details)."""


def _chain_staged(conn: Connection, seq: int, prev: str, limit: int | None) -> tuple[int, str]:
    """Chain staged records in id order (the caller holds the head row) and delete them."""
    query = select(
        audit_pending.c.id,
        audit_pending.c.at,
        audit_pending.c.actor,
        audit_pending.c.action,
        audit_pending.c.object_type,
        audit_pending.c.object_id,
        audit_pending.c.details,
    ).order_by(audit_pending.c.id)
    while True:
        rows = conn.execute(query.limit(limit or DRAIN_BATCH)).all()
        if not rows:
            return seq, prev
        seq, prev = _chain(
            conn, seq, prev, [(r.at, r.actor, r.action, r.object_type, r.object_id, r.details) for r in rows]
        )
        conn.execute(delete(audit_pending).where(audit_pending.c.id.in_([r.id for r in rows])))
        if limit is not None or len(rows) < DRAIN_BATCH:
            return seq, prev


def _chain(conn: Connection, seq: int, prev: str, staged: Sequence[_Staged]) -> tuple[int, str]:
    """Insert `staged` as the records after (seq, prev); returns the new (seq, prev)."""
    rows = []
    for at, actor, action, object_type, object_id, details in staged:
        seq += 1
        digest = record_hash(seq, at, actor, action, object_type, object_id, details, prev)
        rows.append(
            {
                "seq": seq,
                "at": at,
                "actor": actor,
                "action": action,
                "object_type": object_type,
                "object_id": object_id,
                "details": details,
                "prev_hash": prev,
                "hash": digest,
            }
        )
        prev = digest
    if rows:
        conn.execute(insert(audit_log), rows)
    return seq, prev


def _move_head(conn: Connection, seq: int, digest: str) -> None:
    conn.execute(update(audit_head).where(audit_head.c.id == HEAD_ID).values(seq=seq, hash=digest))


def record(
    conn: Connection,
    actor: str,
    action: str,
    object_type: str,
    object_id: str,
    details: dict[str, Any] | None = None,
) -> int:
    """Append one record; the common case."""
    return append(conn, [Entry(actor, action, object_type, object_id, details)])


def _lock_head(conn: Connection) -> tuple[int, str]:
    row = conn.execute(
        select(audit_head.c.seq, audit_head.c.hash).where(audit_head.c.id == HEAD_ID).with_for_update()
    ).first()
    if row is None:
        conn.execute(insert(audit_head).values(id=HEAD_ID, seq=0, hash=GENESIS))
        return 0, GENESIS
    return int(row.seq), str(row.hash)


@dataclass(frozen=True, slots=True)
class Verification:
    ok: bool
    checked: int
    first_bad_seq: int | None = None
    reason: str = ""


def verify(conn: Connection, batch: int = 5000) -> Verification:  # noqa: PLR0911 - one return per kind of tampering
    """Walk the chain up to its head; report the first record edited, removed or moved.

    Run it in a snapshot (`Database.snapshot()`), so that head and records are read as of
    one moment and an append committed meanwhile is not mistaken for tampering. Records
    still staged (`staged_count`) are not part of the chain yet and are not checked.
    """
    head = conn.execute(select(audit_head.c.seq, audit_head.c.hash)).first()
    head_seq, head_hash = (int(head.seq), str(head.hash)) if head else (0, GENESIS)
    expected_seq, prev, checked = 1, GENESIS, 0
    for rec in _records(conn, batch, head_seq):
        if rec.seq != expected_seq:
            return Verification(False, checked, expected_seq, f"record {expected_seq} is missing")
        if rec.prev_hash != prev:
            return Verification(False, checked, rec.seq, "link to the previous record is broken")
        if recompute(rec) != rec.hash:
            return Verification(False, checked, rec.seq, "record content does not match its hash")
        prev, expected_seq, checked = rec.hash, expected_seq + 1, checked + 1
    if checked < head_seq:
        return Verification(False, checked, checked + 1, "the newest records were removed")
    extra = conn.execute(select(audit_log.c.seq).where(audit_log.c.seq > head_seq).limit(1)).first()
    if extra is not None:
        return Verification(False, checked, int(extra.seq), "a record was added outside the log")
    if prev != head_hash:
        return Verification(False, checked, None, "the chain's head does not match its last record")
    return Verification(True, checked)


def _records(conn: Connection, batch: int, up_to: int) -> Iterator[AuditRecord]:
    last = 0
    while True:
        rows = conn.execute(
            select(audit_log)
            .where(audit_log.c.seq > last, audit_log.c.seq <= up_to)
            .order_by(audit_log.c.seq)
            .limit(batch)
        ).all()
        if not rows:
            return
        for row in rows:
            yield AuditRecord(
                seq=int(row.seq),
                at=row.at,
                actor=row.actor,
                action=row.action,
                object_type=row.object_type,
                object_id=row.object_id,
                details=row.details,
                prev_hash=row.prev_hash,
                hash=row.hash,
            )
        last = int(rows[-1].seq)


def recent(conn: Connection, limit: int = 100, before: int | None = None) -> list[AuditRecord]:
    """The newest records first, for the audit view."""
    query = select(audit_log).order_by(audit_log.c.seq.desc()).limit(limit)
    if before is not None:
        query = query.where(audit_log.c.seq < before)
    return [AuditRecord(**row._mapping) for row in conn.execute(query)]
