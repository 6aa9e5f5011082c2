"""The register, roll-ups, mine sites and stored incidents on SQLite and PostgreSQL: what a
viewer may read, how the matrix counts, and what the live consumer keeps."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import numpy as np
import pytest

from khusela.core.errors import Forbidden, NotFound
from khusela.core.events import Event
from khusela.core.gazetteer import BundledGazetteer
from khusela.demo.geodata import gauteng
from khusela.identity.model import Clearance, Jurisdiction, Principal, Role
from khusela.risk import incident_log, localities, mines, register, rollup
from khusela.risk.live import LiveIncidents
from khusela.risk.model import Category, EntrySpec, Level, level_of
from khusela.risk.tables import risk_incidents
from khusela.store.database import Database

NOW = datetime(2026, 11, 1, 12, tzinfo=UTC)


def official(name: str, *municipalities: str, role: Role = Role.MUNICIPAL_OFFICIAL) -> Principal:
    return Principal(
        user_id=name,
        username=name,
        roles=frozenset({role}),
        clearance=Clearance.RESTRICTED,
        agency_id=f"agency-{name}",
        jurisdiction=Jurisdiction(municipalities=frozenset(municipalities)),
    )


PROVINCE = Principal(
    "gp",
    "gp",
    frozenset({Role.OPERATOR}),
    Clearance.RESTRICTED,
    "agency-gp",
    jurisdiction=Jurisdiction(provinces=frozenset({"GP"})),
)


def spec(
    locality: str, likelihood: int, impact: int, category: Category = Category.VIOLENT_CRIME
) -> EntrySpec:
    return EntrySpec(
        locality, category, "A risk", "Described at the safety forum", likelihood, impact, "Office"
    )


@pytest.fixture
def db(database: Database) -> Database:
    with database.write() as conn:
        localities.load_bundled(conn, gauteng())
    return database


def test_level_bands_cover_the_matrix() -> None:
    bands = {(li, im): level_of(li, im) for li in range(1, 6) for im in range(1, 6)}
    assert bands[(1, 4)] is Level.LOW
    assert bands[(1, 5)] is Level.MEDIUM
    assert bands[(3, 3)] is Level.MEDIUM
    assert bands[(2, 5)] is Level.HIGH
    assert bands[(4, 4)] is Level.HIGH
    assert bands[(4, 5)] is Level.EXTREME
    assert bands[(5, 5)] is Level.EXTREME
    assert [sum(v is lv for v in bands.values()) for lv in Level] == [8, 7, 7, 3]


def test_register_reads_and_writes_follow_the_locality(db: Database) -> None:
    jhb, emfuleni, sedibeng = (
        official("jhb", "JHB"),
        official("emf", "GT421"),
        official("dc42", "GT421", "GT422"),
    )
    with db.write() as conn:
        ours = register.create(conn, jhb, spec("JHB", 4, 4), NOW)
        ward = register.create(conn, jhb, spec("SAPS:Hillbrow", 3, 3), NOW)
        local = register.create(conn, emfuleni, spec("GT421", 5, 5), NOW)
        with pytest.raises(Forbidden):
            register.create(conn, jhb, spec("GT421", 1, 1), NOW)
    with db.read() as conn:
        assert {e["id"] for e in register.list_entries(conn, jhb)} == {ours["id"], ward["id"]}
        assert ward["municipality"] == "JHB"
        assert ward["district"] is None
        assert [e["id"] for e in register.list_entries(conn, sedibeng)] == [local["id"]]
        assert local["district"] == "DC42"
        with pytest.raises(NotFound):
            register.get(conn, jhb, local["id"])
        assert len(register.list_entries(conn, PROVINCE)) == 3
    with db.write() as conn:
        moved = register.edit(conn, jhb, ours["id"], 1, {"locality_code": "SAPS:Hillbrow", "impact": 2}, NOW)
        assert moved["version"] == 2
        assert moved["level"] == "medium"
        with pytest.raises(Forbidden):
            register.edit(conn, jhb, ours["id"], 2, {"locality_code": "TSH"}, NOW)
    with db.read() as conn:
        versions = register.history(conn, jhb, ours["id"])
    assert versions[0]["changes"] == {"locality_code": ["JHB", "SAPS:Hillbrow"], "impact": [4, 2]}
    assert versions[0]["snapshot"]["level"] == "medium"


def test_matrix_rolls_up_municipality_district_and_province(db: Database) -> None:
    jhb, emfuleni, midvaal = official("jhb", "JHB"), official("emf", "GT421"), official("mid", "GT422")
    with db.write() as conn:
        register.create(conn, jhb, spec("JHB", 4, 4), NOW)
        register.create(conn, jhb, spec("JHB", 4, 4), NOW)
        register.create(conn, emfuleni, spec("GT421", 2, 3), NOW)
        register.create(conn, midvaal, spec("GT422", 2, 3), NOW)
        closed = register.create(conn, midvaal, spec("GT422", 5, 5), NOW)
        register.close(conn, midvaal, closed["id"], 1, NOW)
    with db.read() as conn:
        per_municipality = {m.code: m for m in rollup.matrices(conn, PROVINCE, "municipality")}
        district = rollup.matrices(conn, PROVINCE, "district", "DC42")
        province = rollup.matrices(conn, PROVINCE, "province")
        mine = rollup.matrices(conn, jhb, "province", "GP")
        empty = rollup.matrices(conn, PROVINCE, "municipality", "TSH")
    assert per_municipality["JHB"].cells[3][3] == 2
    assert per_municipality["JHB"].total == 2
    assert district[0].cells[1][2] == 2
    assert district[0].total == 2, "closed entries are not carried"
    assert province[0].total == 4
    assert province[0].by_level() == {
        "low": 0,
        "medium": 2,
        "high": 2,
        "extreme": 0,
    }
    assert mine[0].total == 2, "an official's provincial roll-up counts only what they may read"
    assert empty[0].total == 0
    assert empty[0].name.startswith("City of Tshwane")
    csv_text = rollup.to_csv(district)
    lines = csv_text.splitlines()
    assert lines[0] == ",".join(rollup.CSV_HEADER)
    assert len(lines) == 26
    assert "district,DC42,Sedibeng District Municipality,2,3,6,medium,2" in lines


def test_mines_count_incidents_within_the_radius(db: Database) -> None:
    gazetteer = BundledGazetteer()
    riverlea = (-26.2135, 27.9740)
    with db.write() as conn:
        site = mines.add(
            conn,
            official("jhb", "JHB"),
            mines.MineSpec(
                "Riverlea", *riverlea, mines.MineStatus.DERELICT, last_inspection=date(2026, 1, 5)
            ),
            gazetteer,
            NOW,
        )
        for metres_north in (100, 400, 900, 1500, 5000):
            lat = riverlea[0] + metres_north / 111_195
            incident_log.record(
                conn, incident_log.Incident(NOW, lat, riverlea[1], "illegal mining", "test"), gazetteer
            )
    assert site["municipality"] == "JHB"
    with db.read() as conn:
        near = mines.list_mines(conn, PROVINCE, radius_m=1000)
        wide = mines.list_mines(conn, PROVINCE, radius_m=2000)
        elsewhere = mines.list_mines(conn, official("tsh", "TSH"))
    assert near[0]["incidents_near"] == 3
    assert wide[0]["incidents_near"] == 4
    assert elsewhere == []


def test_live_events_become_incidents_without_personal_data(db: Database) -> None:
    from khusela.bus.adapters.inprocess import InProcessBus

    live = LiveIncidents(db, InProcessBus(), BundledGazetteer())
    panic = Event(
        "panic.alert_raised",
        {
            "alert_id": "a1",
            "type": "gbv",
            "resident_id": "resident-7",
            "lat": -26.1885,
            "lon": 28.0470,
            "location_unknown": False,
        },
        occurred_at=NOW,
    )
    cctv_zone = Event(
        "cctv.event",
        {
            "kind": "start",
            "zone": "gate",
            "plate": "ABC123GP",
            "lat": -25.7479,
            "lon": 28.1878,
            "at": NOW.isoformat(),
        },
    )
    cctv_end = Event("cctv.event", {"kind": "end", "zone": "gate", "lat": -25.7479, "lon": 28.1878})
    cyber_unlocated = Event("cyber.alert_raised", {"severity": "high", "host": "srv01", "detail": {}})
    assert live.store(panic) is True
    assert live.store(panic) is False, "a replayed event is stored once"
    assert live.store(cctv_zone) is True
    assert live.store(cctv_end) is False
    assert live.store(cyber_unlocated) is False
    with db.read() as conn:
        rows = [dict(r._mapping) for r in conn.execute(risk_incidents.select().order_by(risk_incidents.c.id))]
    assert [(r["category"], r["municipality"], r["source"]) for r in rows] == [
        ("panic:gbv", "JHB", "panic"),
        ("cctv:zone", "TSH", "cctv"),
    ]
    stored_text = repr(rows)
    assert "resident-7" not in stored_text
    assert "ABC123GP" not in stored_text
    with db.read() as conn:
        seen = incident_log.load(conn, official("jhb", "JHB"))
    assert len(seen) == 1
    assert seen.categories == ("panic:gbv",)


def test_stored_incidents_feed_the_hotspot_and_forecast_layers(db: Database) -> None:
    from khusela.risk import layers
    from khusela.risk.incidents import Incidents

    rng_lat = [-26.1885 + 0.0005 * (i % 5) for i in range(300)] + [
        -26.25 + 0.02 * (i % 10) for i in range(60)
    ]
    rng_lon = [28.0470 + 0.0005 * (i % 7) for i in range(300)] + [27.90 + 0.02 * (i % 6) for i in range(60)]
    start = int((NOW - timedelta(days=200)).timestamp())
    data = Incidents(
        times=np.asarray([start + 3600 * 11 * i for i in range(360)], dtype="int64"),
        lat=np.asarray(rng_lat),
        lon=np.asarray(rng_lon),
        codes=np.zeros(360, dtype="int32"),
        categories=("burglary",),
    )
    with db.write() as conn:
        assert incident_log.store_many(conn, data, BundledGazetteer()) == 360
    with db.read() as conn:
        loaded = incident_log.load(conn, PROVINCE)
        none = incident_log.load(conn, official("tsh", "TSH"))
    assert len(loaded) == 360
    assert len(none) == 0
    hot = layers.hotspots(loaded, res=9)
    hottest = max(hot["features"], key=lambda f: f["properties"]["z"])
    assert hottest["properties"]["hot"] is True
    assert hottest["properties"]["count"] >= 100
    forecast = layers.forecast(loaded, "kde", res=9, top=10)
    assert [f["properties"]["rank"] for f in forecast["features"]] == list(range(1, 11))
    busiest = max(hot["features"], key=lambda f: f["properties"]["count"])
    assert forecast["features"][0]["properties"]["cell"] == busiest["properties"]["cell"]
    hits = layers.CACHE.hits
    assert layers.forecast(loaded, "kde", res=9, top=10) is forecast
    assert layers.CACHE.hits == hits + 1
    assert layers.forecast(none, "kde")["features"] == []


def test_the_demo_seed_gives_every_municipality_entries_and_places_the_mines(database: Database) -> None:
    from khusela.demo.risk import seed_risk
    from khusela.risk import layers

    with database.write() as conn:
        seed_risk(conn, gauteng(), NOW)
    everyone = Principal("o", "o", frozenset({Role.OVERSIGHT}), Clearance.SECRET)
    with database.read() as conn:
        entries = register.list_entries(conn, everyone)
        sites = mines.list_mines(conn, everyone)
        data = incident_log.load(conn, everyone)
    councils = {m.code for m in gauteng().municipalities if m.kind != "district"}
    assert {e["municipality"] for e in entries} == councils
    assert len(sites) == 9
    assert all(s["municipality"] for s in sites), "every Witwatersrand site lies in a Gauteng municipality"
    assert max(s["incidents_near"] for s in sites) >= 30
    assert len(layers.forecast(data, "kde", res=8, top=50)["features"]) == 50
