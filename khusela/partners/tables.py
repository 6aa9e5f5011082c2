"""The partners module's tables: agreements and their delivery, joint operations, community
alerts and subscriptions, patrol reports and anonymous tips.

Tip tables (`partner_tips`, `partner_tip_messages`) hold no identity, address, user agent or
device data by design, and their times are truncated to the hour: precise submission times
could be matched against a network operator's or a proxy's records.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from khusela.store.metadata import UTCDateTime, metadata

# --- agreements --------------------------------------------------------------------------

partner_agreements = Table(
    "partner_agreements",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("title", String(300), nullable=False),
    Column("type", String(20), nullable=False),
    Column("status", String(12), nullable=False),
    Column("signed_on", Date),
    Column("review_on", Date),
    Column("ends_on", Date),
    Column("province", String(8)),
    Column("municipality", String(16)),
    Column("summary", Text, nullable=False),
    Column("document_sha256", String(64)),
    Column("document_name", String(200)),
    Column("created_by", String(80), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
)

partner_agreement_parties = Table(
    "partner_agreement_parties",
    metadata,
    Column("agreement_id", ForeignKey("partner_agreements.id", ondelete="CASCADE"), primary_key=True),
    Column("agency_id", ForeignKey("agencies.id"), primary_key=True),
    Index("ix_partner_agreement_parties_agency", "agency_id"),
)

partner_areas = Table(
    "partner_areas",
    metadata,
    Column("id", String(36), primary_key=True),
    Column(
        "agreement_id", ForeignKey("partner_agreements.id", ondelete="CASCADE"), nullable=False, index=True
    ),
    Column("kind", String(24), nullable=False),
    Column("title", String(200), nullable=False),
    Column("description", Text, nullable=False),
)

partner_commitments = Table(
    "partner_commitments",
    metadata,
    Column("id", String(36), primary_key=True),
    Column(
        "agreement_id", ForeignKey("partner_agreements.id", ondelete="CASCADE"), nullable=False, index=True
    ),
    Column("area_id", ForeignKey("partner_areas.id", ondelete="CASCADE"), nullable=False),
    Column("what", String(500), nullable=False),
    Column("responsible_agency_id", ForeignKey("agencies.id"), nullable=False, index=True),
    Column("due_on", Date, nullable=False),
    Column("indicator", String(300), nullable=False),
    Column("source", String(40)),
    Column("target", Float),
    Column("direction", String(10), nullable=False),
    Column("status", String(12), nullable=False),
    Column("evidence_sha256", String(64)),
    Column("evidence_note", String(1000)),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
)
"""`source` names a platform figure (`partners.indicators.SOURCES`) the report fills in;
without one the figure is the responsible party's own latest reported value."""

partner_progress = Table(
    "partner_progress",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("commitment_id", ForeignKey("partner_commitments.id", ondelete="CASCADE"), nullable=False),
    Column("agency_id", ForeignKey("agencies.id"), nullable=False),
    Column("reported_by", String(80), nullable=False),
    Column("at", UTCDateTime, nullable=False),
    Column("percent", Integer, nullable=False),
    Column("value", Float),
    Column("on_track", Boolean, nullable=False),
    Column("note", Text, nullable=False),
    Column("evidence_sha256", String(64)),
    Index("ix_partner_progress_commitment_at", "commitment_id", "at"),
)

# --- joint operations --------------------------------------------------------------------

