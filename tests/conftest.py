"""Shared fixtures: a migrated database on SQLite and PostgreSQL, the platform, an API client."""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.engine import make_url

from khusela.api.app import create_app
from khusela.bootstrap import Platform, bootstrap
from khusela.bus.adapters.inprocess import InProcessBus
from khusela.core.settings import Settings
from khusela.identity import directory, totp
from khusela.identity.model import SYSTEM, AgencyType, Clearance, Jurisdiction, Principal, Role
from khusela.store.database import Database
from khusela.store.migrate import upgrade
from khusela.store.schema import metadata
from tests.services import service_url

PASSWORD = "correct horse battery"


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One migrated SQLite file, copied for every test (migrating each time is slow)."""
    path = tmp_path_factory.mktemp("template") / "khusela.db"
    db = Database(f"sqlite:///{path}")
    upgrade(db)
    db.dispose()
    return path


@pytest.fixture(scope="session")
def pg_database_url() -> Iterator[str]:
    """A throw-away PostgreSQL database, migrated once for the session."""
    admin_url = make_url(service_url("postgres"))
    name = f"khusela_test_{uuid.uuid4().hex[:10]}"
    dsn = admin_url.set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    url = admin_url.set(database=name).render_as_string(hide_password=False)
    db = Database(url)
    upgrade(db)
    db.dispose()
    yield url
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _empty_pg(db: Database) -> None:
    tables = ", ".join(f'"{t.name}"' for t in metadata.sorted_tables)
    with db.write() as conn:
        conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
        conn.execute(text("INSERT INTO audit_head (id, seq, hash) VALUES (1, 0, :h)"), {"h": "0" * 64})


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database(request: pytest.FixtureRequest, tmp_path: Path, sqlite_template: Path) -> Iterator[Database]:
    """A migrated, empty database: the storage tests run on both backends through this."""
    if request.param == "sqlite":
        path = tmp_path / "khusela.db"
        shutil.copy(sqlite_template, path)
        db = Database(f"sqlite:///{path}")
    else:
        db = Database(request.getfixturevalue("pg_database_url"), pool_size=5)
        _empty_pg(db)
    yield db
    db.dispose()


@pytest.fixture
def sqlite_db(tmp_path: Path, sqlite_template: Path) -> Iterator[Database]:
    """SQLite only, for tests whose subject is not the storage backend."""
    path = tmp_path / "khusela.db"
    shutil.copy(sqlite_template, path)
    db = Database(f"sqlite:///{path}")
    yield db
    db.dispose()


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(environment="test", data_dir=tmp_path, rate_limit_per_minute=10_000)


@pytest.fixture
def platform(settings: Settings, sqlite_db: Database) -> Platform:
    return bootstrap(settings, db=sqlite_db, bus=InProcessBus())


@pytest.fixture
def client(platform: Platform) -> Iterator[TestClient]:
    with TestClient(create_app(platform)) as test_client:
        yield test_client


@dataclass(frozen=True)
class Person:
    principal: Principal
    password: str
    totp_secret: str | None

    @property
    def username(self) -> str:
        return self.principal.username

    def login_body(self) -> dict[str, str]:
        body = {"username": self.username, "password": self.password}
        if self.totp_secret:
            body["totp"] = totp.current_code(self.totp_secret)
        return body


class People:
    """Creates agencies and users in a database for a test."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self._agencies: dict[str, str] = {}

    def agency(
        self,
        name: str = "Gauteng Provincial Command Centre",
        type: AgencyType = AgencyType.PROVINCIAL_DEPARTMENT,
        where: Jurisdiction | None = None,
    ) -> str:
        if name not in self._agencies:
            with self.db.write() as conn:
                self._agencies[name] = directory.create_agency(
                    conn, SYSTEM, name, type, where or Jurisdiction(provinces=frozenset({"GP"}))
                ).id
        return self._agencies[name]

    def user(
        self,
        username: str,
        *roles: Role,
        agency_id: str | None = None,
        clearance: Clearance = Clearance.UNCLASSIFIED,
        phone: str | None = None,
    ) -> Person:
        staff = set(roles) != {Role.RESIDENT}
        home = (agency_id or self.agency()) if staff else None
        with self.db.write() as conn:
            created = directory.create_user(
                conn,
                SYSTEM,
                username=username,
                roles=roles,
                password=PASSWORD if staff else None,
                agency_id=home,
                clearance=clearance,
                phone=phone,
            )
        return Person(created.user, PASSWORD, created.totp_secret)


@pytest.fixture
def people(platform: Platform) -> People:
    return People(platform.db)


def bearer(client: TestClient, person: Person) -> dict[str, str]:
    response = client.post("/api/auth/login", json=person.login_body())
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}
