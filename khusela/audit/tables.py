"""Audit tables: the chained records, a one-row head that serialises appends, and the
records staged for chaining."""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, Integer, String, Table, Text

from khusela.store.metadata import UTCDateTime, metadata

audit_log = Table(
    "audit_log",
    metadata,
    Column("seq", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=False),
    Column("at", UTCDateTime, nullable=False),
    Column("actor", String(80), nullable=False),
    Column("action", String(80), nullable=False),
    Column("object_type", String(40), nullable=False),
    Column("object_id", String(80), nullable=False),
    # Canonical JSON text, not a JSON column: hashing must see exactly the stored bytes.
    Column("details", Text, nullable=False),
    Column("prev_hash", String(64), nullable=False),
    Column("hash", String(64), nullable=False),
)

audit_head = Table(
    "audit_head",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("seq", BigInteger().with_variant(Integer, "sqlite"), nullable=False),
    Column("hash", String(64), nullable=False),
)

audit_pending = Table(
    "audit_pending",
    metadata,
    # Staged records, committed with the change they describe and chained later (in id
    # order) by whoever next holds the head row: `log.append` or the background appender.
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    Column("at", UTCDateTime, nullable=False),
    Column("actor", String(80), nullable=False),
    Column("action", String(80), nullable=False),
    Column("object_type", String(40), nullable=False),
    Column("object_id", String(80), nullable=False),
    Column("details", Text, nullable=False),
)
