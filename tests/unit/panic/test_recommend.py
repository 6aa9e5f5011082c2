"""Nearest-unit recommendation: the index against brute force, the rules, staleness and
the routing port (OSRM against a small local server speaking its table format)."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from khusela.identity.model import AgencyType, Jurisdiction
from khusela.panic.avl import Freshness
from khusela.panic.model import AlertType, UnitKind
from khusela.panic.recommend import (
    ROAD_FACTOR,
    AgencyInfo,
    IndexedUnit,
    OsrmRouter,
    Point,
    Refusal,
    RoutingFailed,
    Scene,
    StraightLineRouter,
    UnitIndex,
    haversine_m,
    may_send,
    qualifies,
    recommend,
    refusal,
    router_from_env,
    speed_mps,
)

NOW = datetime(2026, 3, 2, 18, 0, tzinfo=UTC)
HILLBROW = (-26.1885, 28.0494)
SANDTON = (-26.1076, 28.0567)
PRETORIA = (-25.7479, 28.2293)

SAPS = AgencyInfo("saps", "SAPS Hillbrow", AgencyType.SAPS_STATION, Jurisdiction(cells=frozenset({"x"})))
EMS = AgencyInfo("ems", "Gauteng EMS", AgencyType.EMS, Jurisdiction(provinces=frozenset({"GP"})))
GUARDS_TSH = AgencyInfo(
    "guards", "Guards (Tshwane)", AgencyType.PRIVATE_SECURITY, Jurisdiction(municipalities=frozenset({"TSH"}))
)
SSA = AgencyInfo("ssa", "SSA", AgencyType.SSA, Jurisdiction(provinces=frozenset({"GP"})))
WATCH_JHB = AgencyInfo(
    "watch", "Yeoville Watch", AgencyType.NEIGHBOURHOOD_WATCH, Jurisdiction(municipalities=frozenset({"JHB"}))
)
CPF_JHB = AgencyInfo("cpf", "Hillbrow CPF", AgencyType.CPF, Jurisdiction(municipalities=frozenset({"JHB"})))
AGENCIES = {a.id: a for a in (SAPS, EMS, GUARDS_TSH, SSA, WATCH_JHB, CPF_JHB)}


def unit(
    uid: str,
    kind: UnitKind,
    lat: float,
    lon: float,
    *,
    agency: str = "saps",
    age_s: float = 5.0,
    capabilities: frozenset[str] = frozenset(),
) -> IndexedUnit:
    return IndexedUnit(
        id=uid,
        agency_id=agency,
        callsign=uid.upper(),
        kind=kind,
        lat=lat,
        lon=lon,
        location_at=NOW - timedelta(seconds=age_s),
        province="GP",
        capabilities=capabilities,
    )


def scene(
    alert_type: AlertType,
    where: tuple[float, float] = HILLBROW,
    municipality: str = "JHB",
    agreed: frozenset[str] = frozenset(),
) -> Scene:
    return Scene(where[0], where[1], alert_type, "GP", municipality, None, agreed)


def km_north(point: tuple[float, float], km: float) -> tuple[float, float]:
    return point[0] + km / 111.2, point[1]


# --- geometry and the index ---------------------------------------------------------------


def test_haversine_johannesburg_to_pretoria() -> None:
    assert haversine_m(-26.2041, 28.0473, *PRETORIA) == pytest.approx(53_900, rel=0.01)


def test_straight_line_eta_is_distance_times_road_factor_over_speed() -> None:
    router = StraightLineRouter()
    [eta] = router.eta_seconds(
        [Point(*km_north(HILLBROW, 10))], Point(*HILLBROW), [speed_mps(UnitKind.AMBULANCE)]
    )
    assert eta == pytest.approx(10_000 * ROAD_FACTOR / (60 / 3.6), rel=0.01)


def brute_force(
    units: Sequence[IndexedUnit], lat: float, lon: float, kinds: set[UnitKind], k: int
) -> list[float]:
    etas = sorted(
        haversine_m(lat, lon, u.lat, u.lon) * ROAD_FACTOR / u.speed for u in units if u.kind in kinds
    )
    return etas[:k]


coordinate = st.tuples(st.floats(-27.5, -24.5), st.floats(26.5, 29.5))


@settings(max_examples=150, deadline=None)
@given(
    points=st.lists(st.tuples(coordinate, st.sampled_from(list(UnitKind))), max_size=250),
    query=coordinate,
    kinds=st.sets(st.sampled_from(list(UnitKind)), min_size=1),
    k=st.integers(1, 8),
    per_cell=st.sampled_from([0.5, 2.0, 20.0]),
)
def test_index_finds_exactly_what_brute_force_finds(
    points: list[tuple[tuple[float, float], UnitKind]],
    query: tuple[float, float],
    kinds: set[UnitKind],
    k: int,
    per_cell: float,
) -> None:
    units = [unit(f"u{i}", kind, lat, lon) for i, ((lat, lon), kind) in enumerate(points)]
    index = UnitIndex.build(units, per_cell=per_cell)
    found = index.nearest(query[0], query[1], [k.value for k in kinds], k)
    expected = brute_force(units, query[0], query[1], kinds, k)
    assert [r.eta_seconds for r in found] == pytest.approx(expected, rel=1e-9)


def test_index_finds_units_far_outside_the_grid_and_from_far_away() -> None:
    index = UnitIndex.build(
        [unit("a", UnitKind.AMBULANCE, *HILLBROW), unit("b", UnitKind.AMBULANCE, -33.9, 18.4)]
    )
    [cape_town] = index.nearest(-33.92, 18.42, ["ambulance"], 1)
    assert cape_town.unit.id == "b"
    assert [r.unit.id for r in index.nearest(5.0, 30.0, ["ambulance"], 2)] == ["a", "b"]


def test_moving_and_removing_units() -> None:
    index = UnitIndex.build(
        [unit("a", UnitKind.POLICE_VEHICLE, *SANDTON), unit("b", UnitKind.POLICE_VEHICLE, *PRETORIA)]
    )
    assert index.nearest(*HILLBROW, ["police_vehicle"], 1)[0].unit.id == "a"
    index.put(unit("b", UnitKind.POLICE_VEHICLE, *km_north(HILLBROW, 0.5)))
    assert index.nearest(*HILLBROW, ["police_vehicle"], 1)[0].unit.id == "b"
    assert len(index) == 2
    index.discard("b")
    index.discard("never-there")
    assert [r.unit.id for r in index.nearest(*HILLBROW, ["police_vehicle"], 5)] == ["a"]
    assert "b" not in index


def test_a_capable_unit_is_found_once_through_either_grid() -> None:
    paramedic_car = unit("p", UnitKind.SECURITY_VEHICLE, *HILLBROW, capabilities=frozenset({"medical"}))
    index = UnitIndex.build([paramedic_car, unit("a", UnitKind.AMBULANCE, *SANDTON)])
    found = index.nearest(*HILLBROW, ["ambulance", "cap:medical", "security_vehicle"], 5)
    assert [r.unit.id for r in found] == ["p", "a"]


# --- the rules ----------------------------------------------------------------------------


def test_medical_alert_recommends_ambulances_only_even_with_police_closer() -> None:
    units = [
        unit("police-near", UnitKind.POLICE_VEHICLE, *km_north(HILLBROW, 0.2)),
        unit("metro-near", UnitKind.METRO_POLICE_VEHICLE, *km_north(HILLBROW, 0.3)),
        unit("amb-far", UnitKind.AMBULANCE, *km_north(HILLBROW, 8), agency="ems"),
        unit("amb-mid", UnitKind.AMBULANCE, *km_north(HILLBROW, 3), agency="ems"),
    ]
    found = recommend(UnitIndex.build(units), AGENCIES, scene(AlertType.MEDICAL), NOW, k=5)
    assert [r.unit.id for r in found.units] == ["amb-mid", "amb-far"]
    assert {r.need for r in found.units} == {"medical"}


def test_a_unit_with_the_medical_capability_stands_in_for_an_ambulance() -> None:
    units = [
        unit("medic", UnitKind.SECURITY_VEHICLE, *km_north(HILLBROW, 1), capabilities=frozenset({"medical"})),
        unit("amb", UnitKind.AMBULANCE, *km_north(HILLBROW, 5), agency="ems"),
    ]
    found = recommend(UnitIndex.build(units), AGENCIES, scene(AlertType.MEDICAL), NOW)
    assert [r.unit.id for r in found.units] == ["medic", "amb"]
    assert qualifies(UnitKind.SECURITY_VEHICLE, ["medical"], AlertType.MEDICAL)
    assert not qualifies(UnitKind.SECURITY_VEHICLE, [], AlertType.MEDICAL)


def test_fire_needs_a_fire_engine() -> None:
    units = [
        unit("police", UnitKind.POLICE_VEHICLE, *km_north(HILLBROW, 0.1)),
        unit("engine", UnitKind.FIRE_ENGINE, *km_north(HILLBROW, 4), agency="ems"),
    ]
    found = recommend(UnitIndex.build(units), AGENCIES, scene(AlertType.FIRE), NOW)
    assert [r.unit.id for r in found.units] == ["engine"]


def test_accident_gets_police_and_an_ambulance_even_when_police_are_all_closer() -> None:
    units = [
        unit(f"police-{i}", UnitKind.POLICE_VEHICLE, *km_north(HILLBROW, 0.2 * (i + 1))) for i in range(4)
    ]
    units += [
        unit("guard", UnitKind.SECURITY_VEHICLE, *km_north(HILLBROW, 0.1), agency="ems"),
        unit("amb", UnitKind.AMBULANCE, *km_north(HILLBROW, 9), agency="ems"),
    ]
    found = recommend(UnitIndex.build(units), AGENCIES, scene(AlertType.ACCIDENT), NOW, k=2)
    assert [r.unit.id for r in found.units] == ["police-0", "amb"]
    assert [r.need for r in found.units] == ["police", "medical"]


def test_crime_takes_any_policing_unit_and_other_takes_any_unit() -> None:
    units = [
        unit("amb", UnitKind.AMBULANCE, *km_north(HILLBROW, 0.1), agency="ems"),
        unit("cpf", UnitKind.CPF_PATROL, *km_north(HILLBROW, 0.5)),
    ]
    index = UnitIndex.build(units)
    assert [r.unit.id for r in recommend(index, AGENCIES, scene(AlertType.CRIME), NOW).units] == ["cpf"]
    assert [r.unit.id for r in recommend(index, AGENCIES, scene(AlertType.GBV), NOW).units] == ["cpf"]
    assert [r.unit.id for r in recommend(index, AGENCIES, scene(AlertType.OTHER), NOW).units] == [
        "amb",
        "cpf",
    ]


def test_private_security_is_sent_only_inside_its_jurisdiction() -> None:
    units = [
        unit("guard", UnitKind.SECURITY_VEHICLE, *km_north(HILLBROW, 0.1), agency="guards"),
        unit("saps", UnitKind.POLICE_VEHICLE, *km_north(HILLBROW, 5)),
    ]
    index = UnitIndex.build(units)
    in_jhb = recommend(index, AGENCIES, scene(AlertType.CRIME, HILLBROW, "JHB"), NOW)
    assert [r.unit.id for r in in_jhb.units] == ["saps"]
    in_tsh = recommend(index, AGENCIES, scene(AlertType.CRIME, km_north(HILLBROW, 0.2), "TSH"), NOW)
    assert [r.unit.id for r in in_tsh.units] == ["guard", "saps"]


def test_dispatch_reach_table() -> None:
    assert may_send(SAPS, "GP", "GP", "TSH", None), "SAPS anywhere in the province"
    assert not may_send(SAPS, "GP", "NW", None, None), "not in another province"
    assert may_send(EMS, None, "GP", None, None)
    assert not may_send(GUARDS_TSH, "GP", "GP", "JHB", None)
    assert may_send(GUARDS_TSH, "GP", "GP", "TSH", None)
    assert not may_send(SSA, "GP", "GP", "JHB", None), "intelligence is never dispatched"
    assert not may_send(None, "GP", "GP", "JHB", None), "an unknown agency is never dispatched"


def test_community_partners_need_their_jurisdiction_and_a_dispatch_agreement() -> None:
    for volunteers in (WATCH_JHB, CPF_JHB):
        assert refusal(volunteers, "GP", "GP", "JHB", None) is Refusal.NO_AGREEMENT
        assert may_send(volunteers, "GP", "GP", "JHB", None, agreed=frozenset({volunteers.id}))
        assert not may_send(volunteers, "GP", "GP", "JHB", None, agreed=frozenset({"someone-else"}))
        outside = refusal(volunteers, "GP", "GP", "TSH", None, agreed=frozenset({volunteers.id}))
        assert outside is Refusal.OUT_OF_REACH, "an agreement does not widen their area"
    assert may_send(GUARDS_TSH, "GP", "GP", "TSH", None), "private security needs no agreement"
    assert may_send(SAPS, "GP", "GP", "TSH", None, agreed=frozenset()), "nor do public agencies"
    assert refusal(SSA, "GP", "GP", "JHB", None, agreed=frozenset({"ssa"})) is Refusal.NEVER


def test_community_partner_units_are_recommended_only_under_an_agreement() -> None:
    units = [
        unit("watch-1", UnitKind.FOOT_PATROL, *km_north(HILLBROW, 0.1), agency="watch"),
        unit("cpf-1", UnitKind.CPF_PATROL, *km_north(HILLBROW, 0.2), agency="cpf"),
        unit("saps-1", UnitKind.POLICE_VEHICLE, *km_north(HILLBROW, 4)),
    ]
    index = UnitIndex.build(units)
    none = recommend(index, AGENCIES, scene(AlertType.CRIME), NOW)
    assert [r.unit.id for r in none.units] == ["saps-1"]
    watch_only = recommend(index, AGENCIES, scene(AlertType.CRIME, agreed=frozenset({"watch"})), NOW)
    assert [r.unit.id for r in watch_only.units] == ["watch-1", "saps-1"]
    both = recommend(index, AGENCIES, scene(AlertType.CRIME, agreed=frozenset({"watch", "cpf"})), NOW)
    assert [r.unit.id for r in both.units] == ["cpf-1", "watch-1", "saps-1"]


# --- staleness ----------------------------------------------------------------------------


def test_positions_older_than_300_s_are_not_used_and_60_to_300_s_are_flagged() -> None:
    units = [
        unit("fresh", UnitKind.POLICE_VEHICLE, *km_north(HILLBROW, 3), age_s=59),
        unit("stale", UnitKind.POLICE_VEHICLE, *km_north(HILLBROW, 2), age_s=120),
        unit("edge", UnitKind.POLICE_VEHICLE, *km_north(HILLBROW, 1), age_s=300),
        unit("gone", UnitKind.POLICE_VEHICLE, *km_north(HILLBROW, 0.1), age_s=301),
    ]
    found = recommend(UnitIndex.build(units), AGENCIES, scene(AlertType.CRIME), NOW)
    assert [(r.unit.id, r.freshness) for r in found.units] == [
        ("edge", Freshness.STALE),
        ("stale", Freshness.STALE),
        ("fresh", Freshness.FRESH),
    ]
    assert found.units[1].location_age_seconds == pytest.approx(120)


# --- routing ------------------------------------------------------------------------------


@dataclass
class FakeOsrm:
    """A local HTTP server answering OSRM's table API; what it answers is set per test."""

    url: str
    requests: list[str] = field(default_factory=list)
    durations: list[list[float | None]] | None = None
    status: int = 200
    body: bytes | None = None


