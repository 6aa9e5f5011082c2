"""The camera registry's table."""

from __future__ import annotations

from sqlalchemy import JSON, Boolean, Column, Float, ForeignKey, Index, Integer, String, Table

from khusela.store.metadata import UTCDateTime, metadata

cameras = Table(
    "cameras",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("owner_agency_id", ForeignKey("agencies.id"), nullable=False, index=True),
    Column("name", String(200), nullable=False),
    Column("external_ref", String(80), unique=True),
    Column("lat", Float, nullable=False),
    Column("lon", Float, nullable=False),
    Column("province", String(8)),
    Column("municipality", String(16)),
    Column("cell", String(16)),
    Column("bearing_deg", Float),
    Column("fov_deg", Float),
    Column("main_stream_url", String(500), nullable=False),
    Column("sub_stream_url", String(500)),
    Column("detect_fps", Float, nullable=False),
    Column("detect_width", Integer, nullable=False),
    Column("detect_height", Integer, nullable=False),
    Column("zones", JSON, nullable=False),
    Column("masks", JSON, nullable=False),
    Column("record", Boolean, nullable=False),
    Column("retention_days", Integer, nullable=False),
    Column("status", String(16), nullable=False),
    Column("status_reason", String(300)),
    Column("last_frame_at", UTCDateTime),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    Index("ix_cameras_municipality", "municipality"),
    Index("ix_cameras_cell", "cell"),
)
"""Stream URLs may carry credentials (rtsp://user:password@host/…): they are stored for the
workers that connect, and never shown by the API or written to logs (see `cameras.redact`)."""
