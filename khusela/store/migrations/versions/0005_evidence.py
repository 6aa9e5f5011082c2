"""evidence locker: cases, items, chain of custody

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-23 09:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import khusela.store.metadata

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "evidence_cases",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("case_number", sa.String(length=40), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("agency_id", sa.String(length=36), nullable=False),
        sa.Column("created_by", sa.String(length=80), nullable=False),
        sa.Column("created_at", khusela.store.metadata.UTCDateTime(timezone=True), nullable=False),
        sa.Column("legal_hold", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("custody_seq", sa.Integer(), nullable=False),
        sa.Column("custody_head", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["agency_id"], ["agencies.id"], name=op.f("fk_evidence_cases_agency_id_agencies")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_evidence_cases")),
        sa.UniqueConstraint("case_number", name=op.f("uq_evidence_cases_case_number")),
    )
    with op.batch_alter_table("evidence_cases", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_evidence_cases_agency_id"), ["agency_id"], unique=False)

    op.create_table(
        "evidence_items",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("case_id", sa.String(length=36), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("size", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("media_type", sa.String(length=100), nullable=False),
        sa.Column("original_name", sa.String(length=255), nullable=False),
        sa.Column("source", sa.JSON(), nullable=True),
        sa.Column("captured_at", khusela.store.metadata.UTCDateTime(timezone=True), nullable=True),
        sa.Column("added_by", sa.String(length=80), nullable=False),
        sa.Column("added_at", khusela.store.metadata.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["case_id"], ["evidence_cases.id"], name=op.f("fk_evidence_items_case_id_evidence_cases")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_evidence_items")),
        sa.UniqueConstraint("case_id", "sha256", name="uq_evidence_items_case_id_sha256"),
    )
    with op.batch_alter_table("evidence_items", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_evidence_items_case_id"), ["case_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_evidence_items_sha256"), ["sha256"], unique=False)

    op.create_table(
        "evidence_custody",
        sa.Column("case_id", sa.String(length=36), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("at", khusela.store.metadata.UTCDateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(length=80), nullable=False),
        sa.Column("action", sa.String(length=20), nullable=False),
        sa.Column("item_id", sa.String(length=36), nullable=True),
        sa.Column("details", sa.Text(), nullable=False),
        sa.Column("prev_hash", sa.String(length=64), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["case_id"], ["evidence_cases.id"], name=op.f("fk_evidence_custody_case_id_evidence_cases")
        ),
        sa.PrimaryKeyConstraint("case_id", "seq", name="pk_evidence_custody"),
    )


def downgrade() -> None:
    op.drop_table("evidence_custody")
    with op.batch_alter_table("evidence_items", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_evidence_items_sha256"))
        batch_op.drop_index(batch_op.f("ix_evidence_items_case_id"))
    op.drop_table("evidence_items")
    with op.batch_alter_table("evidence_cases", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_evidence_cases_agency_id"))
    op.drop_table("evidence_cases")
