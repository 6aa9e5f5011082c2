"""unit crews: which responder is on which unit this shift

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-22 15:20:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import khusela.store.metadata

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "unit_crews",
        sa.Column("user_id", sa.String(length=36), nullable=False),
        sa.Column("unit_id", sa.String(length=36), nullable=False),
        sa.Column("signed_on_at", khusela.store.metadata.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_unit_crews_user_id_users"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["unit_id"], ["units.id"], name=op.f("fk_unit_crews_unit_id_units"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_unit_crews")),
    )
    with op.batch_alter_table("unit_crews", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_unit_crews_unit_id"), ["unit_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("unit_crews", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_unit_crews_unit_id"))
    op.drop_table("unit_crews")
