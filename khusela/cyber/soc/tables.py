"""The SOC's tables: alerts (aggregated detections), their sample events, exceptions, cases
with their timelines, response actions and reported e-mails."""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Table,
    Text,
)

from khusela.store.metadata import UTCDateTime, metadata

cyber_alerts = Table(
    "cyber_alerts",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("kind", String(16), nullable=False),
    Column("rule_id", String(120), nullable=False),
    Column("title", String(300), nullable=False),
    Column("author", String(300)),
    Column("severity", String(16), nullable=False),
    Column("tags", JSON, nullable=False),
    Column("source", String(64)),
    Column("host", String(255)),
    Column("agg_key", String(64), nullable=False),
    Column("count", Integer, nullable=False),
    Column("first_seen", UTCDateTime, nullable=False),
    Column("last_seen", UTCDateTime, nullable=False),
    Column("raised_at", UTCDateTime, nullable=False),
    Column("status", String(16), nullable=False),
    Column("status_by", String(80)),
    Column("status_at", UTCDateTime),
    Column("case_id", ForeignKey("cyber_cases.id")),
    Column("detail", JSON, nullable=False),
    Index("ix_cyber_alerts_agg_key", "agg_key", "last_seen"),
    Index("ix_cyber_alerts_last_seen", "last_seen"),
    Index("ix_cyber_alerts_case", "case_id"),
)
"""One row per attack, not per event: repeats of the same rule on the same host and source
within the aggregation window raise `count` and `last_seen` (`agg_key` finds the open one).
`author` is the rule's author, shown on every alert from a SigmaHQ rule as its licence asks."""

cyber_alert_events = Table(
    "cyber_alert_events",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("alert_id", ForeignKey("cyber_alerts.id"), nullable=False),
    Column("at", UTCDateTime),
    Column("received_at", UTCDateTime, nullable=False),
    Column("fields", JSON, nullable=False),
    Column("raw", Text, nullable=False),
    Index("ix_cyber_alert_events_alert", "alert_id", "id"),
)
"""The matching events of an alert, each with its raw form; the first few per alert are
kept (`MAX_SAMPLES`), the count covers all of them."""

cyber_exceptions = Table(
    "cyber_exceptions",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("rule_id", String(120), nullable=False),
    Column("source", String(64)),
    Column("host", String(255)),
    Column("reason", String(500), nullable=False),
    Column("created_by", String(80), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("expires_at", UTCDateTime),
    Column("hits", Integer, nullable=False),
    Column("last_hit_at", UTCDateTime),
    Column("revoked_at", UTCDateTime),
    Index("ix_cyber_exceptions_rule", "rule_id"),
)
"""A known-benign pattern: one rule *and* one source network or host, never a rule
everywhere. Suppressed detections are counted in `hits`, so an exception that hides an
attack is visible."""

cyber_cases = Table(
    "cyber_cases",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("title", String(300), nullable=False),
    Column("severity", String(16), nullable=False),
    Column("status", String(16), nullable=False),
    Column("assignee", String(80)),
    Column("created_by", String(80), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    Index("ix_cyber_cases_status", "status", "updated_at"),
)

cyber_case_entries = Table(
    "cyber_case_entries",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("case_id", ForeignKey("cyber_cases.id"), nullable=False),
    Column("at", UTCDateTime, nullable=False),
    Column("actor", String(80), nullable=False),
    Column("kind", String(24), nullable=False),
    Column("text", Text, nullable=False),
    Column("ref", String(80)),
    Index("ix_cyber_case_entries_case", "case_id", "id"),
)
"""The case timeline: notes, status and assignee changes, alerts added, actions taken."""

cyber_actions = Table(
    "cyber_actions",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("kind", String(24), nullable=False),
    Column("target", String(255), nullable=False),
    Column("reason", String(500), nullable=False),
    Column("status", String(16), nullable=False),
    Column("alert_id", ForeignKey("cyber_alerts.id")),
    Column("case_id", ForeignKey("cyber_cases.id")),
    Column("automatic", Boolean, nullable=False),
    Column("proposed_by", String(80)),
    Column("proposed_at", UTCDateTime, nullable=False),
    Column("approved_by", String(80)),
    Column("approved_at", UTCDateTime),
    Column("duration_hours", Float),
    Column("expires_at", UTCDateTime),
    Column("ended_by", String(80)),
    Column("ended_at", UTCDateTime),
    Index("ix_cyber_actions_status", "status", "expires_at"),
)
"""Response actions: proposed → active (approved, or automatic) → expired | reverted, or
proposed → rejected. Only active rows are written to the enforcement files."""

cyber_phish_reports = Table(
    "cyber_phish_reports",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("reporter", String(80), nullable=False),
    Column("received_at", UTCDateTime, nullable=False),
    Column("subject", String(500)),
    Column("sender", String(500)),
    Column("message_id", String(500)),
    Column("sha256", String(64), nullable=False),
    Column("raw", LargeBinary, nullable=False),
    Column("score", Float, nullable=False),
    Column("verdict", String(16), nullable=False),
    Column("reasons", JSON, nullable=False),
    Column("alert_id", ForeignKey("cyber_alerts.id")),
    Column("analyst_verdict", String(16)),
    Column("corrected_by", String(80)),
    Column("corrected_at", UTCDateTime),
    Index("ix_cyber_phish_reports_received", "received_at"),
)
"""E-mails staff reported, with the automatic verdict and, once an analyst has looked, the
analyst's: the pairs measure the analyser's accuracy on the province's own mail."""
