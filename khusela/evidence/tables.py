"""Evidence tables: cases, their items, and each case's hash-chained chain of custody.

Items and custody entries are only ever inserted: no code path updates or deletes them.
A case row carries the head of its custody chain (`custody_seq`, `custody_head`) so that
appends lock one row per case and the chain has one order even with many API nodes.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    ForeignKey,
    Integer,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    UniqueConstraint,
    false,
)

from khusela.store.metadata import UTCDateTime, metadata

_BIGINT = BigInteger().with_variant(Integer, "sqlite")

evidence_cases = Table(
    "evidence_cases",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("case_number", String(40), nullable=False, unique=True),
    Column("title", String(200), nullable=False),
    Column("agency_id", ForeignKey("agencies.id"), nullable=False, index=True),
    Column("created_by", String(80), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("legal_hold", Boolean, nullable=False, default=False, server_default=false()),
    Column("custody_seq", Integer, nullable=False, default=0),
    Column("custody_head", String(64), nullable=False),
)

evidence_items = Table(
    "evidence_items",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("case_id", ForeignKey("evidence_cases.id"), nullable=False, index=True),
    Column("kind", String(16), nullable=False),
    Column("sha256", String(64), nullable=False, index=True),
    Column("size", _BIGINT, nullable=False),
    Column("media_type", String(100), nullable=False),
    Column("original_name", String(255), nullable=False),
    # Where it came from (camera id, clip start/end, camera clock offset); free-form but small.
    Column("source", JSON),
    Column("captured_at", UTCDateTime),
    Column("added_by", String(80), nullable=False),
    Column("added_at", UTCDateTime, nullable=False),
    UniqueConstraint("case_id", "sha256", name="uq_evidence_items_case_id_sha256"),
)

evidence_custody = Table(
    "evidence_custody",
    metadata,
    Column("case_id", ForeignKey("evidence_cases.id"), nullable=False),
    Column("seq", Integer, nullable=False),
    Column("at", UTCDateTime, nullable=False),
    Column("actor", String(80), nullable=False),
    Column("action", String(20), nullable=False),
    Column("item_id", String(36)),
    # Canonical JSON text, not a JSON column: hashing must see exactly the stored bytes.
    Column("details", Text, nullable=False),
    Column("prev_hash", String(64), nullable=False),
    Column("hash", String(64), nullable=False),
    PrimaryKeyConstraint("case_id", "seq", name="pk_evidence_custody"),
)
