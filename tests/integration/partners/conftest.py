"""Shared people and helpers for the partners tests."""

from __future__ import annotations

from khusela.identity.model import AgencyType, Clearance, Jurisdiction, Principal, Role

GP = Jurisdiction(provinces=frozenset({"GP"}))
JHB = Jurisdiction(municipalities=frozenset({"JHB"}))


def staff(agency_id: str, *roles: Role, where: Jurisdiction = GP, name: str = "staff") -> Principal:
    """A principal as the policy sees one (for calling module functions directly)."""
    return Principal(
        user_id=f"{name}-id",
        username=name,
        roles=frozenset(roles),
        clearance=Clearance.SECRET,
        agency_id=agency_id,
        agency_type=AgencyType.METRO_POLICE,
        jurisdiction=where,
        agency_name=name,
    )
