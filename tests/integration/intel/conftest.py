"""An intel platform on SQLite and PostgreSQL, with three agencies and their people."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import insert

from khusela.api.app import create_app
from khusela.bootstrap import Platform, bootstrap
from khusela.bus.adapters.inprocess import InProcessBus
from khusela.core.ids import new_id
from khusela.core.settings import Settings
from khusela.identity import directory
from khusela.identity.model import AgencyType, Clearance, Jurisdiction, Principal, Role
from khusela.identity.sessions import token_digest
from khusela.identity.tables import access_tokens, user_roles, users
from khusela.store.database import Database
from tests.conftest import People

GP = Jurisdiction(provinces=frozenset({"GP"}))
JHB = Jurisdiction(municipalities=frozenset({"JHB"}))


def item_body(**changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "title": "Zama-zama syndicate moving gold through Riverlea",
        "body": "Informal miners at the disused shaft sell to a buyer in a white bakkie on Fridays.",
        "category": "illegal_mining",
        "tlp": "AMBER",
        "classification": "confidential",
        "source_grade": "B",
        "information_grade": 2,
        "handling": "P",
        "province": "GP",
        "municipality": "JHB",
    }
    body.update(changes)
    return body


@dataclass
class Desk:
    """The API and the people who use it, each with a signed-in header."""

    client: TestClient
    platform: Platform
    people: People
    ssa: str
    saps: str
    cpf: str
    auth: dict[str, dict[str, str]]
    users: dict[str, Principal]

    def submit(self, who: str, **changes: Any) -> dict[str, Any]:
        response = self.client.post("/api/intel/items", json=item_body(**changes), headers=self.auth[who])
        assert response.status_code == 201, response.text
        body: dict[str, Any] = response.json()
        return body

    def get(self, who: str, path: str, **params: Any) -> Any:
        return self.client.get(path, params=params, headers=self.auth[who])

    def visible(self, who: str) -> set[str]:
        response = self.get(who, "/api/intel/items", limit=200)
        assert response.status_code == 200, response.text
        return {i["id"] for i in response.json()}


@pytest.fixture
def intel_platform(database: Database, tmp_path: Path) -> Platform:
    settings = Settings(environment="test", data_dir=tmp_path, rate_limit_per_minute=100_000)
    return bootstrap(settings, db=database, bus=InProcessBus())


def staff(
    platform: Platform, name: str, role: Role, agency_id: str, clearance: Clearance
) -> tuple[Principal, str]:
    """A user and a bearer token, written straight to the identity tables: signing in through
    argon2 for every user of every test would cost most of the suite's time."""
    now = datetime.now(UTC)
    user_id = new_id()
    token = secrets.token_urlsafe(32)
    with platform.db.write() as conn:
        conn.execute(
            insert(users).values(
                id=user_id,
                username=name,
                display_name=name,
                password_hash="unused",
                agency_id=agency_id,
                clearance=int(clearance),
                is_active=True,
                created_at=now,
            )
        )
        conn.execute(insert(user_roles).values(user_id=user_id, role=role.value))
        conn.execute(
            insert(access_tokens).values(
                token_hash=token_digest(token, platform.login_policy.pepper),
                user_id=user_id,
                created_at=now,
                expires_at=now + timedelta(hours=1),
            )
        )
        principal = directory.load_principal(conn, user_id)
    assert principal is not None
    return principal, token


def sign_in(platform: Platform, principal: Principal) -> dict[str, str]:
    """A new token for `principal` (after a membership change: tokens' principals are cached)."""
    now = datetime.now(UTC)
    token = secrets.token_urlsafe(32)
    with platform.db.write() as conn:
        conn.execute(
            insert(access_tokens).values(
                token_hash=token_digest(token, platform.login_policy.pepper),
                user_id=principal.user_id,
                created_at=now,
                expires_at=now + timedelta(hours=1),
            )
        )
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def desk(intel_platform: Platform) -> Iterator[Desk]:
    people = People(intel_platform.db)
    ssa = people.agency("State Security Agency — Gauteng", AgencyType.SSA, GP)
    saps = people.agency("SAPS Crime Intelligence JHB", AgencyType.SAPS_STATION, GP)
    cpf = people.agency("Hillbrow CPF", AgencyType.CPF, JHB)
    muni = people.agency("City of Johannesburg", AgencyType.MUNICIPALITY, JHB)
    cast = {
        "sipho": (Role.INTEL_ANALYST, ssa, Clearance.SECRET),
        "lerato": (Role.INTEL_ANALYST, ssa, Clearance.RESTRICTED),
        "thabo": (Role.INTEL_ANALYST, saps, Clearance.SECRET),
        "naledi": (Role.COMMUNITY_PARTNER, cpf, Clearance.RESTRICTED),
        "mayor": (Role.MUNICIPAL_OFFICIAL, muni, Clearance.RESTRICTED),
        "operator": (Role.OPERATOR, saps, Clearance.SECRET),
    }
    users: dict[str, Principal] = {}
    auth: dict[str, dict[str, str]] = {}
    for name, (role, agency, clearance) in cast.items():
        users[name], token = staff(intel_platform, name, role, agency, clearance)
        auth[name] = {"Authorization": f"Bearer {token}"}
    with TestClient(create_app(intel_platform)) as client:
        yield Desk(client, intel_platform, people, ssa, saps, cpf, auth, users)
