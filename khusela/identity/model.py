"""Who people are and what they belong to. Plain data and rules, no I/O."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import IntEnum, StrEnum


class AgencyType(StrEnum):
    SAPS_STATION = "saps_station"
    METRO_POLICE = "metro_police"
    SSA = "ssa"
    PROVINCIAL_DEPARTMENT = "provincial_department"
    MUNICIPALITY = "municipality"
    EMS = "ems"
    PRIVATE_SECURITY = "private_security"
    CPF = "cpf"
    NEIGHBOURHOOD_WATCH = "neighbourhood_watch"


class Role(StrEnum):
    RESIDENT = "resident"
    OPERATOR = "operator"
    RESPONDER = "responder"
    SOC_ANALYST = "soc_analyst"
    INTEL_ANALYST = "intel_analyst"
    MUNICIPAL_OFFICIAL = "municipal_official"
    COMMUNITY_PARTNER = "community_partner"
    OVERSIGHT = "oversight"
    ADMIN = "admin"


ROLES_WITHOUT_TOTP = frozenset({Role.RESIDENT, Role.COMMUNITY_PARTNER})
"""Residents and community volunteers sign in from ordinary phones; every staff role needs TOTP."""


class Clearance(IntEnum):
    """Ordered: a user may read items classified at or below their clearance."""

    UNCLASSIFIED = 0
    RESTRICTED = 1
    CONFIDENTIAL = 2
    SECRET = 3
    TOP_SECRET = 4

    @classmethod
    def parse(cls, name: str) -> Clearance:
        try:
            return cls[name.strip().upper()]
        except KeyError:
            choices = ", ".join(c.name.lower() for c in cls)
            raise ValueError(f"unknown clearance {name!r} (choose from {choices})") from None

    @property
    def label(self) -> str:
        return self.name.lower()


@dataclass(frozen=True, slots=True)
class Jurisdiction:
    """Where an agency may act: a whole province, some municipalities, or explicit H3 cells."""

    provinces: frozenset[str] = frozenset()
    municipalities: frozenset[str] = frozenset()
    cells: frozenset[str] = frozenset()

    def covers(self, province: str | None, municipality: str | None, cell: str | None) -> bool:
        """Whether a located thing lies inside; unlocated things lie inside no jurisdiction."""
        return bool(
            (province and province in self.provinces)
            or (municipality and municipality in self.municipalities)
            or (cell and cell in self.cells)
        )

    @property
    def is_empty(self) -> bool:
        return not (self.provinces or self.municipalities or self.cells)


@dataclass(frozen=True, slots=True)
class Agency:
    id: str
    name: str
    type: AgencyType
    jurisdiction: Jurisdiction


@dataclass(frozen=True, slots=True)
class Principal:
    """The authenticated caller as the access policy sees them."""

    user_id: str
    username: str
    roles: frozenset[Role]
    clearance: Clearance
    agency_id: str | None = None
    agency_type: AgencyType | None = None
    jurisdiction: Jurisdiction = field(default_factory=Jurisdiction)
    sharing_groups: frozenset[str] = frozenset()
    agency_name: str | None = None

    def has_role(self, *roles: Role) -> bool:
        return bool(self.roles.intersection(roles))

    @property
    def needs_totp(self) -> bool:
        return bool(self.roles - ROLES_WITHOUT_TOTP)


SYSTEM = Principal(
    user_id="system",
    username="system",
    roles=frozenset({Role.ADMIN}),
    clearance=Clearance.UNCLASSIFIED,
)
"""The actor recorded for changes made by the platform itself or the CLI."""
