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

camera_status_changes = Table(
    "camera_status_changes",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("camera_id", ForeignKey("cameras.id"), nullable=False),
    Column("status", String(16), nullable=False),
    Column("reason", String(300)),
    Column("at", UTCDateTime, nullable=False),
    Index("ix_camera_status_changes_camera_at", "camera_id", "at"),
)
"""Every online/offline transition a camera worker saw: uptime is computed from these."""

cctv_events = Table(
    "cctv_events",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("camera_id", ForeignKey("cameras.id"), nullable=False),
    Column("at", UTCDateTime, nullable=False),
    Column("kind", String(8), nullable=False),
    Column("label", String(16), nullable=False),
    Column("score", Float, nullable=False),
    Column("box", JSON, nullable=False),
    Column("zone", String(80)),
    Column("track_id", Integer, nullable=False),
    Column("duration_s", Float, nullable=False),
    Column("plate", String(20)),
    Column("watchlist", String(300)),
    Column("snapshot_sha256", String(64)),
    Index("ix_cctv_events_camera_at", "camera_id", "at"),
    Index("ix_cctv_events_at", "at"),
)
"""What the analytics saw: one row per tracked object's start and end (`kind`); the
snapshot is kept write-once in the evidence store, addressed by its SHA-256."""
