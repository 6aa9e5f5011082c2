"""The partner link's tables: each partner's endpoint, its part in each alert, and the
messages waiting to reach it (a webhook outbox, so that nothing offered is lost on a
restart and a partner that is down is retried with backoff)."""

from __future__ import annotations

from sqlalchemy import Boolean, Column, ForeignKey, Index, Integer, String, Table, Text

from khusela.core.sealed import SealedColumn
from khusela.identity.tables import agencies
from khusela.panic.tables import alerts
from khusela.store.metadata import UTCDateTime, metadata

partner_links = Table(
    "partner_links",
    metadata,
    Column("agency_id", ForeignKey(agencies.c.id, ondelete="CASCADE"), primary_key=True),
    Column("url", String(500), nullable=False),
    Column("secret", String(400), nullable=False),  # sealed: ~310 characters for a 200-character secret
    Column("active", Boolean, nullable=False, default=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
)
"""A partner's webhook endpoint and the shared secret both sides sign with. HMAC needs the
key itself, so the secret cannot be stored hashed: it is stored sealed (`SEALED`), opened
only to sign or check a message."""

SEALED = SealedColumn(purpose="partner-link", table="partner_links", column="secret")
"""How partner secrets are sealed at rest (`khusela.core.sealed`); the row id is the
partner's agency id."""

partner_offers = Table(
    "partner_offers",
    metadata,
    Column("alert_id", ForeignKey(alerts.c.id, ondelete="CASCADE"), primary_key=True),
    Column("agency_id", ForeignKey(agencies.c.id, ondelete="CASCADE"), primary_key=True),
    Column("status", String(16), nullable=False),
    Column("unit_ref", String(80)),
    Column("eta_seconds", Integer),
    Column("outcome", String(24)),
    Column("offered_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    Index("ix_partner_offers_agency_status", "agency_id", "status"),
)
"""Where each partner stands on each alert offered to it (see `link.PartnerStatus`)."""

partner_deliveries = Table(
    "partner_deliveries",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("agency_id", ForeignKey(agencies.c.id, ondelete="CASCADE"), nullable=False),
    Column("alert_id", ForeignKey(alerts.c.id, ondelete="CASCADE"), nullable=False, index=True),
    Column("kind", String(16), nullable=False),
    Column("body", Text, nullable=False),
    Column("event_id", String(36)),
    Column("attempts", Integer, nullable=False, default=0),
    Column("next_attempt_at", UTCDateTime, nullable=False),
    Column("delivered_at", UTCDateTime),
    Column("gave_up_at", UTCDateTime),
    Column("last_error", String(300)),
    Column("created_at", UTCDateTime, nullable=False),
    Index("ix_partner_deliveries_due", "delivered_at", "gave_up_at", "next_attempt_at"),
)
"""Messages to partners: the exact JSON body (signed when sent), attempts and outcome."""

TABLES = (partner_links, partner_offers, partner_deliveries)
