"""panic alerts, presses, trail, timeline, assignments, profiles, devices

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22 13:14:36.555386
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import khusela.store.metadata

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "alerts",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("resident_id", sa.String(length=36), nullable=True),
        sa.Column("device_id", sa.String(length=64), nullable=True),
        sa.Column("channel", sa.String(length=10), nullable=False),
        sa.Column("type", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("priority", sa.Integer(), nullable=False),
        sa.Column("silent", sa.Boolean(), nullable=False),
        sa.Column("duress", sa.Boolean(), nullable=False),
        sa.Column("presses", sa.Integer(), nullable=False),
        sa.Column("location_unknown", sa.Boolean(), nullable=False),
        sa.Column("outside_coverage", sa.Boolean(), nullable=False),
        sa.Column("lat", sa.Float(), nullable=True),
        sa.Column("lon", sa.Float(), nullable=True),
        sa.Column("accuracy_m", sa.Float(), nullable=True),
        sa.Column("location_source", sa.String(length=10), nullable=False),
        sa.Column("location_at", khusela.store.metadata.UTCDateTime(timezone=True), nullable=True),
        sa.Column("location_text", sa.String(length=300), nullable=True),
        sa.Column("province", sa.String(length=8), nullable=False),
        sa.Column("municipality", sa.String(length=16), nullable=True),
        sa.Column("cell", sa.String(length=16), nullable=True),
        sa.Column("note", sa.String(length=500), nullable=True),
        sa.Column("outcome", sa.String(length=24), nullable=True),
        sa.Column("created_at", khusela.store.metadata.UTCDateTime(timezone=True), nullable=False),
        sa.Column("acknowledged_at", khusela.store.metadata.UTCDateTime(timezone=True), nullable=True),
        sa.Column("dispatched_at", khusela.store.metadata.UTCDateTime(timezone=True), nullable=True),
        sa.Column("on_scene_at", khusela.store.metadata.UTCDateTime(timezone=True), nullable=True),
        sa.Column("closed_at", khusela.store.metadata.UTCDateTime(timezone=True), nullable=True),
        sa.Column("updated_at", khusela.store.metadata.UTCDateTime(timezone=True), nullable=False),
        sa.Column("assigned_agency_id", sa.String(length=36), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["resident_id"], ["users.id"], name=op.f("fk_alerts_resident_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alerts")),
    )
    with op.batch_alter_table("alerts", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_alerts_assigned_agency_id"), ["assigned_agency_id"], unique=False
        )
        batch_op.create_index("ix_alerts_resident_created", ["resident_id", "created_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_alerts_resident_id"), ["resident_id"], unique=False)
        batch_op.create_index("ix_alerts_status_priority", ["status", "priority", "created_at"], unique=False)

    op.create_table(
        "panic_devices",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("owner_user_id", sa.String(length=36), nullable=True),
        sa.Column("site_name", sa.String(length=200), nullable=True),
        sa.Column("site_lat", sa.Float(), nullable=True),
        sa.Column("site_lon", sa.Float(), nullable=True),
        sa.Column("registered_at", khusela.store.metadata.UTCDateTime(timezone=True), nullable=False),
        sa.Column("last_seen_at", khusela.store.metadata.UTCDateTime(timezone=True), nullable=True),
        sa.Column("battery", sa.Float(), nullable=True),
        sa.ForeignKeyConstraint(
            ["owner_user_id"],
            ["users.id"],
            name=op.f("fk_panic_devices_owner_user_id_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_panic_devices")),
    )
    op.create_table(
        "panic_profiles",
        sa.Column("user_id", sa.String(length=36), nullable=False),
        sa.Column("pin_hash", sa.String(length=200), nullable=True),
        sa.Column("duress_pin_hash", sa.String(length=200), nullable=True),
        sa.Column("vulnerable", sa.Boolean(), nullable=False),
        sa.Column("false_alarms", sa.Integer(), nullable=False),
        sa.Column("updated_at", khusela.store.metadata.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_panic_profiles_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_panic_profiles")),
    )
    op.create_table(
        "trusted_contacts",
        sa.Column("user_id", sa.String(length=36), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("phone", sa.String(length=20), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_trusted_contacts_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("user_id", "position", name=op.f("pk_trusted_contacts")),
    )
    op.create_table(
        "alert_locations",
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("alert_id", sa.String(length=36), nullable=False),
        sa.Column("lat", sa.Float(), nullable=False),
        sa.Column("lon", sa.Float(), nullable=False),
        sa.Column("accuracy_m", sa.Float(), nullable=True),
        sa.Column("source", sa.String(length=10), nullable=False),
        sa.Column("at", khusela.store.metadata.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["alert_id"], ["alerts.id"], name=op.f("fk_alert_locations_alert_id_alerts"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alert_locations")),
    )
    with op.batch_alter_table("alert_locations", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_alert_locations_alert_id"), ["alert_id"], unique=False)

    op.create_table(
        "alert_presses",
        sa.Column("sender", sa.String(length=80), nullable=False),
        sa.Column("client_alert_id", sa.String(length=64), nullable=False),
        sa.Column("alert_id", sa.String(length=36), nullable=False),
        sa.Column("at", khusela.store.metadata.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["alert_id"], ["alerts.id"], name=op.f("fk_alert_presses_alert_id_alerts"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("sender", "client_alert_id", name=op.f("pk_alert_presses")),
    )
    op.create_table(
        "alert_timeline",
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("alert_id", sa.String(length=36), nullable=False),
        sa.Column("at", khusela.store.metadata.UTCDateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(length=80), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("details", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["alert_id"], ["alerts.id"], name=op.f("fk_alert_timeline_alert_id_alerts"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alert_timeline")),
    )
    with op.batch_alter_table("alert_timeline", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_alert_timeline_alert_id"), ["alert_id"], unique=False)

    op.create_table(
        "assignments",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("alert_id", sa.String(length=36), nullable=False),
        sa.Column("unit_id", sa.String(length=36), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("eta_seconds", sa.Integer(), nullable=True),
        sa.Column("assigned_at", khusela.store.metadata.UTCDateTime(timezone=True), nullable=False),
        sa.Column("acknowledged_at", khusela.store.metadata.UTCDateTime(timezone=True), nullable=True),
        sa.Column("en_route_at", khusela.store.metadata.UTCDateTime(timezone=True), nullable=True),
        sa.Column("on_scene_at", khusela.store.metadata.UTCDateTime(timezone=True), nullable=True),
        sa.Column("cleared_at", khusela.store.metadata.UTCDateTime(timezone=True), nullable=True),
        sa.Column("outcome", sa.String(length=24), nullable=True),
        sa.ForeignKeyConstraint(
            ["alert_id"], ["alerts.id"], name=op.f("fk_assignments_alert_id_alerts"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(["unit_id"], ["units.id"], name=op.f("fk_assignments_unit_id_units")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_assignments")),
    )
    with op.batch_alter_table("assignments", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_assignments_alert_id"), ["alert_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_assignments_unit_id"), ["unit_id"], unique=False)

    with op.batch_alter_table("units", schema=None) as batch_op:
        batch_op.add_column(sa.Column("capabilities", sa.JSON(), server_default="[]", nullable=False))
        batch_op.add_column(
            sa.Column("location_at", khusela.store.metadata.UTCDateTime(timezone=True), nullable=True)
        )


def downgrade() -> None:
    with op.batch_alter_table("units", schema=None) as batch_op:
        batch_op.drop_column("location_at")
        batch_op.drop_column("capabilities")

    with op.batch_alter_table("assignments", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_assignments_unit_id"))
        batch_op.drop_index(batch_op.f("ix_assignments_alert_id"))

    op.drop_table("assignments")
    with op.batch_alter_table("alert_timeline", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_alert_timeline_alert_id"))

    op.drop_table("alert_timeline")
    op.drop_table("alert_presses")
    with op.batch_alter_table("alert_locations", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_alert_locations_alert_id"))

    op.drop_table("alert_locations")
    op.drop_table("trusted_contacts")
    op.drop_table("panic_profiles")
    op.drop_table("panic_devices")
    with op.batch_alter_table("alerts", schema=None) as batch_op:
        batch_op.drop_index("ix_alerts_status_priority")
        batch_op.drop_index(batch_op.f("ix_alerts_resident_id"))
        batch_op.drop_index("ix_alerts_resident_created")
        batch_op.drop_index(batch_op.f("ix_alerts_assigned_agency_id"))

    op.drop_table("alerts")
