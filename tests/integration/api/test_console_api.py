"""The API the console needs beyond the modules' own: its settings, the offline base map,
units administration, crews, operator notes, the resident card, hourly figures, TOTP QR."""

from __future__ import annotations

import gzip
import json
from datetime import UTC, datetime, timedelta

from fastapi.testclient import TestClient
from sqlalchemy import update

from khusela.bootstrap import Platform
from khusela.core.settings import Settings
from khusela.identity.model import SYSTEM, AgencyType, Jurisdiction, Role
from khusela.panic import avl
from khusela.panic.model import UnitKind
from khusela.panic.tables import alerts, panic_profiles
from khusela.panic.units import register_unit
from tests.conftest import People, bearer
from tests.panic_support import HILLBROW, resident_headers


def test_console_config_gives_the_map_and_the_escalation_targets(
    client: TestClient, platform: Platform
) -> None:
    headers = bearer(client, People(platform.db).user("thandi", Role.OPERATOR))
    config = client.get("/api/console/config", headers=headers).json()
    assert config["map"]["tile_url"] is None, "no tile server configured: the offline base is drawn"
    assert config["targets"]["acknowledge_seconds"] == 30
    assert config["targets"]["on_scene_seconds"]["1"] < config["targets"]["on_scene_seconds"]["4"]
    assert client.get("/api/console/config").status_code == 401


def test_a_configured_tile_server_is_allowed_by_the_csp(settings: Settings) -> None:
    configured = settings.model_copy(update={"map_tile_url": "https://tiles.example.org/{z}/{x}/{y}.png"})
    assert configured.map_tile_origin == "https://tiles.example.org"


def test_base_map_has_boundaries_and_stations_and_is_cached(client: TestClient, platform: Platform) -> None:
    headers = bearer(client, People(platform.db).user("thandi", Role.OPERATOR))
    response = client.get("/api/map/base", headers=headers)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/geo+json")
    layers = response.json()
    municipalities = [f for f in layers["features"] if f["properties"]["layer"] == "municipality"]
    stations = [f for f in layers["features"] if f["properties"]["layer"] == "station"]
    assert {"JHB", "TSH", "EKU"} <= {m["properties"]["code"] for m in municipalities}
    assert len(stations) > 100
    hillbrow = next(s for s in stations if s["properties"]["name"] == "Hillbrow")
    lon, lat = hillbrow["geometry"]["coordinates"]
    assert abs(lat - HILLBROW[0]) < 0.05
    assert abs(lon - HILLBROW[1]) < 0.05
    again = client.get("/api/map/base", headers={**headers, "If-None-Match": response.headers["etag"]})
    assert again.status_code == 304


def test_grid_is_sent_compressed(client: TestClient, platform: Platform) -> None:
    headers = bearer(client, People(platform.db).user("thandi", Role.OPERATOR))
    raw = client.get("/api/map/grid", headers={**headers, "Accept-Encoding": "gzip"})
    assert raw.headers["content-encoding"] == "gzip"
    cells = raw.json()["features"]  # the client decompresses
    assert len(cells) > 2000
    assert all(f["geometry"]["type"] == "Polygon" for f in cells[:50])
    assert len(gzip.compress(json.dumps(raw.json()).encode())) < 400_000


def test_admin_registers_a_unit_and_bad_units_are_refused(client: TestClient, platform: Platform) -> None:
    people = People(platform.db)
    saps = people.agency(
        "SAPS Hillbrow", AgencyType.SAPS_STATION, Jurisdiction(municipalities=frozenset({"JHB"}))
    )
    admin = bearer(client, people.user("admin", Role.ADMIN))
    body = {
        "agency_id": saps,
        "callsign": "hb-p7",
        "kind": "police_vehicle",
        "lat": HILLBROW[0],
        "lon": HILLBROW[1],
    }
    created = client.post("/api/panic/units", json=body, headers=admin)
    assert created.status_code == 201, created.text
    assert created.json()["callsign"] == "HB-P7"
    assert created.json()["municipality"] == "JHB"
    assert client.post("/api/panic/units", json=body, headers=admin).status_code == 409
    assert (
        client.post(
            "/api/panic/units", json={**body, "callsign": "X1", "agency_id": "nope"}, headers=admin
        ).status_code
        == 422
    )
    assert (
        client.post(
            "/api/panic/units", json={**body, "callsign": "X2", "kind": "tank"}, headers=admin
        ).status_code
        == 422
    )
    operator = bearer(client, people.user("thandi", Role.OPERATOR))
    refused = client.post("/api/panic/units", json={**body, "callsign": "X3"}, headers=operator)
    assert refused.status_code == 403
    assert refused.headers["content-type"].startswith("application/problem+json")


