"""cctv detection events and camera status changes

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-23 10:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import khusela.store.metadata

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "camera_status_changes",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("camera_id", sa.String(length=36), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.String(length=300), nullable=True),
        sa.Column("at", khusela.store.metadata.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["camera_id"], ["cameras.id"], name=op.f("fk_camera_status_changes_camera_id_cameras")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_camera_status_changes")),
    )
    with op.batch_alter_table("camera_status_changes", schema=None) as batch_op:
        batch_op.create_index("ix_camera_status_changes_camera_at", ["camera_id", "at"], unique=False)
    op.create_table(
        "cctv_events",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("camera_id", sa.String(length=36), nullable=False),
        sa.Column("at", khusela.store.metadata.UTCDateTime(timezone=True), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("label", sa.String(length=16), nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("box", sa.JSON(), nullable=False),
        sa.Column("zone", sa.String(length=80), nullable=True),
        sa.Column("track_id", sa.Integer(), nullable=False),
        sa.Column("duration_s", sa.Float(), nullable=False),
        sa.Column("plate", sa.String(length=20), nullable=True),
        sa.Column("watchlist", sa.String(length=300), nullable=True),
        sa.Column("snapshot_sha256", sa.String(length=64), nullable=True),
        sa.ForeignKeyConstraint(["camera_id"], ["cameras.id"], name=op.f("fk_cctv_events_camera_id_cameras")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cctv_events")),
    )
    with op.batch_alter_table("cctv_events", schema=None) as batch_op:
        batch_op.create_index("ix_cctv_events_camera_at", ["camera_id", "at"], unique=False)
        batch_op.create_index("ix_cctv_events_at", ["at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("cctv_events", schema=None) as batch_op:
        batch_op.drop_index("ix_cctv_events_at")
        batch_op.drop_index("ix_cctv_events_camera_at")
    op.drop_table("cctv_events")
    with op.batch_alter_table("camera_status_changes", schema=None) as batch_op:
        batch_op.drop_index("ix_camera_status_changes_camera_at")
    op.drop_table("camera_status_changes")