partner_operations = Table(
    "partner_operations",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("objective", Text, nullable=False),
    Column("status", String(10), nullable=False),
    Column("starts_at", UTCDateTime, nullable=False),
    Column("ends_at", UTCDateTime, nullable=False),
    Column("agreement_id", ForeignKey("partner_agreements.id"), index=True),
    Column("lead_agency_id", ForeignKey("agencies.id"), nullable=False),
    Column("commander", String(200), nullable=False),
    Column("area", JSON),
    Column("province", String(8)),
    Column("municipality", String(16)),
    Column("tlp", Integer, nullable=False),
    Column("classification", Integer, nullable=False),
    Column("caveats", JSON, nullable=False),
    Column("briefing", Text, nullable=False),
    Column("debrief", Text),
    Column("created_by", String(80), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
)
"""`area` is a GeoJSON Polygon when one was drawn; the H3 cells are in `partner_operation_cells`."""

partner_operation_cells = Table(
    "partner_operation_cells",
    metadata,
    Column("operation_id", ForeignKey("partner_operations.id", ondelete="CASCADE"), primary_key=True),
    Column("cell", String(16), primary_key=True),
)

partner_operation_agencies = Table(
    "partner_operation_agencies",
    metadata,
    Column("operation_id", ForeignKey("partner_operations.id", ondelete="CASCADE"), primary_key=True),
    Column("agency_id", ForeignKey("agencies.id"), primary_key=True),
    Column("units", JSON, nullable=False),
    Index("ix_partner_operation_agencies_agency", "agency_id"),
)

partner_operation_links = Table(
    "partner_operation_links",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("operation_id", ForeignKey("partner_operations.id", ondelete="CASCADE"), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("ref_id", String(64), nullable=False),
    Column("at", UTCDateTime, nullable=False),
    Column("summary", String(300), nullable=False),
    Column("linked_by", String(80), nullable=False),
    UniqueConstraint("operation_id", "kind", "ref_id", name="uq_partner_operation_links_ref"),
)

partner_operation_outcomes = Table(
    "partner_operation_outcomes",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column(
        "operation_id", ForeignKey("partner_operations.id", ondelete="CASCADE"), nullable=False, index=True
    ),
    Column("kind", String(20), nullable=False),
    Column("quantity", Integer, nullable=False),
    Column("description", String(1000), nullable=False),
    Column("at", UTCDateTime, nullable=False),
    Column("recorded_by", String(80), nullable=False),
)

# --- community ---------------------------------------------------------------------------

community_patrol_areas = Table(
    "community_patrol_areas",
    metadata,
    Column("agency_id", ForeignKey("agencies.id", ondelete="CASCADE"), primary_key=True),
    Column("cell", String(16), primary_key=True),
    Index("ix_community_patrol_areas_cell", "cell"),
)

community_alerts = Table(
    "community_alerts",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("version", Integer, nullable=False),
    Column("status", String(10), nullable=False),
    Column("category", String(16), nullable=False),
    Column("severity", String(10), nullable=False),
    Column("urgency", String(10), nullable=False),
    Column("headline", String(160), nullable=False),
    Column("description", Text, nullable=False),
    Column("instruction", Text),
    Column("area_desc", String(300), nullable=False),
    Column("province", String(8)),
    Column("municipality", String(16)),
    Column("issuing_agency_id", ForeignKey("agencies.id")),
    Column("issued_by", String(80), nullable=False),
    Column("sent_at", UTCDateTime, nullable=False),
    Column("expires_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    Index("ix_community_alerts_sent_at", "sent_at"),
)

community_alert_cells = Table(
    "community_alert_cells",
    metadata,
    Column("alert_id", ForeignKey("community_alerts.id", ondelete="CASCADE"), primary_key=True),
    Column("cell", String(16), primary_key=True),
)

community_subscriptions = Table(
    "community_subscriptions",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("user_id", ForeignKey("users.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("kind", String(12), nullable=False),
    Column("value", String(16), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    UniqueConstraint("user_id", "kind", "value", name="uq_community_subscriptions_area"),
    Index("ix_community_subscriptions_value", "kind", "value"),
)

community_alert_deliveries = Table(
    "community_alert_deliveries",
    metadata,
    Column("alert_id", ForeignKey("community_alerts.id", ondelete="CASCADE"), primary_key=True),
    Column("version", Integer, primary_key=True),
    Column("user_id", ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    Column("channel", String(8), primary_key=True),
    Column("at", UTCDateTime, nullable=False),
)
"""One row per (alert version, person, channel) handed to a sender: a retry sends nothing twice."""

patrol_reports = Table(
    "patrol_reports",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("agency_id", ForeignKey("agencies.id"), nullable=False, index=True),
    Column("submitted_by", String(36), nullable=False),
    Column("started_at", UTCDateTime, nullable=False),
    Column("ended_at", UTCDateTime, nullable=False),
    Column("route", JSON, nullable=False),
    Column("observations", Text, nullable=False),
    Column("flags", JSON, nullable=False),
    Column("province", String(8)),
    Column("municipality", String(16)),
    Column("cell", String(16)),
    Column("created_at", UTCDateTime, nullable=False),
)
"""`flags` lists the kinds of personal information the screening found and the submitter
confirmed (never the matched values themselves)."""

patrol_photos = Table(
    "patrol_photos",
    metadata,
    Column("report_id", ForeignKey("patrol_reports.id", ondelete="CASCADE"), primary_key=True),
    Column("sha256", String(64), primary_key=True),
    Column("content_type", String(40), nullable=False),
    Column("size", Integer, nullable=False),
    Column("added_at", UTCDateTime, nullable=False),
)

# --- anonymous tips ----------------------------------------------------------------------

partner_tips = Table(
    "partner_tips",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("code_hash", String(64), nullable=False, unique=True),
    Column("category", String(16), nullable=False),
    Column("status", String(10), nullable=False),
    Column("province", String(8)),
    Column("municipality", String(16)),
    Column("cell", String(16)),
    Column("received_hour", UTCDateTime, nullable=False),
    Column("updated_hour", UTCDateTime, nullable=False),
    Index("ix_partner_tips_municipality", "municipality"),
)

partner_tip_messages = Table(
    "partner_tip_messages",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("tip_id", ForeignKey("partner_tips.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("author", String(8), nullable=False),
    Column("agency_name", String(200)),
    Column("body", Text, nullable=False),
    Column("hour", UTCDateTime, nullable=False),
)
"""`author` is ``tipster`` or ``staff``; a staff reply names the agency, never the officer
(the tipster reads these)."""
