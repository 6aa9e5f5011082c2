"""The recording tables: segments (hash-chained per camera), each camera's chain head, clips."""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    UniqueConstraint,
)

from khusela.store.metadata import UTCDateTime, metadata

camera_segments = Table(
    "camera_segments",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("camera_id", ForeignKey("cameras.id"), nullable=False),
    Column("seq", Integer, nullable=False),
    Column("path", String(300), nullable=False),
    Column("started_at", UTCDateTime, nullable=False),
    Column("ended_at", UTCDateTime, nullable=False),
    Column("size", BigInteger, nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("prev_hash", String(64), nullable=False),
    Column("chain_hash", String(64), nullable=False),
    Column("clock_offset_s", Float, nullable=False),
    Column("held", Boolean, nullable=False),
    Column("deleted_at", UTCDateTime),
    UniqueConstraint("camera_id", "seq", name="uq_camera_segments_camera_id_seq"),
    Index("ix_camera_segments_camera_started", "camera_id", "started_at"),
    Index("ix_camera_segments_started", "started_at"),
)
"""One row per recorded segment. Retention deletes the file and sets `deleted_at` but keeps
the row, so the chain still verifies; `held` (legal hold, used by evidence) is never deleted."""

camera_segment_heads = Table(
    "camera_segment_heads",
    metadata,
    Column("camera_id", ForeignKey("cameras.id"), primary_key=True),
    Column("seq", Integer, nullable=False),
    Column("chain_hash", String(64), nullable=False),
)
"""Each camera's newest seq and chain hash: appends lock it, and verify compares against it,
so removing the newest rows is noticed too (the chain alone cannot tell)."""

camera_clips = Table(
    "camera_clips",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("camera_id", ForeignKey("cameras.id"), nullable=False, index=True),
    Column("path", String(300), nullable=False),
    Column("requested_start", UTCDateTime, nullable=False),
    Column("requested_end", UTCDateTime, nullable=False),
    Column("started_at", UTCDateTime, nullable=False),
    Column("ended_at", UTCDateTime, nullable=False),
    Column("size", BigInteger, nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("clock_offset_s", Float, nullable=False),
    Column("segments", JSON, nullable=False),
    Column("created_by", String(80), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("case_id", String(36)),
    Column("evidence_item_id", String(36)),
)
"""Clips cut from the recordings (files under `<data_dir>/clips/`); `segments` lists the
source segments' ids, seqs and hashes, and the evidence columns say where the clip went."""
