"""Shared set-up for the risk register tests: Gauteng's localities and officials of two cities."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fastapi.testclient import TestClient

from khusela.bootstrap import Platform
from khusela.demo.geodata import gauteng
from khusela.identity.model import AgencyType, Jurisdiction, Role
from khusela.risk import localities
from tests.conftest import People, bearer


@dataclass(frozen=True)
class Officials:
    joburg: dict[str, str]
    tshwane: dict[str, str]
    province: dict[str, str]
    """A provincial operator: reads every Gauteng entry, may edit none."""


def officials(client: TestClient, platform: Platform) -> Officials:
    with platform.db.write() as conn:
        localities.load_bundled(conn, gauteng())
    people = People(platform.db)
    jhb = people.agency(
        "City of Johannesburg", AgencyType.MUNICIPALITY, Jurisdiction(municipalities=frozenset({"JHB"}))
    )
    tsh = people.agency(
        "City of Tshwane", AgencyType.MUNICIPALITY, Jurisdiction(municipalities=frozenset({"TSH"}))
    )
    return Officials(
        joburg=bearer(client, people.user("mayor-jhb", Role.MUNICIPAL_OFFICIAL, agency_id=jhb)),
        tshwane=bearer(client, people.user("mayor-tsh", Role.MUNICIPAL_OFFICIAL, agency_id=tsh)),
        province=bearer(client, people.user("operator", Role.OPERATOR)),
    )


def entry(locality: str = "JHB", **extra: Any) -> dict[str, Any]:
    return {
        "locality_code": locality,
        "category": "illegal_mining",
        "title": "Illegal mining at the Riverlea shafts",
        "description": "Open shafts worked at night; explosions reported by the community.",
        "likelihood": 4,
        "impact": 4,
        "owner": "JMPD Public Safety",
        "mitigations": [{"action": "Seal the shafts with DMRE", "due": "2027-03-31", "status": "planned"}],
        "review_date": "2027-01-15",
        **extra,
    }