@pytest.fixture
def osrm() -> Iterator[FakeOsrm]:
    fake = FakeOsrm(url="")

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            fake.requests.append(self.path)
            if fake.body is not None:
                payload = fake.body
            else:
                sources = parse_qs(urlsplit(self.path).query)["sources"][0].split(";")
                rows = fake.durations or [[60.0 * int(i)] for i in sources]
                payload = json.dumps(
                    {"code": "Ok", "durations": rows, "sources": [], "destinations": []}
                ).encode()
            self.send_response(fake.status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    fake.url = f"http://127.0.0.1:{server.server_address[1]}/"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield fake
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)


def test_osrm_table_request_and_answer(osrm: FakeOsrm) -> None:
    osrm.durations = [[125.5], [None]]
    router = OsrmRouter(osrm.url)
    etas = router.eta_seconds([Point(-26.1, 28.05), Point(-26.2, 28.1)], Point(-26.18, 28.04), [16.7, 16.7])
    assert etas == [125.5, None]
    [path] = osrm.requests
    parts = urlsplit(path)
    assert parts.path == "/table/v1/driving/28.040000,-26.180000;28.050000,-26.100000;28.100000,-26.200000"
    assert parse_qs(parts.query) == {"sources": ["1;2"], "destinations": ["0"], "annotations": ["duration"]}


