"""partner link: endpoints, offers, webhook deliveries

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22 13:46:51.238694
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import khusela.store.metadata

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "partner_links",
        sa.Column("agency_id", sa.String(length=36), nullable=False),
        sa.Column("url", sa.String(length=500), nullable=False),
        sa.Column("secret", sa.String(length=200), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", khusela.store.metadata.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", khusela.store.metadata.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["agency_id"],
            ["agencies.id"],
            name=op.f("fk_partner_links_agency_id_agencies"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("agency_id", name=op.f("pk_partner_links")),
    )
    op.create_table(
        "partner_deliveries",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("agency_id", sa.String(length=36), nullable=False),
        sa.Column("alert_id", sa.String(length=36), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("event_id", sa.String(length=36), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", khusela.store.metadata.UTCDateTime(timezone=True), nullable=False),
        sa.Column("delivered_at", khusela.store.metadata.UTCDateTime(timezone=True), nullable=True),
        sa.Column("gave_up_at", khusela.store.metadata.UTCDateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.String(length=300), nullable=True),
        sa.Column("created_at", khusela.store.metadata.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["agency_id"],
            ["agencies.id"],
            name=op.f("fk_partner_deliveries_agency_id_agencies"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["alert_id"],
            ["alerts.id"],
            name=op.f("fk_partner_deliveries_alert_id_alerts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_partner_deliveries")),
    )
    with op.batch_alter_table("partner_deliveries", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_partner_deliveries_alert_id"), ["alert_id"], unique=False)
        batch_op.create_index(
            "ix_partner_deliveries_due", ["delivered_at", "gave_up_at", "next_attempt_at"], unique=False
        )

    op.create_table(
        "partner_offers",
        sa.Column("alert_id", sa.String(length=36), nullable=False),
        sa.Column("agency_id", sa.String(length=36), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("unit_ref", sa.String(length=80), nullable=True),
        sa.Column("eta_seconds", sa.Integer(), nullable=True),
        sa.Column("outcome", sa.String(length=24), nullable=True),
        sa.Column("offered_at", khusela.store.metadata.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", khusela.store.metadata.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["agency_id"],
            ["agencies.id"],
            name=op.f("fk_partner_offers_agency_id_agencies"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["alert_id"], ["alerts.id"], name=op.f("fk_partner_offers_alert_id_alerts"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("alert_id", "agency_id", name=op.f("pk_partner_offers")),
    )
    with op.batch_alter_table("partner_offers", schema=None) as batch_op:
        batch_op.create_index("ix_partner_offers_agency_status", ["agency_id", "status"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("partner_offers", schema=None) as batch_op:
        batch_op.drop_index("ix_partner_offers_agency_status")

    op.drop_table("partner_offers")
    with op.batch_alter_table("partner_deliveries", schema=None) as batch_op:
        batch_op.drop_index("ix_partner_deliveries_due")
        batch_op.drop_index(batch_op.f("ix_partner_deliveries_alert_id"))

    op.drop_table("partner_deliveries")
    op.drop_table("partner_links")
