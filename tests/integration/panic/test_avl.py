"""Unit locations (AVL), on SQLite and PostgreSQL: a report moves the unit and is evented,
never audited; late and duplicate reports are ignored; bad ones refused; the API checks
who may move which unit."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from khusela.api.app import create_app
from khusela.audit.tables import audit_log
from khusela.bootstrap import Platform, bootstrap
from khusela.bus.adapters.inprocess import InProcessBus
from khusela.bus.tables import outbox
from khusela.core.clock import FrozenClock
from khusela.core.errors import InvalidInput, NotFound
from khusela.core.settings import Settings
from khusela.identity.model import SYSTEM, AgencyType, Jurisdiction, Role
from khusela.panic.avl import Freshness, freshness, location_age, report_location, usable
from khusela.panic.model import UnitKind
from khusela.panic.tables import units
from khusela.panic.units import register_unit
from khusela.store.database import Database
from tests.conftest import People, bearer

T0 = datetime(2026, 3, 2, 18, 0, tzinfo=UTC)
HILLBROW = (-26.1885, 28.0494)
PRETORIA = (-25.7479, 28.1878)
OUTSIDE = (-29.85, 31.02)  # Durban: outside the bundled gazetteer


@pytest.fixture
def db(database: Database) -> Database:
    return database


def new_unit(db: Database, agency_name: str = "SAPS Hillbrow") -> tuple[str, str]:
    agency = People(db).agency(
        agency_name, AgencyType.SAPS_STATION, Jurisdiction(provinces=frozenset({"GP"}))
    )
    with db.write() as conn:
        unit = register_unit(
            conn, SYSTEM, agency_id=agency, callsign="HB-1", kind=UnitKind.POLICE_VEHICLE, lat=-26.0, lon=28.0
        )
    return unit.id, agency


def row(db: Database, unit_id: str) -> dict[str, object]:
    with db.read() as conn:
        return dict(conn.execute(select(units).where(units.c.id == unit_id)).one()._mapping)


def counts(db: Database) -> tuple[int, int]:
    """(audit records, unit_changed events)."""
    with db.read() as conn:
        audits = conn.execute(select(func.count()).select_from(audit_log)).scalar_one()
        events = conn.execute(
            select(func.count()).select_from(outbox).where(outbox.c.subject == "panic.unit_changed")
        ).scalar_one()
    return int(audits), int(events)


def test_a_report_moves_the_unit_and_is_evented_but_not_audited(db: Database) -> None:
    unit_id, agency = new_unit(db)
    audits, events = counts(db)
    clock = FrozenClock(T0)
    with db.write() as conn:
        report_location(conn, "unit:HB-1", unit_id, *PRETORIA, 6.5, T0 - timedelta(seconds=3), clock=clock)
    moved = row(db, unit_id)
    assert (moved["lat"], moved["lon"]) == PRETORIA
    assert (moved["province"], moved["municipality"]) == ("GP", "TSH")
    assert isinstance(moved["cell"], str)
    assert moved["cell"].startswith("87")
    assert moved["location_at"] == T0 - timedelta(seconds=3)
    assert moved["status"] == "available"
    assert counts(db) == (audits, events + 1), "one event, no audit record"
    with db.read() as conn:
        body = conn.execute(select(outbox.c.body).order_by(outbox.c.id.desc()).limit(1)).scalar_one()
    payload = json.loads(body)["payload"]
    assert payload["unit_id"] == unit_id
    assert payload["agency_id"] == agency
    assert payload["change"] == "location"
    assert payload["accuracy_m"] == 6.5
    assert payload["reported_by"] == "unit:HB-1"
    assert payload["municipality"] == "TSH"


def test_late_and_repeated_reports_are_ignored(db: Database) -> None:
    unit_id, _ = new_unit(db)
    clock = FrozenClock(T0)
    with db.write() as conn:
        report_location(conn, "u", unit_id, *HILLBROW, None, T0, clock=clock)
    _, events = counts(db)
    with db.write() as conn:
        report_location(conn, "u", unit_id, *PRETORIA, None, T0 - timedelta(seconds=10), clock=clock)
        report_location(conn, "u", unit_id, *PRETORIA, None, T0, clock=clock)
    assert (row(db, unit_id)["lat"], row(db, unit_id)["lon"]) == HILLBROW
    assert counts(db)[1] == events
    clock.advance(seconds=5)
    with db.write() as conn:
        report_location(conn, "u", unit_id, *PRETORIA, None, T0 + timedelta(seconds=5), clock=clock)
    assert row(db, unit_id)["lat"] == PRETORIA[0]


def test_a_point_outside_known_municipalities_keeps_the_home_province(db: Database) -> None:
    unit_id, _ = new_unit(db)
    with db.write() as conn:
        report_location(conn, "u", unit_id, *OUTSIDE, None, T0, clock=FrozenClock(T0))
    moved = row(db, unit_id)
    assert (moved["province"], moved["municipality"]) == ("GP", None)
    assert moved["cell"] is not None


@pytest.mark.parametrize(
    ("lat", "lon", "accuracy", "at"),
    [
        (0.0, 0.0, None, T0),
        (95.0, 28.0, None, T0),
        (-26.0, 181.0, None, T0),
        (float("nan"), 28.0, None, T0),
        (-26.0, 28.0, -1.0, T0),
        (-26.0, 28.0, 1e9, T0),
        (-26.0, 28.0, None, T0.replace(tzinfo=None)),
        (-26.0, 28.0, None, T0 + timedelta(minutes=5)),
    ],
    ids=["null-island", "lat", "lon", "nan", "negative-accuracy", "huge-accuracy", "naive-time", "future"],
)
def test_bad_reports_are_refused(
    db: Database, lat: float, lon: float, accuracy: float | None, at: datetime
) -> None:
    unit_id, _ = new_unit(db)
    with pytest.raises(InvalidInput), db.write() as conn:
        report_location(conn, "u", unit_id, lat, lon, accuracy, at, clock=FrozenClock(T0))
    assert row(db, unit_id)["location_at"] is None


def test_a_slightly_fast_clock_is_taken_as_now(db: Database) -> None:
    unit_id, _ = new_unit(db)
    with db.write() as conn:
        report_location(
            conn, "u", unit_id, *HILLBROW, None, T0 + timedelta(seconds=20), clock=FrozenClock(T0)
        )
    assert row(db, unit_id)["location_at"] == T0


def test_an_unknown_unit_is_not_found(db: Database) -> None:
    with pytest.raises(NotFound), db.write() as conn:
        report_location(conn, "u", "no-such-unit", *HILLBROW, None, T0, clock=FrozenClock(T0))


def test_freshness_boundaries() -> None:
    assert freshness(None, T0) is Freshness.UNUSABLE
    assert location_age(None, T0) is None
    assert freshness(T0 - timedelta(seconds=59.9), T0) is Freshness.FRESH
    assert freshness(T0 - timedelta(seconds=60), T0) is Freshness.STALE
    assert freshness(T0 - timedelta(seconds=300), T0) is Freshness.STALE
    assert freshness(T0 - timedelta(seconds=300.1), T0) is Freshness.UNUSABLE
    assert freshness(T0 + timedelta(seconds=2), T0) is Freshness.FRESH, "a fast clock is not stale"
    assert location_age(T0.replace(tzinfo=None) - timedelta(seconds=5), T0) == timedelta(seconds=5)
    assert usable(T0 - timedelta(seconds=200), T0)
    assert not usable(T0 - timedelta(seconds=301), T0)


# --- through the API ----------------------------------------------------------------------


@pytest.fixture
def api(settings: Settings, database: Database) -> Iterator[tuple[Platform, TestClient]]:
    platform = bootstrap(settings, db=database, bus=InProcessBus())
    with TestClient(create_app(platform)) as client:
        yield platform, client


def test_responder_reports_their_own_units_only(api: tuple[Platform, TestClient]) -> None:
    platform, client = api
    unit_id, agency = new_unit(platform.db)
    people = People(platform.db)
    other = people.agency("Gauteng EMS", AgencyType.EMS)
    own = bearer(client, people.user("sipho", Role.RESPONDER, agency_id=agency))
    stranger = bearer(client, people.user("lerato", Role.RESPONDER, agency_id=other))
    operator = bearer(client, people.user("thandi", Role.OPERATOR))
    url = f"/api/panic/units/{unit_id}/location"
    fix = {"lat": PRETORIA[0], "lon": PRETORIA[1], "accuracy_m": 9.0}

    assert client.post(url, headers=stranger, json=fix).status_code == 404
    assert client.post(url, headers=operator, json=fix).status_code == 403
    assert client.post(url, json=fix).status_code == 401
    assert row(platform.db, unit_id)["location_at"] is None

    reported = client.post(url, headers=own, json=fix)
    assert reported.status_code == 204
    assert row(platform.db, unit_id)["municipality"] == "TSH"

    at = (datetime.now(UTC) - timedelta(minutes=10)).isoformat()
    late = client.post(url, headers=own, json={"lat": HILLBROW[0], "lon": HILLBROW[1], "at": at})
    assert late.status_code == 204, "accepted, and ignored: older than the stored position"
    assert row(platform.db, unit_id)["lat"] == PRETORIA[0]


@pytest.mark.parametrize(
    "body",
    [
        {"lat": 91, "lon": 28},
        {"lat": -26, "lon": 28, "accuracy_m": -3},
        {"lat": -26},
        {"lat": -26, "lon": 28, "speed": 40},
        {"lat": -26, "lon": 28, "at": "2026-03-02T18:00:00"},
        {"lat": 0, "lon": 0},
    ],
    ids=["lat", "accuracy", "missing-lon", "unknown-field", "naive-time", "null-island"],
)
def test_bad_bodies_are_refused(api: tuple[Platform, TestClient], body: dict[str, object]) -> None:
    platform, client = api
    unit_id, agency = new_unit(platform.db)
    own = bearer(client, People(platform.db).user("sipho", Role.RESPONDER, agency_id=agency))
    response = client.post(f"/api/panic/units/{unit_id}/location", headers=own, json=body)
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
