"""The operator's flow through the API, end to end, on SQLite and PostgreSQL: a resident's
alert, recommendations, dispatch, the responder's steps to resolved; and what is refused."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from functools import cached_property
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select, update

from khusela.api.app import create_app
from khusela.audit.tables import audit_log
from khusela.bootstrap import Platform, bootstrap
from khusela.bus.adapters.inprocess import InProcessBus
from khusela.bus.tables import outbox
from khusela.core.errors import Conflict
from khusela.core.settings import Settings
from khusela.demo.geodata import gauteng
from khusela.identity.model import SYSTEM, AgencyType, Jurisdiction, Principal, Role
from khusela.panic import avl, dispatch, records
from khusela.panic.intake import RaisePanicAlert, raise_alert
from khusela.panic.model import AlertType, Channel, UnitKind, UnitStatus
from khusela.panic.queries import timeline
from khusela.panic.tables import assignments, units
from khusela.panic.units import register_unit
from khusela.store.database import Database
from tests.conftest import People, Person, bearer

STATION = next(s for s in gauteng().stations if s.name == "Hillbrow")
SCENE = (STATION.lat + 0.003, STATION.lon + 0.003)
PRETORIA = (-25.7479, 28.1878)


def north(point: tuple[float, float], km: float) -> tuple[float, float]:
    return point[0] + km / 111.2, point[1]


class World:
    """A command centre, a SAPS station, EMS, a Tshwane security company, their people."""

    def __init__(self, platform: Platform, client: TestClient) -> None:
        self.platform, self.client = platform, client
        people = People(platform.db)
        self.people = people
        self.saps = people.agency(
            "SAPS Hillbrow", AgencyType.SAPS_STATION, Jurisdiction(cells=STATION.precinct)
        )
        self.ems = people.agency("Gauteng EMS", AgencyType.EMS, Jurisdiction(provinces=frozenset({"GP"})))
        self.guards = people.agency(
            "Tshwane Guards", AgencyType.PRIVATE_SECURITY, Jurisdiction(municipalities=frozenset({"TSH"}))
        )
        self.tmpd = people.agency(
            "Tshwane Metro Police", AgencyType.METRO_POLICE, Jurisdiction(municipalities=frozenset({"TSH"}))
        )
        self.resident = people.user("nomsa", Role.RESIDENT, phone="+27825550199")
        self._alerts = 0

    # People sign in only when a test needs them: each sign-in hashes a password.
    @cached_property
    def operator_person(self) -> Person:
        return self.people.user("thandi", Role.OPERATOR)

    @cached_property
    def operator_principal(self) -> Principal:
        return self.operator_person.principal

    @cached_property
    def operator(self) -> dict[str, str]:
        return bearer(self.client, self.operator_person)

    @cached_property
    def tshwane_operator(self) -> dict[str, str]:
        return bearer(self.client, self.people.user("pieter", Role.OPERATOR, agency_id=self.tmpd))

    @cached_property
    def saps_responder(self) -> dict[str, str]:
        return bearer(self.client, self.people.user("sipho", Role.RESPONDER, agency_id=self.saps))

    @cached_property
    def ems_responder(self) -> dict[str, str]:
        return bearer(self.client, self.people.user("lerato", Role.RESPONDER, agency_id=self.ems))

    def unit(
        self,
        callsign: str,
        kind: UnitKind,
        agency_id: str,
        where: tuple[float, float],
        *,
        age_s: float = 5,
    ) -> str:
        with self.platform.db.write() as conn:
            created = register_unit(
                conn, SYSTEM, agency_id=agency_id, callsign=callsign, kind=kind, lat=where[0], lon=where[1]
            )
            at = datetime.now(UTC) - timedelta(seconds=age_s)
            avl.report_location(conn, "test", created.id, where[0], where[1], 8.0, at)
        return created.id

    def alert(self, alert_type: AlertType = AlertType.CRIME, where: tuple[float, float] = SCENE) -> str:
        self._alerts += 1
        first = self._alerts == 1
        command = RaisePanicAlert(
            type=alert_type,
            channel=Channel.APP,
            sender=self.resident.principal.user_id if first else f"device:{self._alerts}",
            resident_id=self.resident.principal.user_id if first else None,
            lat=where[0],
            lon=where[1],
            accuracy_m=12.0,
        )
        with self.platform.db.write() as conn:
            return str(raise_alert(conn, command, self.platform.gazetteer).alert["id"])

    def recommend(self, alert_id: str, headers: dict[str, str] | None = None, **params: Any) -> Any:
        return self.client.get(
            f"/api/panic/alerts/{alert_id}/recommendations", headers=headers or self.operator, params=params
        )

    def dispatch(
        self, alert_id: str, unit_id: str, headers: dict[str, str] | None = None, **body: Any
    ) -> Any:
        return self.client.post(
            f"/api/panic/alerts/{alert_id}/dispatch",
            headers=headers or self.operator,
            json={"unit_id": unit_id, **body},
        )

    def step(
        self, assignment_id: str, headers: dict[str, str], status: str, outcome: str | None = None
    ) -> Any:
        body: dict[str, Any] = {"status": status}
        if outcome is not None:
            body["outcome"] = outcome
        return self.client.post(f"/api/panic/assignments/{assignment_id}/status", headers=headers, json=body)

    def alert_row(self, alert_id: str) -> records.Alert:
        with self.platform.db.read() as conn:
            return records.load(conn, alert_id)

    def unit_status(self, unit_id: str) -> str:
        with self.platform.db.read() as conn:
            return str(conn.execute(select(units.c.status).where(units.c.id == unit_id)).scalar_one())


@pytest.fixture
def platform_on_both(settings: Settings, database: Database) -> Platform:
    return bootstrap(settings, db=database, bus=InProcessBus())


@pytest.fixture
def world(platform_on_both: Platform) -> Iterator[World]:
    with TestClient(create_app(platform_on_both)) as client:
        yield World(platform_on_both, client)


def test_operator_dispatches_the_best_unit_and_the_responder_resolves(world: World) -> None:
    near = world.unit("HB-1", UnitKind.POLICE_VEHICLE, world.saps, north(SCENE, 0.4))
    world.unit("HB-2", UnitKind.POLICE_VEHICLE, world.saps, north(SCENE, 2.5))
    world.unit("AMB-1", UnitKind.AMBULANCE, world.ems, north(SCENE, 0.2))
    world.unit("TG-1", UnitKind.SECURITY_VEHICLE, world.guards, north(SCENE, 0.1))
    alert_id = world.alert(AlertType.CRIME)

    found = world.recommend(alert_id)
    assert found.status_code == 200, found.text
    body = found.json()
    assert body["router"] == "straight_line"
    assert [u["callsign"] for u in body["units"]] == ["HB-1", "HB-2"], "no ambulance, no out-of-area guards"
    top = body["units"][0]
    assert top["unit_id"] == near
    assert top["freshness"] == "fresh"
    assert top["eta_seconds"] == pytest.approx(400 * 1.4 / (60 / 3.6), rel=0.05)

    sent = world.dispatch(alert_id, top["unit_id"])
    assert sent.status_code == 201, sent.text
    assignment = sent.json()
    assert assignment["status"] == "assigned"
    assert assignment["eta_seconds"] == pytest.approx(top["eta_seconds"], abs=2)
    alert = world.alert_row(alert_id)
    assert alert["status"] == "dispatched"
    assert alert["assigned_agency_id"] == world.saps
    assert alert["dispatched_at"] is not None
    assert alert["acknowledged_at"] is not None
    assert world.unit_status(near) == "assigned"

    mine = world.client.get("/api/panic/assignments", headers=world.saps_responder, params={"mine": "true"})
    assert mine.status_code == 200
    [job] = mine.json()
    assert job["id"] == assignment["id"]
    assert (job["lat"], job["lon"]) == pytest.approx(SCENE)
    assert job["navigation_uri"] == f"geo:{SCENE[0]:.6f},{SCENE[1]:.6f}"
    assert job["map_url"].startswith("https://www.openstreetmap.org/directions?route=")

    for status, alert_status, unit_status in [
        ("acknowledged", "dispatched", "assigned"),
        ("en_route", "en_route", "en_route"),
        ("on_scene", "on_scene", "on_scene"),
    ]:
        moved = world.step(assignment["id"], world.saps_responder, status)
        assert moved.status_code == 200, moved.text
        assert moved.json()["status"] == status
        assert moved.json()[f"{status}_at"] is not None
        assert world.alert_row(alert_id)["status"] == alert_status
        assert world.unit_status(near) == unit_status

    done = world.step(assignment["id"], world.saps_responder, "resolved", "attended")
    assert done.status_code == 200, done.text
    assert done.json()["outcome"] == "attended"
    assert done.json()["cleared_at"] is not None
    alert = world.alert_row(alert_id)
    assert (alert["status"], alert["outcome"]) == ("resolved", "attended")
    assert alert["on_scene_at"] is not None
    assert alert["closed_at"] is not None
    assert world.unit_status(near) == "available"
    assert (
        world.client.get(
            "/api/panic/assignments", headers=world.saps_responder, params={"mine": "true"}
        ).json()
        == []
    )

    with world.platform.db.read() as conn:
        kinds = [t["kind"] for t in timeline(conn, alert_id)]
        audited = [
            r.action
            for r in conn.execute(
                select(audit_log.c.action).where(audit_log.c.object_id == alert_id).order_by(audit_log.c.seq)
            )
        ]
        events = conn.execute(select(outbox.c.subject, outbox.c.body).order_by(outbox.c.id)).all()
    steps = ["unit_dispatched", "unit_acknowledged", "unit_en_route", "unit_on_scene", "unit_resolved"]
    assert kinds == ["raised", *steps]
    assert audited == ["panic.raise", *(f"panic.{s}" for s in steps)]
    alert_changes = [e.body for e in events if e.subject == "panic.alert_changed"]
    assert len(alert_changes) == 5
    assert sum(1 for e in events if e.subject == "panic.unit_changed" and near in e.body) >= 6

    closed = world.recommend(alert_id)
    assert closed.status_code == 409


def test_wrong_steps_are_refused(world: World) -> None:
    unit_id = world.unit("HB-1", UnitKind.POLICE_VEHICLE, world.saps, north(SCENE, 1))
    alert_id = world.alert()
    assignment = world.dispatch(alert_id, unit_id).json()["id"]

    skipped = world.step(assignment, world.saps_responder, "on_scene")
    assert skipped.status_code == 409
    assert skipped.headers["content-type"] == "application/problem+json"
    assert world.step(assignment, world.saps_responder, "resolved", "attended").status_code == 409
    assert world.step(assignment, world.saps_responder, "resolved").status_code == 422, "needs an outcome"
    assert world.step(assignment, world.saps_responder, "acknowledged", "attended").status_code == 422
    assert world.step(assignment, world.saps_responder, "assigned").status_code == 422
    assert world.step(assignment, world.saps_responder, "teleported").status_code == 422
    assert world.step(assignment, world.saps_responder, "acknowledged").status_code == 200
    again = world.step(assignment, world.saps_responder, "acknowledged")
    assert again.status_code == 200, "a retried step is answered, not refused"
    assert world.step(assignment, world.saps_responder, "en_route").status_code == 200
    assert world.step(assignment, world.saps_responder, "acknowledged").status_code == 409, "never back"
    extra = world.client.post(
        f"/api/panic/assignments/{assignment}/status",
        headers=world.saps_responder,
        json={"status": "on_scene", "note": "x"},
    )
    assert extra.status_code == 422


def test_others_may_not_act_on_the_assignment(world: World) -> None:
    unit_id = world.unit("HB-1", UnitKind.POLICE_VEHICLE, world.saps, north(SCENE, 1))
    alert_id = world.alert()
    assignment = world.dispatch(alert_id, unit_id).json()["id"]

    assert world.step(assignment, world.ems_responder, "acknowledged").status_code == 404
    assert world.step(assignment, world.operator, "acknowledged").status_code == 404, (
        "operators stand down only"
    )
    assert world.step("no-such-assignment", world.saps_responder, "acknowledged").status_code == 404
    other = world.client.get("/api/panic/assignments", headers=world.ems_responder, params={"mine": "true"})
    assert other.json() == []
    assert world.recommend(alert_id, world.saps_responder).status_code == 403, "responders do not dispatch"
    assert world.recommend(alert_id, world.tshwane_operator).status_code == 404, "outside their jurisdiction"
    assert world.dispatch(alert_id, unit_id, world.tshwane_operator).status_code == 404
    assert world.client.get(f"/api/panic/alerts/{alert_id}/recommendations").status_code == 401
    board = world.client.get("/api/panic/assignments", headers=world.operator)
    assert [a["id"] for a in board.json()] == [assignment]


def test_operator_stands_a_unit_down(world: World) -> None:
    unit_id = world.unit("HB-1", UnitKind.POLICE_VEHICLE, world.saps, north(SCENE, 1))
    alert_id = world.alert()
    assignment = world.dispatch(alert_id, unit_id).json()["id"]
    assert world.step(assignment, world.saps_responder, "cancelled").status_code == 404
    stood_down = world.step(assignment, world.operator, "cancelled")
    assert stood_down.status_code == 200
    assert stood_down.json()["status"] == "cancelled"
    assert world.unit_status(unit_id) == "available"
    assert world.step(assignment, world.saps_responder, "acknowledged").status_code == 409


def test_a_busy_unit_needs_an_explicit_redispatch(world: World) -> None:
    unit_id = world.unit("HB-1", UnitKind.POLICE_VEHICLE, world.saps, north(SCENE, 1))
    first, second = world.alert(), world.alert(where=north(SCENE, 2))
    old = world.dispatch(first, unit_id).json()["id"]
    assert world.dispatch(first, unit_id, redispatch=True).status_code == 409, "already on this alert"
    busy = world.dispatch(second, unit_id)
    assert busy.status_code == 409
    assert "re-dispatch" in busy.json()["detail"]
    moved = world.dispatch(second, unit_id, redispatch=True)
    assert moved.status_code == 201
    with world.platform.db.read() as conn:
        old_row = conn.execute(select(assignments).where(assignments.c.id == old)).one()
        first_kinds = [t["kind"] for t in timeline(conn, first)]
    assert old_row.status == "cancelled"
    assert old_row.cleared_at is not None
    assert first_kinds[-1] == "unit_redispatched"
    assert world.unit_status(unit_id) == "assigned"


def test_off_duty_and_out_of_area_units_are_refused(world: World) -> None:
    off = world.unit("HB-9", UnitKind.POLICE_VEHICLE, world.saps, north(SCENE, 1))
    guard = world.unit("TG-1", UnitKind.SECURITY_VEHICLE, world.guards, north(SCENE, 0.2))
    with world.platform.db.write() as conn:
        conn.execute(update(units).where(units.c.id == off).values(status=UnitStatus.OFF_DUTY.value))
    alert_id = world.alert()
    assert world.dispatch(alert_id, off, redispatch=True).status_code == 409
    assert world.dispatch(alert_id, guard).status_code == 403, "contracted for Tshwane only"
    assert world.dispatch(alert_id, "no-such-unit").status_code == 404
    assert world.dispatch("no-such-alert", guard).status_code == 404
    assert world.alert_row(alert_id)["status"] == "new", "nothing changed"


def test_medical_alert_recommends_ambulances_only(world: World) -> None:
    world.unit("HB-1", UnitKind.POLICE_VEHICLE, world.saps, north(SCENE, 0.1))
    world.unit("AMB-1", UnitKind.AMBULANCE, world.ems, north(SCENE, 4))
    world.unit("AMB-2", UnitKind.AMBULANCE, world.ems, north(SCENE, 1.5))
    alert_id = world.alert(AlertType.MEDICAL)
    found = world.recommend(alert_id).json()["units"]
    assert [(u["callsign"], u["kind"], u["need"]) for u in found] == [
        ("AMB-2", "ambulance", "medical"),
        ("AMB-1", "ambulance", "medical"),
    ]


def test_accident_recommends_police_and_an_ambulance(world: World) -> None:
    for n in range(3):
        world.unit(f"HB-{n}", UnitKind.POLICE_VEHICLE, world.saps, north(SCENE, 0.2 + n * 0.1))
    world.unit("AMB-1", UnitKind.AMBULANCE, world.ems, north(SCENE, 6))
    alert_id = world.alert(AlertType.ACCIDENT)
    found = world.recommend(alert_id, limit=2).json()["units"]
    assert [u["callsign"] for u in found] == ["HB-0", "AMB-1"]


def test_stale_units_are_flagged_and_old_positions_not_used(world: World) -> None:
    world.unit("OLD", UnitKind.AMBULANCE, world.ems, north(SCENE, 0.1), age_s=400)
    world.unit("STALE", UnitKind.AMBULANCE, world.ems, north(SCENE, 0.5), age_s=120)
    world.unit("FRESH", UnitKind.AMBULANCE, world.ems, north(SCENE, 3), age_s=2)
    alert_id = world.alert(AlertType.MEDICAL)
    found = world.recommend(alert_id).json()["units"]
    assert [(u["callsign"], u["freshness"]) for u in found] == [("STALE", "stale"), ("FRESH", "fresh")]
    assert found[0]["location_age_seconds"] >= 120


def test_recommendations_follow_units_as_they_move_and_get_busy(world: World) -> None:
    a = world.unit("HB-1", UnitKind.POLICE_VEHICLE, world.saps, north(SCENE, 1))
    b = world.unit("HB-2", UnitKind.POLICE_VEHICLE, world.saps, north(SCENE, 3))
    first = world.alert()
    assert [u["unit_id"] for u in world.recommend(first).json()["units"]] == [a, b]
    moved = world.client.post(
        f"/api/panic/units/{b}/location",
        headers=world.saps_responder,
        json={"lat": SCENE[0], "lon": SCENE[1] + 0.001, "accuracy_m": 5},
    )
    assert moved.status_code == 204
    assert [u["unit_id"] for u in world.recommend(first).json()["units"]] == [b, a]
    assert world.dispatch(first, b).status_code == 201
    second = world.alert(where=north(SCENE, 0.5))
    assert [u["unit_id"] for u in world.recommend(second).json()["units"]] == [a]


def test_a_routing_service_that_is_down_falls_back_to_straight_line(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # nothing listens here once the socket closes
    monkeypatch.setenv("KHUSELA_ROUTING_URL", f"http://127.0.0.1:{port}")
    unit_id = world.unit("HB-1", UnitKind.POLICE_VEHICLE, world.saps, north(SCENE, 1))
    found = world.recommend(world.alert())
    assert found.status_code == 200
    body = found.json()
    assert (body["router"], body["routing_fallback"]) == ("straight_line", True)
    assert [(u["unit_id"], u["eta_source"]) for u in body["units"]] == [(unit_id, "straight_line")]


def test_an_unlocated_alert_cannot_be_recommended_for(world: World) -> None:
    with world.platform.db.write() as conn:
        command = RaisePanicAlert(
            type=AlertType.CRIME, channel=Channel.USSD, sender="ussd:1", location_text="Spar"
        )
        alert_id = str(raise_alert(conn, command, world.platform.gazetteer).alert["id"])
    response = world.recommend(alert_id)
    assert response.status_code == 409
    assert "location" in response.json()["detail"]


def test_closing_an_alert_releases_its_units(world: World) -> None:
    a = world.unit("HB-1", UnitKind.POLICE_VEHICLE, world.saps, north(SCENE, 1))
    b = world.unit("AMB-1", UnitKind.AMBULANCE, world.ems, north(SCENE, 2))
    alert_id = world.alert(AlertType.ACCIDENT)
    for unit_id in (a, b):
        assert world.dispatch(alert_id, unit_id).status_code == 201
    with world.platform.db.write() as conn:
        alert = records.load(conn, alert_id, for_update=True)
        now = datetime.now(UTC)
        closed = records.change(
            conn,
            alert,
            {"status": "cancelled", "closed_at": now},
            actor="nomsa",
            kind="cancelled",
            at=now,
            subject="panic.alert_changed",
        )
        released = dispatch.release_units(conn, closed, "nomsa", now)
    assert {r["unit_id"] for r in released} == {a, b}
    assert {r["status"] for r in released} == {"cancelled"}
    assert world.unit_status(a) == world.unit_status(b) == "available"


def test_two_operators_racing_for_one_unit(platform_on_both: Platform) -> None:
    """Both dispatch the same unit to different alerts at once: exactly one wins."""
    with TestClient(create_app(platform_on_both)) as client:
        world = World(platform_on_both, client)
        unit_id = world.unit("HB-1", UnitKind.POLICE_VEHICLE, world.saps, north(SCENE, 1))
        alerts = [world.alert(), world.alert(where=north(SCENE, 1))]
        operator = world.operator_principal
    outcomes: list[str] = []
    barrier = threading.Barrier(2)

    def race(alert_id: str) -> None:
        barrier.wait()
        try:
            with platform_on_both.db.write() as conn:
                dispatch.dispatch(conn, operator, alert_id, unit_id)
            outcomes.append("dispatched")
        except Conflict:
            outcomes.append("conflict")

    threads = [threading.Thread(target=race, args=(a,)) for a in alerts]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert sorted(outcomes) == ["conflict", "dispatched"]
    with platform_on_both.db.read() as conn:
        count = conn.execute(select(func.count()).select_from(assignments)).scalar_one()
    assert count == 1