def test_a_responder_crews_their_own_agencys_unit_only(client: TestClient, platform: Platform) -> None:
    people = People(platform.db)
    saps = people.agency(
        "SAPS Hillbrow", AgencyType.SAPS_STATION, Jurisdiction(municipalities=frozenset({"JHB"}))
    )
    other = people.agency(
        "SAPS Pretoria", AgencyType.SAPS_STATION, Jurisdiction(municipalities=frozenset({"TSH"}))
    )
    with platform.db.write() as conn:
        mine = register_unit(
            conn,
            SYSTEM,
            agency_id=saps,
            callsign="HB-1",
            kind=UnitKind.POLICE_VEHICLE,
            lat=HILLBROW[0],
            lon=HILLBROW[1],
            province="GP",
            municipality="JHB",
        )
        theirs = register_unit(
            conn,
            SYSTEM,
            agency_id=other,
            callsign="PTA-1",
            kind=UnitKind.POLICE_VEHICLE,
            lat=-25.75,
            lon=28.19,
            province="GP",
            municipality="TSH",
        )
    responder = bearer(client, people.user("sipho", Role.RESPONDER, agency_id=saps))
    assert client.get("/api/panic/crew", headers=responder).json() == {"unit": None, "signed_on_at": None}
    assert client.post("/api/panic/crew", json={"unit_id": theirs.id}, headers=responder).status_code == 404
    signed = client.post("/api/panic/crew", json={"unit_id": mine.id}, headers=responder)
    assert signed.status_code == 200, signed.text
    assert signed.json()["unit"]["callsign"] == "HB-1"
    assert client.get("/api/panic/crew", headers=responder).json()["unit"]["id"] == mine.id
    assert client.delete("/api/panic/crew", headers=responder).status_code == 204
    assert client.get("/api/panic/crew", headers=responder).json()["unit"] is None
    operator = bearer(client, people.user("thandi", Role.OPERATOR))
    assert client.post("/api/panic/crew", json={"unit_id": mine.id}, headers=operator).status_code == 403


def test_detail_shows_the_resident_card_and_operator_notes(client: TestClient, platform: Platform) -> None:
    people = People(platform.db)
    resident = people.user("nomsa", Role.RESIDENT, phone="+27825550111")
    phone = resident_headers(client, platform, resident, "+27825550111")
    assert client.put("/api/panic/profile", json={"vulnerable": True}, headers=phone).status_code == 200
    raised = client.post(
        "/api/panic/alerts",
        json={"type": "gbv", "lat": HILLBROW[0], "lon": HILLBROW[1], "client_alert_id": "a-1"},
        headers=phone,
    ).json()
    with platform.db.write() as conn:
        conn.execute(
            update(panic_profiles)
            .where(panic_profiles.c.user_id == resident.principal.user_id)
            .values(false_alarms=4)
        )
    operator = bearer(client, people.user("thandi", Role.OPERATOR))
    added = client.post(
        f"/api/panic/alerts/{raised['id']}/notes", json={"text": "Caller says he left"}, headers=operator
    )
    assert added.status_code == 204
    assert (
        client.post(
            f"/api/panic/alerts/{raised['id']}/notes", json={"text": "  "}, headers=operator
        ).status_code
        == 422
    )
    detail = client.get(f"/api/panic/alerts/{raised['id']}", headers=operator).json()
    assert detail["resident"]["phone"] == "+27825550111"
    assert detail["resident"]["vulnerable"] is True
    assert detail["resident"]["false_alarms"] == 4
    assert detail["resident"]["flagged_for_review"] is True
    notes = [t for t in detail["timeline"] if t["kind"] == "note"]
    assert notes[0]["details"]["text"] == "Caller says he left"
    assert notes[0]["actor"] == "thandi"
    mine = client.get(f"/api/panic/alerts/{raised['id']}", headers=phone).json()
    assert "resident" not in mine
    assert "priority" not in mine
    assert (
        client.post(f"/api/panic/alerts/{raised['id']}/notes", json={"text": "hi"}, headers=phone).status_code
        == 403
    )


