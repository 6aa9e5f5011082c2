"""Intel tables: items at their current version, who they are shared with, entities and links,
requests for information, the dissemination log, sharing-group ceilings and federation state.

Sharing groups and their members are identity's (`sharing_groups`, `sharing_group_members`);
intel adds only each group's maximum shareable marking. Full-text search lives outside this
metadata because neither backend's index is portable: the migration creates an FTS5 table on
SQLite (`intel_items_fts`) and a generated `tsvector` column with a GIN index on PostgreSQL.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
)

from khusela.store.metadata import UTCDateTime, metadata

_BIGINT = BigInteger().with_variant(Integer, "sqlite")

intel_items = Table(
    "intel_items",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("version", Integer, nullable=False),
    # Federation cursor: allocated while the audit head is locked, so it grows in commit order.
    Column("seq", _BIGINT, nullable=False),
    Column("status", String(12), nullable=False),  # active | revoked | purged
    Column("title", String(300), nullable=False),
    Column("body", Text, nullable=False),
    Column("category", String(32), nullable=False),
    Column("tlp", Integer, nullable=False),
    Column("classification", Integer, nullable=False),
    Column("caveats", JSON, nullable=False),
    Column("reliability", String(1)),
    Column("credibility", Integer),
    Column("handling", String(1)),
    Column("province", String(8)),
    Column("municipality", String(40)),
    Column("ward", String(40)),
    Column("cells", JSON, nullable=False),
    Column("window_start", UTCDateTime),
    Column("window_end", UTCDateTime),
    Column("origin_instance", String(64), nullable=False),
    # No foreign key: an item received from a partner names the partner's agency.
    Column("agency_id", String(36), nullable=False),
    Column("author_id", String(36)),
    Column("review_at", UTCDateTime, nullable=False),
    Column("human_source", Boolean, nullable=False),
    Column("source_ref", String(80)),
    Column("source_description", String(1000)),
    Column("sanitised", Boolean, nullable=False),
    Column("sanitised_note", String(500)),
    Column("attachments", JSON, nullable=False),
    Column("observables", JSON, nullable=False),
    Column("received_from", String(64)),
    Column("revoked_at", UTCDateTime),
    Column("revoke_reason", String(500)),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    Index("ix_intel_items_agency_id", "agency_id", "created_at"),
    Index("ix_intel_items_seq", "seq"),
    # Newest first: lets search stop early on common words instead of ranking every match.
    Index("ix_intel_items_created_at", "created_at"),
    Index("ix_intel_items_status_review", "status", "review_at"),
    Index("ix_intel_items_tlp", "tlp", "classification"),
)

intel_item_cells = Table(
    "intel_item_cells",
    metadata,
    Column("item_id", ForeignKey("intel_items.id", ondelete="CASCADE"), primary_key=True),
    Column("cell", String(16), primary_key=True),
    Index("ix_intel_item_cells_cell", "cell"),
)

intel_item_groups = Table(
    "intel_item_groups",
    metadata,
    Column("item_id", ForeignKey("intel_items.id", ondelete="CASCADE"), primary_key=True),
    Column("group_id", ForeignKey("sharing_groups.id", ondelete="CASCADE"), primary_key=True),
    Index("ix_intel_item_groups_group_id", "group_id"),
)

DIST_AGENCY, DIST_INSTANCE, DIST_USER = "agency", "instance", "user"

intel_item_distribution = Table(
    "intel_item_distribution",
    metadata,
    Column("item_id", ForeignKey("intel_items.id", ondelete="CASCADE"), primary_key=True),
    Column("kind", String(12), primary_key=True),  # agency | instance | user
    Column("target", String(64), primary_key=True),
    Index("ix_intel_item_distribution_target", "kind", "target"),
)

intel_entities = Table(
    "intel_entities",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("kind", String(16), nullable=False),
    Column("label", String(300), nullable=False),
    Column("tlp", Integer, nullable=False),
    Column("classification", Integer, nullable=False),
    Column("caveats", JSON, nullable=False),
    Column("attributes", JSON, nullable=False),
    Column("justification", String(2000)),
    Column("criminal_activity", String(32)),
    Column("case_ref", String(80)),
    Column("agency_id", String(36), nullable=False),
    Column("created_by", String(80), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Index("ix_intel_entities_label", "label"),
)

intel_item_links = Table(
    "intel_item_links",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("entity_id", ForeignKey("intel_entities.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("item_id", ForeignKey("intel_items.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("relation", String(80), nullable=False),
    Column("asserted_by", String(36), nullable=False),
)

intel_entity_links = Table(
    "intel_entity_links",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("source_id", ForeignKey("intel_entities.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("target_id", ForeignKey("intel_entities.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("relation", String(80), nullable=False),
    # The link lives and dies with the item that asserts it, and is seen only with it.
    Column("asserted_by", ForeignKey("intel_items.id", ondelete="CASCADE"), nullable=False, index=True),
)

intel_rfis = Table(
    "intel_rfis",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("question", Text, nullable=False),
    Column("asked_instance", String(64), nullable=False),
    Column("asked_agency_id", String(36), nullable=False, index=True),
    Column("asked_by", String(36)),
    Column("asked_at", UTCDateTime, nullable=False),
    Column("tlp", Integer, nullable=False),
    Column("classification", Integer, nullable=False),
    Column("caveats", JSON, nullable=False),
    Column("status", String(12), nullable=False),
    Column("assigned_to", String(36), index=True),
    Column("answer", Text),
    Column("answer_tlp", Integer),
    Column("answer_classification", Integer),
    Column("answer_caveats", JSON),
    Column("answer_grade", String(3)),
    Column("answered_agency_id", String(36)),
    Column("answered_by", String(36)),
    Column("answered_at", UTCDateTime),
)

intel_disseminations = Table(
    "intel_disseminations",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("item_id", String(36), nullable=False, index=True),
    Column("item_version", Integer, nullable=False),
    Column("channel", String(16), nullable=False),  # share | export | read | federation | release
    Column("actor", String(80), nullable=False),
    Column("recipient_kind", String(12), nullable=False),  # agency | group | instance | user
    Column("recipient", String(64), nullable=False),
    Column("reason", String(1000), nullable=False),
    Column("sanitised", Boolean, nullable=False),
    Column("at", UTCDateTime, nullable=False),
)

intel_notices = Table(
    "intel_notices",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("item_id", String(36), nullable=False, index=True),
    Column("kind", String(16), nullable=False),  # correction | revocation | purge
    Column("recipient_kind", String(12), nullable=False),
    Column("recipient", String(64), nullable=False),
    Column("text", String(1000), nullable=False),
    Column("at", UTCDateTime, nullable=False),
    Index("ix_intel_notices_recipient", "recipient_kind", "recipient"),
)

intel_danger_releases = Table(
    "intel_danger_releases",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("item_id", ForeignKey("intel_items.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("item_version", Integer, nullable=False),
    Column("recipient_user_id", String(36), nullable=False, index=True),
    Column("recipient_agency_id", String(36)),
    Column("justification", String(2000), nullable=False),
    Column("released_by", String(80), nullable=False),
    Column("released_at", UTCDateTime, nullable=False),
    Column("review_by", UTCDateTime, nullable=False),
    # The sanitised copy as released, frozen: a later revision does not widen the release.
    Column("copy", JSON, nullable=False),
)

intel_group_ceilings = Table(
    "intel_group_ceilings",
    metadata,
    Column("group_id", ForeignKey("sharing_groups.id", ondelete="CASCADE"), primary_key=True),
    Column("tlp", Integer, nullable=False),
    Column("classification", Integer, nullable=False),
    Column("accepted_caveats", JSON, nullable=False),
    Column("aggregate_only", Boolean, nullable=False),
)

intel_instance = Table(
    "intel_instance",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String(64), nullable=False),
)
"""One row: this instance's federation name (e.g. ``gauteng``); its key is a file in data_dir."""

intel_partners = Table(
    "intel_partners",
    metadata,
    Column("instance", String(64), primary_key=True),
    Column("public_key_pem", Text, nullable=False),
    Column("base_url", String(300)),
    Column("pulled_cursor", _BIGINT, nullable=False, default=0),
    Column("pushed_cursor", _BIGINT, nullable=False, default=0),
    Column("added_at", UTCDateTime, nullable=False),
)
