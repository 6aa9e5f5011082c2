"""The risk module's tables: localities and their H3 cells, the risk register with its
version history, disused mine sites, and stored incidents.

Every row is about a *place*, never a person: no table here has a column for a name,
an ID number, a plate, a nationality or an ethnicity (see `register.check_text`)."""

from __future__ import annotations

from sqlalchemy import JSON, Column, Date, Float, ForeignKey, Index, Integer, String, Table, Text

from khusela.store.metadata import UTCDateTime, metadata

risk_localities = Table(
    "risk_localities",
    metadata,
    Column("code", String(40), primary_key=True),
    Column("level", String(16), nullable=False),
    Column("name", String(200), nullable=False),
    Column("parent_code", String(40)),
    Column("province", String(8), nullable=False),
    Column("district", String(16)),
    Column("municipality", String(16)),
    Column("cell_res", Integer, nullable=False),
    Column("centroid_lat", Float),
    Column("centroid_lon", Float),
    Index("ix_risk_localities_level", "level", "province"),
)
"""Province → district/metro → local municipality → ward and police precinct. `province`,
`district` and `municipality` are denormalised so the access policy and the roll-ups filter
without walking the tree."""

risk_locality_cells = Table(
    "risk_locality_cells",
    metadata,
    Column("locality_code", ForeignKey("risk_localities.code", ondelete="CASCADE"), primary_key=True),
    Column("cell", String(16), primary_key=True),
    Index("ix_risk_locality_cells_cell", "cell"),
)
"""The H3 cells (at the locality's `cell_res`) covering each locality: the common unit."""

risk_entries = Table(
    "risk_entries",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("locality_code", ForeignKey("risk_localities.code"), nullable=False),
    Column("province", String(8), nullable=False),
    Column("district", String(16)),
    Column("municipality", String(16)),
    Column("category", String(32), nullable=False),
    Column("title", String(200), nullable=False),
    Column("description", Text, nullable=False),
    Column("likelihood", Integer, nullable=False),
    Column("impact", Integer, nullable=False),
    Column("score", Integer, nullable=False),
    Column("level", String(8), nullable=False),
    Column("owner", String(200), nullable=False),
    Column("mitigations", JSON, nullable=False),
    Column("status", String(16), nullable=False),
    Column("review_date", Date),
    Column("version", Integer, nullable=False),
    Column("created_by", String(80), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_by", String(80), nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    Index("ix_risk_entries_municipality", "municipality", "status"),
    Index("ix_risk_entries_district", "district"),
    Index("ix_risk_entries_province", "province"),
)
"""The locality risk register. `owner` is an office ("JMPD By-law Enforcement"), not a person."""

risk_entry_versions = Table(
    "risk_entry_versions",
    metadata,
    Column("entry_id", ForeignKey("risk_entries.id", ondelete="CASCADE"), primary_key=True),
    Column("version", Integer, primary_key=True),
    Column("at", UTCDateTime, nullable=False),
    Column("by", String(80), nullable=False),
    Column("action", String(16), nullable=False),
    Column("changes", JSON, nullable=False),
    Column("snapshot", JSON, nullable=False),
)
"""Every edit of a register entry: who, when, each changed field's old and new value, and the
whole entry as it stood after the edit (so any version can be shown without replaying)."""

risk_mines = Table(
    "risk_mines",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("lat", Float, nullable=False),
    Column("lon", Float, nullable=False),
    Column("province", String(8), nullable=False),
    Column("municipality", String(16)),
    Column("cell", String(16)),
    Column("status", String(16), nullable=False),
    Column("commodity", String(40)),
    Column("last_inspection", Date),
    Column("notes", Text),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    Index("ix_risk_mines_municipality", "municipality"),
)
"""Disused and derelict mine sites: where illegal mining starts."""

risk_incidents = Table(
    "risk_incidents",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("at", UTCDateTime, nullable=False),
    Column("lat", Float, nullable=False),
    Column("lon", Float, nullable=False),
    Column("cell", String(16), nullable=False),
    Column("province", String(8), nullable=False),
    Column("municipality", String(16)),
    Column("category", String(80), nullable=False),
    Column("source", String(16), nullable=False),
    Column("source_ref", String(80)),
    Index("ix_risk_incidents_municipality_at", "municipality", "at"),
    Index("ix_risk_incidents_cell", "cell"),
    Index("ix_risk_incidents_source_ref", "source", "source_ref", unique=True),
)
"""Incidents for the analytics: time, place (H3 res 9 cell) and category only. `source_ref`
is the originating event's id (for idempotency), never a resident, phone or plate."""
