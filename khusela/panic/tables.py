"""Panic's tables."""

from __future__ import annotations

from sqlalchemy import Column, Float, ForeignKey, Index, String, Table

from khusela.store.metadata import UTCDateTime, metadata

units = Table(
    "units",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("agency_id", ForeignKey("agencies.id"), nullable=False, index=True),
    Column("callsign", String(40), nullable=False, unique=True),
    Column("kind", String(40), nullable=False),
    Column("status", String(20), nullable=False),
    Column("lat", Float),
    Column("lon", Float),
    Column("province", String(8)),
    Column("municipality", String(16)),
    Column("cell", String(16)),
    Column("updated_at", UTCDateTime, nullable=False),
    Index("ix_units_cell", "cell"),
)
