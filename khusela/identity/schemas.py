"""Identity's API schemas, one family per direction."""

from __future__ import annotations

from datetime import datetime

from pydantic import Field, field_validator

from khusela.api.schemas import Incoming, Outgoing
from khusela.identity.model import AgencyType, Clearance, Role


class LoginIn(Incoming):
    username: str = Field(min_length=1, max_length=80)
    password: str = Field(min_length=1, max_length=200)
    totp: str | None = Field(None, pattern=r"^\d{6}$", description="Six-digit authenticator code")


class TokenOut(Outgoing):
    access_token: str
    token_type: str = "bearer"  # noqa: S105 - the OAuth token type, not a secret
    expires_at: datetime


class ResidentCodeIn(Incoming):
    phone: str = Field(min_length=9, max_length=20)


class ResidentTokenIn(Incoming):
    phone: str = Field(min_length=9, max_length=20)
    code: str = Field(pattern=r"^\d{6}$")


class AgencyRef(Outgoing):
    id: str
    name: str
    type: AgencyType


class MeOut(Outgoing):
    id: str
    username: str
    roles: list[Role]
    clearance: str
    agency: AgencyRef | None
    sharing_groups: list[str]
    permissions: list[str] = Field(
        description="Actions the user's roles allow; the console builds its menu from them."
    )


class JurisdictionIn(Incoming):
    provinces: list[str] = Field(default_factory=list, max_length=9)
    municipalities: list[str] = Field(default_factory=list, max_length=300)
    cells: list[str] = Field(default_factory=list, max_length=20_000)


class AgencyCreate(Incoming):
    name: str = Field(min_length=2, max_length=200)
    type: AgencyType
    jurisdiction: JurisdictionIn = Field(default_factory=JurisdictionIn)


class AgencyPublic(Outgoing):
    id: str
    name: str
    type: AgencyType
    provinces: list[str]
    municipalities: list[str]
    cell_count: int


class UserCreate(Incoming):
    username: str = Field(min_length=3, max_length=80)
    display_name: str | None = Field(None, max_length=200)
    roles: list[Role] = Field(min_length=1)
    agency_id: str | None = None
    clearance: str = "unclassified"
    password: str | None = Field(None, min_length=10, max_length=200)
    phone: str | None = Field(None, max_length=20)

    @field_validator("clearance")
    @classmethod
    def _known_clearance(cls, value: str) -> str:
        Clearance.parse(value)
        return value.lower()


class UserPublic(Outgoing):
    id: str
    username: str
    display_name: str
    roles: list[str]
    agency_id: str | None
    agency_name: str | None
    clearance: str
    is_active: bool


class UserCreated(Outgoing):
    id: str
    username: str
    totp_provisioning_uri: str | None = Field(
        None, description="Shown once: scan into an authenticator app to enrol TOTP."
    )
    totp_qr_data_uri: str | None = Field(
        None, description="The same URI as a QR code (an SVG data: URI), for the enrolling phone to scan."
    )
