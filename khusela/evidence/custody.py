"""The chain of custody: an append-only, hash-chained log per case.

Each entry's hash is SHA-256 over the previous entry's hash and the entry's fields in
canonical JSON (`khusela.audit.chain.canonical`), and the case id is hashed in too, so an
entry can be neither edited, removed, reordered nor moved to another case without breaking
the chain. The same pure functions check the log in the database (`verify_case`) and in an
exported package (`check_chain`), so a court sees the rule the platform applied.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Connection, insert, select, update

from khusela.audit.chain import GENESIS, canonical
from khusela.core.clock import Clock, SystemClock
from khusela.core.errors import NotFound
from khusela.evidence.tables import evidence_cases, evidence_custody


class CustodyAction(StrEnum):
    CREATED = "created"
    ADDED = "added"
    VIEWED = "viewed"
    EXPORTED = "exported"
    TRANSFERRED = "transferred"
    LEGAL_HOLD = "legal_hold"


@dataclass(frozen=True, slots=True)
class CustodyEntry:
    case_id: str
    seq: int
    at: datetime
    actor: str
    action: str
    item_id: str | None
    details: str
    """Canonical JSON text, exactly as hashed."""
    prev_hash: str
    hash: str

    def as_json(self) -> dict[str, Any]:
        """One line of `custody.jsonl`: every hashed field, details as an object."""
        return {
            "case_id": self.case_id,
            "seq": self.seq,
            "at": self.at.isoformat(timespec="microseconds"),
            "actor": self.actor,
            "action": self.action,
            "item_id": self.item_id,
            "details": json.loads(self.details),
            "prev_hash": self.prev_hash,
            "hash": self.hash,
        }

    @classmethod
    def from_json(cls, line: dict[str, Any]) -> CustodyEntry:
        """The inverse of `as_json`; raises KeyError/ValueError/TypeError on a malformed line."""
        return cls(
            case_id=str(line["case_id"]),
            seq=int(line["seq"]),
            at=datetime.fromisoformat(str(line["at"])),
            actor=str(line["actor"]),
            action=str(line["action"]),
            item_id=None if line["item_id"] is None else str(line["item_id"]),
            details=canonical(line["details"]),
            prev_hash=str(line["prev_hash"]),
            hash=str(line["hash"]),
        )


def entry_hash(
    case_id: str,
    seq: int,
    at: datetime,
    actor: str,
    action: str,
    item_id: str | None,
    details: str,
    prev_hash: str,
) -> str:
    """SHA-256 over the previous hash and every field, so any edit breaks this link."""
    body = canonical(
        {
            "case_id": case_id,
            "seq": seq,
            "at": at.isoformat(timespec="microseconds"),
            "actor": actor,
            "action": action,
            "item_id": item_id,
            "details": details,
        }
    )
    return hashlib.sha256(f"{prev_hash}\n{body}".encode()).hexdigest()


def recompute(entry: CustodyEntry) -> str:
    return entry_hash(
        entry.case_id,
        entry.seq,
        entry.at,
        entry.actor,
        entry.action,
        entry.item_id,
        entry.details,
        entry.prev_hash,
    )


def append(
    conn: Connection,
    case_id: str,
    actor: str,
    action: CustodyAction,
    item_id: str | None = None,
    details: dict[str, Any] | None = None,
    clock: Clock | None = None,
) -> CustodyEntry:
    """Chain one entry onto the case's log, in the caller's transaction.

    Locks the case row (`FOR UPDATE` on PostgreSQL; SQLite writers are serialised already),
    so concurrent appends to one case get one order; appends to different cases do not wait.
    """
    head = conn.execute(
        select(evidence_cases.c.custody_seq, evidence_cases.c.custody_head)
        .where(evidence_cases.c.id == case_id)
        .with_for_update()
    ).first()
    if head is None:
        raise NotFound("no such case")
    seq, prev = int(head.custody_seq) + 1, str(head.custody_head)
    at = (clock or SystemClock()).now()
    text = canonical(details or {})
    digest = entry_hash(case_id, seq, at, actor, action.value, item_id, text, prev)
    entry = CustodyEntry(case_id, seq, at, actor, action.value, item_id, text, prev, digest)
    conn.execute(
        insert(evidence_custody).values(
            case_id=case_id,
            seq=seq,
            at=at,
            actor=actor,
            action=action.value,
            item_id=item_id,
            details=text,
            prev_hash=prev,
            hash=digest,
        )
    )
    conn.execute(
        update(evidence_cases)
        .where(evidence_cases.c.id == case_id)
        .values(custody_seq=seq, custody_head=digest)
    )
    return entry


def entries(conn: Connection, case_id: str) -> list[CustodyEntry]:
    """The case's whole log, oldest first."""
    rows = conn.execute(
        select(evidence_custody).where(evidence_custody.c.case_id == case_id).order_by(evidence_custody.c.seq)
    )
    return [CustodyEntry(**row._mapping) for row in rows]


@dataclass(frozen=True, slots=True)
class ChainCheck:
    ok: bool
    checked: int
    first_bad_seq: int | None = None
    reason: str = ""

    def describe(self) -> str:
        if self.ok:
            return f"custody chain intact ({self.checked} entries)"
        where = f"custody entry {self.first_bad_seq}" if self.first_bad_seq is not None else "custody log"
        return f"{where}: {self.reason}"


def check_chain(  # noqa: PLR0911 - one return per kind of tampering
    case_id: str, log: Iterable[CustodyEntry], head_seq: int, head_hash: str
) -> ChainCheck:
    """Walk `log` (in the order given) against the expected head; name the first bad entry."""
    expected, prev, checked = 1, GENESIS, 0
    for entry in log:
        if entry.seq != expected:
            if entry.seq < expected:
                return ChainCheck(False, checked, entry.seq, "entry is out of order or repeated")
            return ChainCheck(False, checked, expected, "entry is missing")
        if entry.case_id != case_id:
            return ChainCheck(False, checked, entry.seq, "entry belongs to another case")
        if entry.prev_hash != prev:
            return ChainCheck(False, checked, entry.seq, "link to the previous entry is broken")
        if recompute(entry) != entry.hash:
            return ChainCheck(False, checked, entry.seq, "entry content does not match its hash")
        prev, expected, checked = entry.hash, expected + 1, checked + 1
    if checked < head_seq:
        return ChainCheck(False, checked, checked + 1, "the newest entries were removed")
    if checked > head_seq:
        return ChainCheck(False, checked, head_seq + 1, "entry was added beyond the recorded head")
    if prev != head_hash:
        return ChainCheck(False, checked, None, "the chain's head does not match its last entry")
    return ChainCheck(True, checked)


def verify_case(conn: Connection, case_id: str) -> ChainCheck:
    """Check a case's log in the database (run it in `Database.snapshot()`)."""
    head = conn.execute(
        select(evidence_cases.c.custody_seq, evidence_cases.c.custody_head).where(
            evidence_cases.c.id == case_id
        )
    ).first()
    if head is None:
        raise NotFound("no such case")
    return check_chain(case_id, entries(conn, case_id), int(head.custody_seq), str(head.custody_head))
