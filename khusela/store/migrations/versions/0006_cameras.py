"""camera registry

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-22 16:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import khusela.store.metadata

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "cameras",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("owner_agency_id", sa.String(length=36), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("external_ref", sa.String(length=80), nullable=True),
        sa.Column("lat", sa.Float(), nullable=False),
        sa.Column("lon", sa.Float(), nullable=False),
        sa.Column("province", sa.String(length=8), nullable=True),
        sa.Column("municipality", sa.String(length=16), nullable=True),
        sa.Column("cell", sa.String(length=16), nullable=True),
        sa.Column("bearing_deg", sa.Float(), nullable=True),
        sa.Column("fov_deg", sa.Float(), nullable=True),
        sa.Column("main_stream_url", sa.String(length=500), nullable=False),
        sa.Column("sub_stream_url", sa.String(length=500), nullable=True),
        sa.Column("detect_fps", sa.Float(), nullable=False),
        sa.Column("detect_width", sa.Integer(), nullable=False),
        sa.Column("detect_height", sa.Integer(), nullable=False),
        sa.Column("zones", sa.JSON(), nullable=False),
        sa.Column("masks", sa.JSON(), nullable=False),
        sa.Column("record", sa.Boolean(), nullable=False),
        sa.Column("retention_days", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("status_reason", sa.String(length=300), nullable=True),
        sa.Column("last_frame_at", khusela.store.metadata.UTCDateTime(timezone=True), nullable=True),
        sa.Column("created_at", khusela.store.metadata.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", khusela.store.metadata.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["owner_agency_id"], ["agencies.id"], name=op.f("fk_cameras_owner_agency_id_agencies")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cameras")),
        sa.UniqueConstraint("external_ref", name=op.f("uq_cameras_external_ref")),
    )
    with op.batch_alter_table("cameras", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_cameras_owner_agency_id"), ["owner_agency_id"], unique=False)
        batch_op.create_index("ix_cameras_municipality", ["municipality"], unique=False)
        batch_op.create_index("ix_cameras_cell", ["cell"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("cameras", schema=None) as batch_op:
        batch_op.drop_index("ix_cameras_cell")
        batch_op.drop_index("ix_cameras_municipality")
        batch_op.drop_index(batch_op.f("ix_cameras_owner_agency_id"))
    op.drop_table("cameras")
