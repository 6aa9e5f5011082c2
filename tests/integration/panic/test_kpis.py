"""Response-time figures on SQLite and PostgreSQL: known timings in, known p50/p90 and
15-second shares out, per station, municipality and partner, through the policy; CSV."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update

from khusela.api.app import create_app
from khusela.bootstrap import Platform, bootstrap
from khusela.bus.adapters.inprocess import InProcessBus
from khusela.core.clock import FrozenClock
from khusela.core.errors import InvalidInput
from khusela.core.gazetteer import BundledGazetteer
from khusela.core.settings import Settings
from khusela.demo.geodata import gauteng
from khusela.identity.model import SYSTEM, AgencyType, Jurisdiction, Principal, Role
from khusela.panic.dispatch import AssignmentStatus, dispatch, move_assignment
from khusela.panic.intake import RaisePanicAlert, raise_alert
from khusela.panic.kpis import GroupBy, GroupFigures, KpiReport, percentile, response_times
from khusela.panic.model import AlertType, Channel, Outcome, UnitKind
from khusela.panic.tables import alerts
from khusela.panic.units import register_unit
from khusela.store.database import Database
from tests.conftest import People, bearer

T0 = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
NOW = T0 + timedelta(hours=3)
SINCE, UNTIL = T0 - timedelta(days=1), T0 + timedelta(days=1)
STATION = next(s for s in gauteng().stations if s.name == "Hillbrow")
HILLBROW = (STATION.lat + 0.003, STATION.lon + 0.003)
PRETORIA = (-25.7479, 28.1878)


def at(seconds: float) -> FrozenClock:
    return FrozenClock(T0 + timedelta(seconds=seconds))


@dataclass
class Deployment:
    db: Database
    people: People
    operator: Principal
    saps: str
    ems: str
    tmpd: str
    alerts: dict[str, str]


def raise_at(db: Database, seconds: float, where: tuple[float, float], alert_type: AlertType, n: int) -> str:
    command = RaisePanicAlert(
        type=alert_type, channel=Channel.APP, sender=f"device:{n}", lat=where[0], lon=where[1]
    )
    with db.write() as conn:
        return str(raise_alert(conn, command, BundledGazetteer(), at(seconds)).alert["id"])


def step(db: Database, actor: Principal, assignment: str, seconds: float, status: AssignmentStatus) -> None:
    outcome = Outcome.ATTENDED if status is AssignmentStatus.RESOLVED else None
    with db.write() as conn:
        move_assignment(conn, actor, assignment, status, outcome, clock=at(seconds))


def send(db: Database, operator: Principal, alert_id: str, unit_id: str, seconds: float) -> str:
    with db.write() as conn:
        return str(dispatch(conn, operator, alert_id, unit_id, clock=at(seconds))["id"])


def deploy(db: Database) -> Deployment:
    """Six alerts with known timings (seconds after T0):

    A1 Hillbrow: raised 0, SAPS dispatched 10, acknowledged by the unit 14, on scene 310.
    A2 Hillbrow: raised 1000, SAPS dispatched 1020, acknowledged 1028, on scene 1620.
    A3 Pretoria: raised 2000, never answered (a miss by NOW).
    A4 Hillbrow: raised 2100, cancelled by the resident before anyone answered (abandoned).
    A5 Hillbrow (medical): raised 2200, EMS dispatched 2230, the crew has not acknowledged.
    A6 Hillbrow: raised 40 days earlier, outside the period.
    """
    people = People(db)
    saps = people.agency("SAPS Hillbrow", AgencyType.SAPS_STATION, Jurisdiction(cells=STATION.precinct))
    ems = people.agency("Gauteng EMS", AgencyType.EMS, Jurisdiction(provinces=frozenset({"GP"})))
    tmpd = people.agency(
        "Tshwane Metro Police", AgencyType.METRO_POLICE, Jurisdiction(municipalities=frozenset({"TSH"}))
    )
    operator = people.user("thandi", Role.OPERATOR).principal
    crew = people.user("sipho", Role.RESPONDER, agency_id=saps).principal
    with db.write() as conn:
        police = register_unit(
            conn,
            SYSTEM,
            agency_id=saps,
            callsign="HB-1",
            kind=UnitKind.POLICE_VEHICLE,
            lat=HILLBROW[0],
            lon=HILLBROW[1],
        ).id
        ambulance = register_unit(
            conn,
            SYSTEM,
            agency_id=ems,
            callsign="AMB-1",
            kind=UnitKind.AMBULANCE,
            lat=HILLBROW[0],
            lon=HILLBROW[1],
        ).id
    ids: dict[str, str] = {}
    ids["A1"] = raise_at(db, 0, HILLBROW, AlertType.CRIME, 1)
    a1 = send(db, operator, ids["A1"], police, 10)
    for seconds, status in [(14, "acknowledged"), (20, "en_route"), (310, "on_scene"), (900, "resolved")]:
        step(db, crew, a1, seconds, AssignmentStatus(status))
    ids["A2"] = raise_at(db, 1000, HILLBROW, AlertType.CRIME, 2)
    a2 = send(db, operator, ids["A2"], police, 1020)
    for seconds, status in [(1028, "acknowledged"), (1100, "en_route"), (1620, "on_scene")]:
        step(db, crew, a2, seconds, AssignmentStatus(status))
    ids["A3"] = raise_at(db, 2000, PRETORIA, AlertType.CRIME, 3)
    ids["A4"] = raise_at(db, 2100, HILLBROW, AlertType.CRIME, 4)
    with db.write() as conn:
        conn.execute(update(alerts).where(alerts.c.id == ids["A4"]).values(status="cancelled", closed_at=T0))
    ids["A5"] = raise_at(db, 2200, HILLBROW, AlertType.MEDICAL, 5)
    send(db, operator, ids["A5"], ambulance, 2230)
    ids["A6"] = raise_at(db, -40 * 86400, HILLBROW, AlertType.CRIME, 6)
    return Deployment(db, people, operator, saps, ems, tmpd, ids)


@pytest.fixture
def deployment(database: Database) -> Deployment:
    return deploy(database)


def report(d: Deployment, by: GroupBy, viewer: Principal | None = None) -> KpiReport:
    with d.db.read() as conn:
        return response_times(conn, viewer or d.operator, since=SINCE, until=UNTIL, group_by=by, now=NOW)


def by_key(r: KpiReport) -> dict[str | None, GroupFigures]:
    return {g.key: g for g in r.groups}


def test_per_station(deployment: Deployment) -> None:
    r = report(deployment, GroupBy.STATION)
    groups = by_key(r)
    assert set(groups) == {deployment.saps, deployment.ems, None}
    saps = groups[deployment.saps]
    assert saps.label == "SAPS Hillbrow"
    assert saps.count == 2
    assert (saps.to_acknowledge.p50_s, saps.to_acknowledge.p90_s) == pytest.approx((15.0, 19.0))
    assert (saps.to_dispatch.p50_s, saps.to_dispatch.p90_s) == pytest.approx((15.0, 19.0))
    assert (saps.to_on_scene.count, saps.to_on_scene.p50_s, saps.to_on_scene.p90_s) == (2, 465.0, 589.0)
    assert (saps.answerable, saps.answered_within_target, saps.answered_share) == (2, 1, 0.5)
    assert saps.meets_target is False
    ems = groups[deployment.ems]
    assert (ems.count, ems.to_acknowledge.p50_s, ems.to_on_scene.count, ems.to_on_scene.p50_s) == (
        1,
        30.0,
        0,
        None,
    )
    unassigned = groups[None]
    assert unassigned.label == "(not assigned)"
    assert (unassigned.count, unassigned.answerable, unassigned.answered_within_target) == (2, 1, 0)
    overall = r.overall
    assert overall.count == 5, "A6 lies outside the period"
    assert (overall.to_acknowledge.count, overall.to_acknowledge.p50_s) == (3, 20.0)
    assert overall.to_acknowledge.p90_s == pytest.approx(28.0)
    assert (overall.answerable, overall.answered_within_target, overall.answered_share) == (4, 1, 0.25)
    assert (r.target_seconds, r.target_share) == (15.0, 0.9)


def test_per_municipality(deployment: Deployment) -> None:
    groups = by_key(report(deployment, GroupBy.MUNICIPALITY))
    assert set(groups) == {"JHB", "TSH"}
    assert groups["JHB"].label == "City of Johannesburg Metropolitan Municipality"
    assert (groups["JHB"].count, groups["JHB"].answerable) == (4, 3)
    assert (groups["TSH"].count, groups["TSH"].answered_share, groups["TSH"].meets_target) == (1, 0.0, False)


def test_per_partner(deployment: Deployment) -> None:
    groups = by_key(report(deployment, GroupBy.PARTNER))
    saps, ems = groups[deployment.saps], groups[deployment.ems]
    assert saps.count == 2, "one sample per assignment"
    assert (saps.to_acknowledge.p50_s, saps.to_acknowledge.p90_s) == pytest.approx((6.0, 7.6))
    assert (saps.to_dispatch.p50_s, saps.to_on_scene.p90_s) == pytest.approx((15.0, 589.0))
    assert (saps.answered_share, saps.meets_target) == (1.0, True)
    assert (ems.count, ems.to_acknowledge.count, ems.answerable, ems.answered_within_target) == (1, 0, 1, 0)
    assert ems.to_dispatch.p50_s == 30.0


def test_figures_follow_the_viewers_jurisdiction(deployment: Deployment) -> None:
    tshwane = deployment.people.user("pieter", Role.OPERATOR, agency_id=deployment.tmpd).principal
    only_tsh = report(deployment, GroupBy.MUNICIPALITY, tshwane)
    assert [g.key for g in only_tsh.groups] == ["TSH"]
    assert only_tsh.overall.count == 1
    oversight = deployment.people.user("zanele", Role.OVERSIGHT, agency_id=deployment.tmpd).principal
    assert report(deployment, GroupBy.MUNICIPALITY, oversight).overall.count == 5
    responder = deployment.people.user("sipho2", Role.RESPONDER, agency_id=deployment.saps).principal
    assert report(deployment, GroupBy.STATION, responder).overall.count == 0


def test_the_period_is_checked(deployment: Deployment) -> None:
    with deployment.db.read() as conn, pytest.raises(InvalidInput):
        response_times(conn, deployment.operator, since=UNTIL, until=SINCE, group_by=GroupBy.STATION, now=NOW)
    with deployment.db.read() as conn, pytest.raises(InvalidInput):
        response_times(
            conn,
            deployment.operator,
            since=SINCE - timedelta(days=400),
            until=UNTIL,
            group_by=GroupBy.STATION,
            now=NOW,
        )
    with deployment.db.read() as conn:
        older = response_times(
            conn,
            deployment.operator,
            since=T0 - timedelta(days=41),
            until=T0 - timedelta(days=39),
            group_by=GroupBy.STATION,
            now=NOW,
        )
    assert older.overall.count == 1


def test_percentile_interpolates_between_ranks() -> None:
    assert percentile([], 50) is None
    assert percentile([7.0], 90) == 7.0
    assert percentile([10.0, 20.0], 50) == 15.0
    assert percentile([1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0], 90) == pytest.approx(9.1)


# --- through the API ----------------------------------------------------------------------


@pytest.fixture
def api(settings: Settings, database: Database) -> Iterator[tuple[Platform, TestClient, Deployment]]:
    platform = bootstrap(settings, db=database, bus=InProcessBus())
    d = deploy(database)
    with TestClient(create_app(platform)) as client:
        yield platform, client, d


PERIOD = {"since": SINCE.isoformat(), "until": UNTIL.isoformat()}


def test_kpis_as_json_and_csv(api: tuple[Platform, TestClient, Deployment]) -> None:
    _, client, d = api
    oversight = bearer(client, d.people.user("zanele", Role.OVERSIGHT, agency_id=d.tmpd))
    figures = client.get("/api/panic/kpis", headers=oversight, params={**PERIOD, "group_by": "municipality"})
    assert figures.status_code == 200, figures.text
    body = figures.json()
    assert body["group_by"] == "municipality"
    assert [g["key"] for g in body["groups"]] == ["JHB", "TSH"]
    assert body["overall"]["answered_share"] == 0.25
    assert body["overall"]["to_acknowledge"] == {"count": 3, "p50_s": 20.0, "p90_s": pytest.approx(28.0)}

    exported = client.get("/api/panic/kpis.csv", headers=oversight, params=PERIOD)
    assert exported.status_code == 200
    assert exported.headers["content-type"].startswith("text/csv")
    assert exported.headers["content-disposition"].startswith("attachment; filename=")
    rows = list(csv.DictReader(io.StringIO(exported.text)))
    assert [r["label"] for r in rows] == ["(not assigned)", "SAPS Hillbrow", "Gauteng EMS", "all"]
    saps = rows[1]
    assert (saps["acknowledge_p50_s"], saps["acknowledge_p90_s"], saps["on_scene_p50_s"]) == (
        "15.0",
        "19.0",
        "465.0",
    )
    assert (saps["acknowledged_within_15s_share"], saps["meets_target"]) == ("0.5000", "false")
    assert rows[-1]["group"] == "(all)"


def test_kpis_need_kpi_read_and_a_sane_period(api: tuple[Platform, TestClient, Deployment]) -> None:
    _, client, d = api
    responder = bearer(client, d.people.user("sipho2", Role.RESPONDER, agency_id=d.saps))
    assert client.get("/api/panic/kpis", headers=responder).status_code == 403
    assert client.get("/api/panic/kpis.csv").status_code == 401
    operator = bearer(client, d.people.user("thandi2", Role.OPERATOR))
    backwards = client.get(
        "/api/panic/kpis", headers=operator, params={"since": UNTIL.isoformat(), "until": SINCE.isoformat()}
    )
    assert backwards.status_code == 422
    assert client.get("/api/panic/kpis", headers=operator, params={"group_by": "planet"}).status_code == 422
    assert client.get("/api/panic/kpis", headers=operator).status_code == 200, "default: the last 30 days"


def test_csv_cells_cannot_become_spreadsheet_formulas(api: tuple[Platform, TestClient, Deployment]) -> None:
    platform, client, d = api
    rogue = d.people.agency(
        '=HYPERLINK("http://x","y")', AgencyType.EMS, Jurisdiction(provinces=frozenset({"GP"}))
    )
    with platform.db.write() as conn:
        unit = register_unit(
            conn,
            SYSTEM,
            agency_id=rogue,
            callsign="R-1",
            kind=UnitKind.AMBULANCE,
            lat=HILLBROW[0],
            lon=HILLBROW[1],
        ).id
    alert = raise_at(platform.db, 3000, HILLBROW, AlertType.MEDICAL, 7)
    send(platform.db, d.operator, alert, unit, 3005)
    operator = bearer(client, d.people.user("thandi2", Role.OPERATOR))
    exported = client.get("/api/panic/kpis.csv", headers=operator, params={**PERIOD, "group_by": "partner"})
    labels = [r["label"] for r in csv.DictReader(io.StringIO(exported.text))]
    assert '\'=HYPERLINK("http://x","y")' in labels
    assert not any(label.startswith("=") for label in labels)