def test_alerts_per_hour_counts_every_hour_of_the_period(client: TestClient, platform: Platform) -> None:
    people = People(platform.db)
    ids = []
    for n, kind in enumerate(("crime", "medical")):
        number = f"+2782555012{n}"
        person = people.user(f"resident{n}", Role.RESIDENT, phone=number)
        phone = resident_headers(client, platform, person, number)
        body = {"type": kind, "lat": HILLBROW[0], "lon": HILLBROW[1], "client_alert_id": f"h-{n}"}
        ids.append(client.post("/api/panic/alerts", json=body, headers=phone).json()["id"])
    now = datetime.now(UTC).replace(minute=30, second=0, microsecond=0)
    with platform.db.write() as conn:
        conn.execute(update(alerts).where(alerts.c.id == ids[0]).values(created_at=now - timedelta(hours=2)))
        conn.execute(update(alerts).where(alerts.c.id == ids[1]).values(created_at=now))
    operator = bearer(client, people.user("thandi", Role.OPERATOR))
    since = (now - timedelta(hours=3)).isoformat()
    until = (now + timedelta(hours=1)).isoformat()
    hourly = client.get(
        "/api/panic/kpis/hourly", params={"since": since, "until": until}, headers=operator
    ).json()
    assert [h["alerts"] for h in hourly["hours"]] == [0, 1, 0, 1, 0]
    backwards = client.get(
        "/api/panic/kpis/hourly", params={"since": until, "until": since}, headers=operator
    )
    assert backwards.status_code == 422


def test_a_new_user_comes_with_a_scannable_totp_qr(client: TestClient, platform: Platform) -> None:
    people = People(platform.db)
    admin = bearer(client, people.user("admin", Role.ADMIN))
    created = client.post(
        "/api/users",
        json={
            "username": "lerato",
            "roles": ["operator"],
            "password": "a-long-enough-password",
            "display_name": "Lerato M",
            "agency_id": people.agency(),
        },
        headers=admin,
    )
    assert created.status_code == 201, created.text
    qr = created.json()["totp_qr_data_uri"]
    assert qr.startswith("data:image/svg+xml")
    assert "svg" in qr


def test_assignments_filter_by_unit(client: TestClient, platform: Platform) -> None:
    people = People(platform.db)
    saps = people.agency(
        "SAPS Hillbrow", AgencyType.SAPS_STATION, Jurisdiction(municipalities=frozenset({"JHB"}))
    )
    with platform.db.write() as conn:
        unit = register_unit(
            conn,
            SYSTEM,
            agency_id=saps,
            callsign="HB-9",
            kind=UnitKind.POLICE_VEHICLE,
            lat=HILLBROW[0],
            lon=HILLBROW[1],
            province="GP",
            municipality="JHB",
        )
        avl.report_location(conn, "test", unit.id, HILLBROW[0], HILLBROW[1], 10, datetime.now(UTC))
    resident = people.user("nomsa", Role.RESIDENT, phone="+27825550113")
    phone = resident_headers(client, platform, resident, "+27825550113")
    alert = client.post(
        "/api/panic/alerts",
        json={"type": "crime", "lat": HILLBROW[0], "lon": HILLBROW[1], "client_alert_id": "u-1"},
        headers=phone,
    ).json()
    operator = bearer(client, people.user("thandi", Role.OPERATOR))
    sent = client.post(
        f"/api/panic/alerts/{alert['id']}/dispatch", json={"unit_id": unit.id}, headers=operator
    )
    assert sent.status_code == 201, sent.text
    responder = bearer(client, people.user("sipho", Role.RESPONDER, agency_id=saps))
    board = client.get(
        "/api/panic/assignments", params={"mine": "true", "unit_id": unit.id}, headers=responder
    ).json()
    assert [b["alert_id"] for b in board] == [alert["id"]]
    other = client.get(
        "/api/panic/assignments", params={"mine": "true", "unit_id": "nope"}, headers=responder
    ).json()
    assert other == []
