"""camera recordings: hash-chained segments, chain heads, clips

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-23 10:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import khusela.store.metadata

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "camera_segments",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("camera_id", sa.String(length=36), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("path", sa.String(length=300), nullable=False),
        sa.Column("started_at", khusela.store.metadata.UTCDateTime(timezone=True), nullable=False),
        sa.Column("ended_at", khusela.store.metadata.UTCDateTime(timezone=True), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("prev_hash", sa.String(length=64), nullable=False),
        sa.Column("chain_hash", sa.String(length=64), nullable=False),
        sa.Column("clock_offset_s", sa.Float(), nullable=False),
        sa.Column("held", sa.Boolean(), nullable=False),
        sa.Column("deleted_at", khusela.store.metadata.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["camera_id"], ["cameras.id"], name=op.f("fk_camera_segments_camera_id_cameras")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_camera_segments")),
        sa.UniqueConstraint("camera_id", "seq", name="uq_camera_segments_camera_id_seq"),
    )
    with op.batch_alter_table("camera_segments", schema=None) as batch_op:
        batch_op.create_index("ix_camera_segments_camera_started", ["camera_id", "started_at"], unique=False)
        batch_op.create_index("ix_camera_segments_started", ["started_at"], unique=False)
    op.create_table(
        "camera_segment_heads",
        sa.Column("camera_id", sa.String(length=36), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("chain_hash", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["camera_id"], ["cameras.id"], name=op.f("fk_camera_segment_heads_camera_id_cameras")
        ),
        sa.PrimaryKeyConstraint("camera_id", name=op.f("pk_camera_segment_heads")),
    )
    op.create_table(
        "camera_clips",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("camera_id", sa.String(length=36), nullable=False),
        sa.Column("path", sa.String(length=300), nullable=False),
        sa.Column("requested_start", khusela.store.metadata.UTCDateTime(timezone=True), nullable=False),
        sa.Column("requested_end", khusela.store.metadata.UTCDateTime(timezone=True), nullable=False),
        sa.Column("started_at", khusela.store.metadata.UTCDateTime(timezone=True), nullable=False),
        sa.Column("ended_at", khusela.store.metadata.UTCDateTime(timezone=True), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("clock_offset_s", sa.Float(), nullable=False),
        sa.Column("segments", sa.JSON(), nullable=False),
        sa.Column("created_by", sa.String(length=80), nullable=False),
        sa.Column("created_at", khusela.store.metadata.UTCDateTime(timezone=True), nullable=False),
        sa.Column("case_id", sa.String(length=36), nullable=True),
        sa.Column("evidence_item_id", sa.String(length=36), nullable=True),
        sa.ForeignKeyConstraint(
            ["camera_id"], ["cameras.id"], name=op.f("fk_camera_clips_camera_id_cameras")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_camera_clips")),
    )
    with op.batch_alter_table("camera_clips", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_camera_clips_camera_id"), ["camera_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("camera_clips", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_camera_clips_camera_id"))
    op.drop_table("camera_clips")
    op.drop_table("camera_segment_heads")
    with op.batch_alter_table("camera_segments", schema=None) as batch_op:
        batch_op.drop_index("ix_camera_segments_started")
        batch_op.drop_index("ix_camera_segments_camera_started")
    op.drop_table("camera_segments")
