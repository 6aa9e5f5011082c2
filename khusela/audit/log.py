"""Append to and verify the audit log, inside the caller's transaction.

Appends lock the single head row (`SELECT … FOR UPDATE` on PostgreSQL; SQLite writers are
already serialised by `BEGIN IMMEDIATE`), so the chain has one order even with many API
nodes. Because the record is written in the caller's transaction, a change and its
audit record commit or roll back together.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, insert, select, update

from khusela.audit.chain import GENESIS, AuditRecord, canonical, recompute, record_hash
from khusela.audit.tables import audit_head, audit_log
from khusela.core.clock import Clock, SystemClock

HEAD_ID = 1


@dataclass(frozen=True, slots=True)
class Entry:
    """One thing to record: who did what to which object, with optional details."""

    actor: str
    action: str
    object_type: str
    object_id: str
    details: dict[str, Any] | None = None


def append(conn: Connection, entries: Sequence[Entry], clock: Clock | None = None) -> int:
    """Chain `entries` onto the log in the current transaction; returns the last seq."""
    if not entries:
        raise ValueError("nothing to append")
    now = (clock or SystemClock()).now()
    seq, prev = _lock_head(conn)
    rows = []
    for entry in entries:
        seq += 1
        details = canonical(entry.details or {})
        digest = record_hash(
            seq, now, entry.actor, entry.action, entry.object_type, entry.object_id, details, prev
        )
        rows.append(
            {
                "seq": seq,
                "at": now,
                "actor": entry.actor,
                "action": entry.action,
                "object_type": entry.object_type,
                "object_id": entry.object_id,
                "details": details,
                "prev_hash": prev,
                "hash": digest,
            }
        )
        prev = digest
    conn.execute(insert(audit_log), rows)
    conn.execute(update(audit_head).where(audit_head.c.id == HEAD_ID).values(seq=seq, hash=prev))
    return seq


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
    one moment and an append committed meanwhile is not mistaken for tampering.
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
