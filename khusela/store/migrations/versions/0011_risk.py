"""risk: localities and their H3 cells, the risk register and its versions, mine sites,
incidents

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-22 18:30:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import khusela.store.metadata

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "risk_localities",
        sa.Column("code", sa.String(length=40), nullable=False),
        sa.Column("level", sa.String(length=16), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("parent_code", sa.String(length=40), nullable=True),
        sa.Column("province", sa.String(length=8), nullable=False),
        sa.Column("district", sa.String(length=16), nullable=True),
        sa.Column("municipality", sa.String(length=16), nullable=True),
        sa.Column("cell_res", sa.Integer(), nullable=False),
        sa.Column("centroid_lat", sa.Float(), nullable=True),
        sa.Column("centroid_lon", sa.Float(), nullable=True),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_risk_localities")),
    )
    with op.batch_alter_table("risk_localities", schema=None) as batch_op:
        batch_op.create_index("ix_risk_localities_level", ["level", "province"], unique=False)

    op.create_table(
        "risk_locality_cells",
        sa.Column("locality_code", sa.String(length=40), nullable=False),
        sa.Column("cell", sa.String(length=16), nullable=False),
        sa.ForeignKeyConstraint(
            ["locality_code"],
            ["risk_localities.code"],
            name=op.f("fk_risk_locality_cells_locality_code_risk_localities"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("locality_code", "cell", name=op.f("pk_risk_locality_cells")),
    )
    with op.batch_alter_table("risk_locality_cells", schema=None) as batch_op:
        batch_op.create_index("ix_risk_locality_cells_cell", ["cell"], unique=False)

    op.create_table(
        "risk_entries",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("locality_code", sa.String(length=40), nullable=False),
        sa.Column("province", sa.String(length=8), nullable=False),
        sa.Column("district", sa.String(length=16), nullable=True),
        sa.Column("municipality", sa.String(length=16), nullable=True),
        sa.Column("category", sa.String(length=32), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("likelihood", sa.Integer(), nullable=False),
        sa.Column("impact", sa.Integer(), nullable=False),
        sa.Column("score", sa.Integer(), nullable=False),
        sa.Column("level", sa.String(length=8), nullable=False),
        sa.Column("owner", sa.String(length=200), nullable=False),
        sa.Column("mitigations", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("review_date", sa.Date(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_by", sa.String(length=80), nullable=False),
        sa.Column("created_at", khusela.store.metadata.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_by", sa.String(length=80), nullable=False),
        sa.Column("updated_at", khusela.store.metadata.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["locality_code"],
            ["risk_localities.code"],
            name=op.f("fk_risk_entries_locality_code_risk_localities"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_risk_entries")),
    )
    with op.batch_alter_table("risk_entries", schema=None) as batch_op:
        batch_op.create_index("ix_risk_entries_district", ["district"], unique=False)
        batch_op.create_index("ix_risk_entries_municipality", ["municipality", "status"], unique=False)
        batch_op.create_index("ix_risk_entries_province", ["province"], unique=False)

    op.create_table(
        "risk_entry_versions",
        sa.Column("entry_id", sa.String(length=36), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("at", khusela.store.metadata.UTCDateTime(timezone=True), nullable=False),
        sa.Column("by", sa.String(length=80), nullable=False),
        sa.Column("action", sa.String(length=16), nullable=False),
        sa.Column("changes", sa.JSON(), nullable=False),
        sa.Column("snapshot", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["entry_id"],
            ["risk_entries.id"],
            name=op.f("fk_risk_entry_versions_entry_id_risk_entries"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("entry_id", "version", name=op.f("pk_risk_entry_versions")),
    )

    op.create_table(
        "risk_mines",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("lat", sa.Float(), nullable=False),
        sa.Column("lon", sa.Float(), nullable=False),
        sa.Column("province", sa.String(length=8), nullable=False),
        sa.Column("municipality", sa.String(length=16), nullable=True),
        sa.Column("cell", sa.String(length=16), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("commodity", sa.String(length=40), nullable=True),
        sa.Column("last_inspection", sa.Date(), nullable=True),
        sa.Column("notes", sa.Text(), nullable=True),
        sa.Column("created_at", khusela.store.metadata.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", khusela.store.metadata.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_risk_mines")),
    )
    with op.batch_alter_table("risk_mines", schema=None) as batch_op:
        batch_op.create_index("ix_risk_mines_municipality", ["municipality"], unique=False)

    op.create_table(
        "risk_incidents",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("at", khusela.store.metadata.UTCDateTime(timezone=True), nullable=False),
        sa.Column("lat", sa.Float(), nullable=False),
        sa.Column("lon", sa.Float(), nullable=False),
        sa.Column("cell", sa.String(length=16), nullable=False),
        sa.Column("province", sa.String(length=8), nullable=False),
        sa.Column("municipality", sa.String(length=16), nullable=True),
        sa.Column("category", sa.String(length=80), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("source_ref", sa.String(length=80), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_risk_incidents")),
    )
    with op.batch_alter_table("risk_incidents", schema=None) as batch_op:
        batch_op.create_index("ix_risk_incidents_cell", ["cell"], unique=False)
        batch_op.create_index("ix_risk_incidents_municipality_at", ["municipality", "at"], unique=False)
        batch_op.create_index("ix_risk_incidents_source_ref", ["source", "source_ref"], unique=True)


def downgrade() -> None:
    with op.batch_alter_table("risk_incidents", schema=None) as batch_op:
        batch_op.drop_index("ix_risk_incidents_source_ref")
        batch_op.drop_index("ix_risk_incidents_municipality_at")
        batch_op.drop_index("ix_risk_incidents_cell")
    op.drop_table("risk_incidents")

    with op.batch_alter_table("risk_mines", schema=None) as batch_op:
        batch_op.drop_index("ix_risk_mines_municipality")
    op.drop_table("risk_mines")

    op.drop_table("risk_entry_versions")

    with op.batch_alter_table("risk_entries", schema=None) as batch_op:
        batch_op.drop_index("ix_risk_entries_province")
        batch_op.drop_index("ix_risk_entries_municipality")
        batch_op.drop_index("ix_risk_entries_district")
    op.drop_table("risk_entries")

    with op.batch_alter_table("risk_locality_cells", schema=None) as batch_op:
        batch_op.drop_index("ix_risk_locality_cells_cell")
    op.drop_table("risk_locality_cells")

    with op.batch_alter_table("risk_localities", schema=None) as batch_op:
        batch_op.drop_index("ix_risk_localities_level")
    op.drop_table("risk_localities")