def test_road_times_reorder_the_recommendation(osrm: FakeOsrm) -> None:
    near = unit("near", UnitKind.POLICE_VEHICLE, *km_north(HILLBROW, 1))
    far = unit("far", UnitKind.POLICE_VEHICLE, *km_north(HILLBROW, 3))
    # Units go to OSRM best straight-line ETA first: the nearer one is across a river,
    # 15 minutes by road; the farther one 4 minutes.
    osrm.durations = [[900.0], [240.0]]
    index = UnitIndex.build([near, far])
    found = recommend(index, AGENCIES, scene(AlertType.CRIME), NOW, k=2, router=OsrmRouter(osrm.url))
    assert [(r.unit.id, r.eta_seconds, r.eta_source) for r in found.units] == [
        ("far", 240.0, "osrm"),
        ("near", 900.0, "osrm"),
    ]
    assert found.router == "osrm"
    assert not found.routing_fallback


def test_a_unit_without_a_road_route_keeps_its_straight_line_eta(osrm: FakeOsrm) -> None:
    osrm.durations = [[None]]
    index = UnitIndex.build([unit("only", UnitKind.POLICE_VEHICLE, *km_north(HILLBROW, 1))])
    [rec] = recommend(index, AGENCIES, scene(AlertType.CRIME), NOW, router=OsrmRouter(osrm.url)).units
    assert rec.eta_source == "straight_line"
    assert rec.eta_seconds == pytest.approx(1000 * ROAD_FACTOR / speed_mps(UnitKind.POLICE_VEHICLE), rel=0.01)


