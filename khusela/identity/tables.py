"""Identity's tables."""

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
)

from khusela.store.metadata import UTCDateTime, metadata

agencies = Table(
    "agencies",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("name", String(200), nullable=False, unique=True),
    Column("type", String(40), nullable=False),
    Column("provinces", JSON, nullable=False, default=list),
    Column("municipalities", JSON, nullable=False, default=list),
    Column("created_at", UTCDateTime, nullable=False),
)

agency_cells = Table(
    "agency_cells",
    metadata,
    Column("agency_id", ForeignKey("agencies.id", ondelete="CASCADE"), primary_key=True),
    Column("cell", String(16), primary_key=True),
)

users = Table(
    "users",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("username", String(80), nullable=False, unique=True),
    Column("display_name", String(200), nullable=False),
    Column("phone", String(20), unique=True),
    Column("password_hash", String(200)),
    Column("totp_secret", String(200)),  # sealed (`totp.SEALED`): ~90 characters for a 32-character seed
    Column("totp_last_step", BigInteger().with_variant(Integer, "sqlite")),
    Column("agency_id", ForeignKey("agencies.id"), index=True),
    Column("clearance", Integer, nullable=False, default=0),
    Column("is_active", Boolean, nullable=False, default=True),
    Column("created_at", UTCDateTime, nullable=False),
)

user_roles = Table(
    "user_roles",
    metadata,
    Column("user_id", ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    Column("role", String(40), primary_key=True),
)

sharing_groups = Table(
    "sharing_groups",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("name", String(200), nullable=False, unique=True),
    Column("description", String(1000), nullable=False, default=""),
    Column("created_at", UTCDateTime, nullable=False),
)

sharing_group_members = Table(
    "sharing_group_members",
    metadata,
    Column("group_id", ForeignKey("sharing_groups.id", ondelete="CASCADE"), primary_key=True),
    Column("user_id", ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
)

access_tokens = Table(
    "access_tokens",
    metadata,
    Column("token_hash", String(64), primary_key=True),
    Column("user_id", ForeignKey("users.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("expires_at", UTCDateTime, nullable=False),
    Column("revoked_at", UTCDateTime),
)

login_attempts = Table(
    "login_attempts",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("username", String(80), nullable=False),
    Column("at", UTCDateTime, nullable=False),
    Column("success", Boolean, nullable=False),
    Index("ix_login_attempts_username_at", "username", "at"),
)

one_time_codes = Table(
    "one_time_codes",
    metadata,
    Column("phone", String(20), primary_key=True),
    Column("code_hash", String(64), nullable=False),
    Column("expires_at", UTCDateTime, nullable=False),
    Column("attempts", Integer, nullable=False, default=0),
)
