"""The hash chain itself: how a record's hash is computed. Pure, no I/O."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

GENESIS = "0" * 64
"""The `prev_hash` of the first record."""


def canonical(details: dict[str, Any]) -> str:
    """One spelling per value, so the hash does not depend on key order or spacing."""
    return json.dumps(details, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


@dataclass(frozen=True, slots=True)
class AuditRecord:
    seq: int
    at: datetime
    actor: str
    action: str
    object_type: str
    object_id: str
    details: str
    prev_hash: str
    hash: str


def record_hash(
    seq: int,
    at: datetime,
    actor: str,
    action: str,
    object_type: str,
    object_id: str,
    details: str,
    prev_hash: str,
) -> str:
    """SHA-256 over the previous hash and every field, so any edit breaks this link."""
    body = json.dumps(
        [
            seq,
            at.isoformat(timespec="microseconds"),
            actor,
            action,
            object_type,
            object_id,
            details,
        ],
        separators=(",", ":"),
        ensure_ascii=False,
    )
    return hashlib.sha256(f"{prev_hash}\n{body}".encode()).hexdigest()


def recompute(record: AuditRecord) -> str:
    return record_hash(
        record.seq,
        record.at,
        record.actor,
        record.action,
        record.object_type,
        record.object_id,
        record.details,
        record.prev_hash,
    )