@pytest.mark.parametrize(
    ("status", "body"),
    [
        (500, b"{}"),
        (200, b"not json"),
        (200, b'{"code": "InvalidQuery", "message": "bad"}'),
        (200, b'{"code": "Ok", "durations": [[1.0]]}'),
        (200, b'{"code": "Ok", "durations": [["soon"], [2]]}'),
    ],
    ids=["http-500", "not-json", "osrm-error", "wrong-shape", "not-a-number"],
)
def test_a_failing_routing_service_falls_back_to_straight_line(
    osrm: FakeOsrm, status: int, body: bytes
) -> None:
    osrm.status, osrm.body = status, body
    router = OsrmRouter(osrm.url)
    with pytest.raises(RoutingFailed):
        router.eta_seconds([Point(*SANDTON), Point(*PRETORIA)], Point(*HILLBROW), [16.7, 16.7])
    index = UnitIndex.build(
        [unit("near", UnitKind.POLICE_VEHICLE, *SANDTON), unit("far", UnitKind.POLICE_VEHICLE, *PRETORIA)]
    )
    found = recommend(index, AGENCIES, scene(AlertType.CRIME), NOW, k=2, router=router)
    assert found.routing_fallback
    assert found.router == "straight_line"
    assert [(r.unit.id, r.eta_source) for r in found.units] == [
        ("near", "straight_line"),
        ("far", "straight_line"),
    ]


