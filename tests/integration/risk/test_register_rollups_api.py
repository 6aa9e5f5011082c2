"""Roll-ups, mine sites, localities and the map layers through the API, with problem+json
for bad input and the caller's jurisdiction applied to every read."""

from __future__ import annotations

import csv
import io
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi.testclient import TestClient

from khusela.bootstrap import Platform
from khusela.core.gazetteer import BundledGazetteer
from khusela.identity.model import Role
from khusela.risk.incident_log import Incident, record
from tests.conftest import People
from tests.integration.risk.risk_support import entry, officials


def test_matrix_csv_mines_and_layers(client: TestClient, platform: Platform) -> None:
    who = officials(client, platform)
    for likelihood, impact in ((5, 4), (5, 4), (2, 2)):
        made = client.post(
            "/api/risk/register", json=entry(likelihood=likelihood, impact=impact), headers=who.joburg
        )
        assert made.status_code == 201
    client.post("/api/risk/register", json=entry("TSH", likelihood=1, impact=1), headers=who.tshwane)

    ours = client.get("/api/risk/matrix", params={"level": "municipality"}, headers=who.joburg).json()
    assert [m["code"] for m in ours] == ["JHB"]
    assert ours[0]["cells"][4][3] == 2
    assert ours[0]["by_level"] == {"low": 1, "medium": 0, "high": 0, "extreme": 2}
    province = client.get("/api/risk/matrix", params={"level": "province"}, headers=who.province).json()
    assert province[0]["total"] == 4
    exported = client.get("/api/risk/matrix.csv", params={"level": "municipality"}, headers=who.province)
    assert exported.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(exported.text)))
    assert len(rows) == 50, "25 cells for each of Johannesburg and Tshwane"
    assert {(r["code"], r["likelihood"], r["impact"], r["open_entries"]) for r in rows} >= {
        ("JHB", "5", "4", "2"),
        ("TSH", "1", "1", "1"),
    }
    for bad in ({"level": "ward"}, {"level": "district", "code": "NOWHERE"}):
        refused = client.get("/api/risk/matrix", params=bad, headers=who.joburg)
        assert refused.status_code == 422, bad
        assert refused.headers["content-type"].startswith("application/problem+json")

    site = {"name": "Riverlea old workings", "lat": -26.2135, "lon": 27.9740, "status": "illegally_worked"}
    assert client.post("/api/risk/mines", json=site, headers=who.tshwane).status_code == 403
    assert client.post("/api/risk/mines", json=site, headers=who.joburg).status_code == 201
    assert (
        client.post("/api/risk/mines", json={**site, "status": "haunted"}, headers=who.joburg).status_code
        == 422
    )
    now = datetime.now(UTC)
    with platform.db.write() as conn:
        for i in range(30):
            lat, lon = -26.2135 + 0.0004 * (i % 3), 27.9740 + 0.0004 * (i % 4)
            record(
                conn,
                Incident(now - timedelta(days=i), lat, lon, "illegal mining", "test"),
                BundledGazetteer(),
            )
    listed = client.get("/api/risk/mines", params={"radius_m": 500}, headers=who.joburg).json()
    assert [(m["name"], m["incidents_near"]) for m in listed] == [("Riverlea old workings", 30)]
    assert client.get("/api/risk/mines", headers=who.tshwane).json() == []

    hot = client.get("/api/risk/hotspots", params={"res": 9}, headers=who.joburg)
    assert hot.headers["content-type"].startswith("application/geo+json")
    assert sum(f["properties"]["count"] for f in hot.json()["features"]) == 30
    ahead = client.get("/api/risk/forecast", params={"method": "naive", "top": 5}, headers=who.joburg).json()
    assert 1 <= len(ahead["features"]) <= 5
    assert ahead["properties"]["method"] == "naive"
    assert client.get("/api/risk/forecast", headers=who.tshwane).json()["features"] == []
    assert (
        client.get("/api/risk/forecast", params={"method": "oracle"}, headers=who.joburg).status_code == 422
    )
    assert client.get("/api/risk/hotspots", params={"res": 15}, headers=who.joburg).status_code == 422

    places = client.get("/api/risk/localities", params={"level": "municipality"}, headers=who.joburg).json()
    editable = {p["code"] for p in places if p["editable"]}
    assert editable == {"JHB"}
    assert len(places) == 9
    assert (
        client.get("/api/risk/localities", params={"level": "suburb"}, headers=who.joburg).status_code == 422
    )


def test_a_panic_alert_reaches_the_hotspot_layer_through_the_bus(
    client: TestClient, platform: Platform
) -> None:
    from khusela.panic.intake import RaisePanicAlert, raise_alert
    from khusela.panic.model import AlertType, Channel
    from khusela.risk.tables import risk_incidents

    who = officials(client, platform)
    resident = People(platform.db).user("resident", Role.RESIDENT, phone="+27820000042").principal.user_id
    press = RaisePanicAlert(
        type=AlertType.GBV,
        channel=Channel.APP,
        sender=resident,
        resident_id=resident,
        lat=-26.1885,
        lon=28.0470,
        note="He is at the door, 082 555 1234",
    )
    with platform.db.write() as conn:
        raise_alert(conn, press, platform.gazetteer)
    platform.relay.notify()
    deadline = time.monotonic() + 10
    while not (rows := _incidents(platform, risk_incidents)):
        assert time.monotonic() < deadline, "the alert never became a risk incident"
        time.sleep(0.05)
    [row] = rows
    assert (row["category"], row["source"], row["municipality"]) == ("panic:gbv", "panic", "JHB")
    assert resident not in repr(row)
    # Neither the note nor its phone number (the row's ids are random hex, which may hold
    # "082" by chance, so the whole number and the words are looked for).
    assert "555 1234" not in repr(row)
    assert "door" not in repr(row)
    layer = client.get("/api/risk/hotspots", headers=who.joburg).json()
    assert sum(f["properties"]["count"] for f in layer["features"]) == 1


def _incidents(platform: Platform, table: Any) -> list[dict[str, Any]]:
    with platform.db.read() as conn:
        return [dict(r._mapping) for r in conn.execute(table.select())]
