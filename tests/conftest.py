"""Shared fixtures: a migrated database (SQLite and PostgreSQL where SQL differs, else one of
them), the platform, an API client, people who sign in."""

from __future__ import annotations

import dataclasses
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
from khusela.identity import directory, passwords, totp
from khusela.identity.model import SYSTEM, AgencyType, Clearance, Jurisdiction, Principal, Role
from khusela.store.database import Database
from khusela.store.migrate import upgrade
from khusela.store.schema import metadata
from tests.services import service_url, services_required

PASSWORD = "correct horse battery"
TEST_PASSWORD_PROFILE = dataclasses.replace(
    passwords.PRODUCTION_PROFILE, time_cost=1, memory_cost=8, parallelism=1
)

# Where SQL differs between the backends, tests run on both; elsewhere on one. These tests
# predate the `both_databases` marker (new tests take the marker instead of a line here).
BOTH_DATABASES = (
    "tests/integration/store/",  # migrations, time zones, the audit chain's row lock
    "tests/integration/bus/test_outbox.py",  # the inbox's insert-or-ignore claims
    "tests/integration/api/test_concurrency.py",  # many writers at once
    "tests/integration/intel/",  # need-to-know as SQL, full-text search, bulk federation inserts
    "tests/integration/panic/test_dispatch.py::test_two_operators_racing_for_one_unit",  # row locks
    "tests/integration/panic/test_channels_sms.py::test_unknown_numbers_join_on_both_databases",
    "tests/integration/panic/test_partner_link.py::test_offers_reports_and_delivery_claims_on_both_databases",
    "tests/integration/partners/test_agreements.py::test_an_outsider_sees_no_agreement",  # SQL filter
)

# A PostgreSQL database costs a TRUNCATE per test, SQLite a file copy; without the services
# a laptop runs the single-backend tests on SQLite, CI (services required) on PostgreSQL.
POSTGRES = pytest.param("postgres", marks=pytest.mark.postgres)


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--all-backends",
        action="store_true",
        help="run every test that takes a database on SQLite and PostgreSQL, not only those "
        "whose SQL differs between them",
    )


def pytest_configure(config: pytest.Config) -> None:
    """Cheap argon2 for the suite: every user a test creates and every sign-in would otherwise
    cost half a second. Production's profile is checked in tests/unit/identity/test_passwords.py."""
    passwords.use_profile(TEST_PASSWORD_PROFILE)


def _listed(nodeid: str, place: str) -> bool:
    """Whether `place` (a folder/, a file or a file::test) holds the test `nodeid`."""
    return nodeid.startswith(place if place.endswith("/") else place + "::") or nodeid == place


def needs_both_databases(definition: pytest.Function, all_backends: bool) -> bool:
    """Listed, marked `both_databases`, or the run asked for --all-backends."""
    return (
        all_backends
        or definition.get_closest_marker("both_databases") is not None
        or any(_listed(definition.nodeid, place) for place in BOTH_DATABASES)
    )


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Choose the `database` fixture's backends per test (see BOTH_DATABASES)."""
    if "database" not in metafunc.fixturenames:
        return
    if needs_both_databases(metafunc.definition, metafunc.config.getoption("all_backends")):
        backends: list[object] = ["sqlite", POSTGRES]
    else:
        backends = [POSTGRES if services_required() else "sqlite"]
    metafunc.parametrize("database", backends, indirect=True)


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
    """Empty every table and restart every sequence, as a fresh migration leaves them.

    DELETE, children first, rather than TRUNCATE: TRUNCATE gives each of the 80-odd tables
    new files, which took a second or two per test; the tests leave only a few rows."""
    with db.write() as conn:
        for table in reversed(metadata.sorted_tables):
            conn.execute(table.delete())
        sequences = conn.execute(text("SELECT schemaname, sequencename FROM pg_sequences")).all()
        for schema, name in sequences:
            conn.execute(text("SELECT setval(:seq, 1, false)"), {"seq": f'"{schema}"."{name}"'})
        conn.execute(text("INSERT INTO audit_head (id, seq, hash) VALUES (1, 0, :h)"), {"h": "0" * 64})


@pytest.fixture
def database(request: pytest.FixtureRequest, tmp_path: Path, sqlite_template: Path) -> Iterator[Database]:
    """A migrated, empty database on the backend `pytest_generate_tests` chose for the test."""
    backend = getattr(request, "param", "postgres" if services_required() else "sqlite")
    if backend == "sqlite":
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