def test_after_a_failure_the_service_rests_before_it_is_asked_again(osrm: FakeOsrm) -> None:
    osrm.status, osrm.body = 503, b"{}"
    origins, destination = [Point(*SANDTON)], Point(*HILLBROW)
    resting = OsrmRouter(osrm.url, rest_s=3600)
    for _ in range(3):
        with pytest.raises(RoutingFailed):
            resting.eta_seconds(origins, destination, [16.7])
    assert len(osrm.requests) == 1, "asked once, then left alone"
    eager = OsrmRouter(osrm.url, rest_s=0)
    with pytest.raises(RoutingFailed):
        eager.eta_seconds(origins, destination, [16.7])
    osrm.status, osrm.body = 200, None
    assert eager.eta_seconds(origins, destination, [16.7]) == [60.0], "asked again once rested"


def test_an_unreachable_routing_service_falls_back_quickly() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # nothing listens here once the socket closes
    index = UnitIndex.build([unit("a", UnitKind.POLICE_VEHICLE, *SANDTON)])
    found = recommend(
        index, AGENCIES, scene(AlertType.CRIME), NOW, router=OsrmRouter(f"http://127.0.0.1:{port}")
    )
    assert found.routing_fallback
    assert [r.unit.id for r in found.units] == ["a"]


def test_router_is_chosen_by_environment() -> None:
    assert isinstance(router_from_env({}), StraightLineRouter)
    chosen = router_from_env({"KHUSELA_ROUTING_URL": "http://osrm.internal:5000"})
    assert isinstance(chosen, OsrmRouter)
    assert chosen.base_url == "http://osrm.internal:5000"
    with pytest.raises(ValueError, match="http"):
        router_from_env({"KHUSELA_ROUTING_URL": "file:///etc/passwd"})
