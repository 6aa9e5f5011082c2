"""Panic's tables: alerts with their location trail and timeline, residents' panic
profiles, devices, units and assignments."""

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
    Text,
)

from khusela.store.metadata import UTCDateTime, metadata

_BIGINT = BigInteger().with_variant(Integer, "sqlite")

units = Table(
    "units",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("agency_id", ForeignKey("agencies.id"), nullable=False, index=True),
    Column("callsign", String(40), nullable=False, unique=True),
    Column("kind", String(40), nullable=False),
    Column("status", String(20), nullable=False),
    Column("lat", Float),
    Column("lon", Float),
    Column("province", String(8)),
    Column("municipality", String(16)),
    Column("cell", String(16)),
    Column("updated_at", UTCDateTime, nullable=False),
    Column("capabilities", JSON, nullable=False, default=list, server_default="[]"),
    Column("location_at", UTCDateTime),
    Index("ix_units_cell", "cell"),
)

unit_crews = Table(
    "unit_crews",
    metadata,
    Column("user_id", ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    Column("unit_id", ForeignKey("units.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("signed_on_at", UTCDateTime, nullable=False),
)
"""Who crews which unit this shift: a responder signs on to one unit at a time."""

alerts = Table(
    "alerts",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("resident_id", ForeignKey("users.id"), index=True),
    Column("device_id", String(64)),
    Column("channel", String(10), nullable=False),
    Column("type", String(16), nullable=False),
    Column("status", String(16), nullable=False),
    Column("priority", Integer, nullable=False),
    Column("silent", Boolean, nullable=False, default=False),
    Column("duress", Boolean, nullable=False, default=False),
    Column("presses", Integer, nullable=False, default=1),
    Column("location_unknown", Boolean, nullable=False, default=False),
    Column("outside_coverage", Boolean, nullable=False, default=False),
    Column("lat", Float),
    Column("lon", Float),
    Column("accuracy_m", Float),
    Column("location_source", String(10), nullable=False),
    Column("location_at", UTCDateTime),
    Column("location_text", String(300)),
    Column("province", String(8), nullable=False),
    Column("municipality", String(16)),
    Column("cell", String(16)),
    Column("note", String(500)),
    Column("outcome", String(24)),
    Column("created_at", UTCDateTime, nullable=False),
    Column("acknowledged_at", UTCDateTime),
    Column("dispatched_at", UTCDateTime),
    Column("on_scene_at", UTCDateTime),
    Column("closed_at", UTCDateTime),
    Column("updated_at", UTCDateTime, nullable=False),
    Column("assigned_agency_id", String(36), index=True),
    Column("version", Integer, nullable=False, default=1),
    Index("ix_alerts_status_priority", "status", "priority", "created_at"),
    Index("ix_alerts_resident_created", "resident_id", "created_at"),
)

alert_presses = Table(
    "alert_presses",
    metadata,
    Column("sender", String(80), primary_key=True),
    Column("client_alert_id", String(64), primary_key=True),
    Column("alert_id", ForeignKey("alerts.id", ondelete="CASCADE"), nullable=False),
    Column("at", UTCDateTime, nullable=False),
)
"""Every press, keyed by who sent it (resident id or device id) and the client's own id:
a retried request finds its press here and gets the same alert back."""

alert_locations = Table(
    "alert_locations",
    metadata,
    Column("id", _BIGINT, primary_key=True, autoincrement=True),
    Column("alert_id", ForeignKey("alerts.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("lat", Float, nullable=False),
    Column("lon", Float, nullable=False),
    Column("accuracy_m", Float),
    Column("source", String(10), nullable=False),
    Column("at", UTCDateTime, nullable=False),
)

alert_timeline = Table(
    "alert_timeline",
    metadata,
    Column("id", _BIGINT, primary_key=True, autoincrement=True),
    Column("alert_id", ForeignKey("alerts.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("at", UTCDateTime, nullable=False),
    Column("actor", String(80), nullable=False),
    Column("kind", String(40), nullable=False),
    Column("details", Text, nullable=False, default="{}"),
)

assignments = Table(
    "assignments",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("alert_id", ForeignKey("alerts.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("unit_id", ForeignKey("units.id"), nullable=False, index=True),
    Column("status", String(16), nullable=False),
    Column("eta_seconds", Integer),
    Column("assigned_at", UTCDateTime, nullable=False),
    Column("acknowledged_at", UTCDateTime),
    Column("en_route_at", UTCDateTime),
    Column("on_scene_at", UTCDateTime),
    Column("cleared_at", UTCDateTime),
    Column("outcome", String(24)),
)

panic_profiles = Table(
    "panic_profiles",
    metadata,
    Column("user_id", ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    Column("pin_hash", String(200)),
    Column("duress_pin_hash", String(200)),
    Column("vulnerable", Boolean, nullable=False, default=False),
    Column("false_alarms", Integer, nullable=False, default=0),
    Column("updated_at", UTCDateTime, nullable=False),
)

trusted_contacts = Table(
    "trusted_contacts",
    metadata,
    Column("user_id", ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    Column("position", Integer, primary_key=True),
    Column("name", String(100), nullable=False),
    Column("phone", String(20), nullable=False),
)

devices = Table(
    "panic_devices",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("owner_user_id", ForeignKey("users.id", ondelete="SET NULL")),
    Column("site_name", String(200)),
    Column("site_lat", Float),
    Column("site_lon", Float),
    Column("registered_at", UTCDateTime, nullable=False),
    Column("last_seen_at", UTCDateTime),
    Column("battery", Float),
)
