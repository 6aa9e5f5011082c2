"""The Gauteng demo data: real places, every role, agencies whose jurisdictions make sense."""

from __future__ import annotations

from sqlalchemy import func, select

from khusela.core.geo import cell_of
from khusela.demo.geodata import gauteng
from khusela.demo.seed import COMMAND_CENTRE, demo_logins, is_seeded, seed
from khusela.identity import directory
from khusela.identity.model import SYSTEM, AgencyType, Role
from khusela.panic.tables import units
from khusela.store.database import Database


def test_geodata_places_known_stations_in_their_metros() -> None:
    gp = gauteng()
    by_name = {s.name: s for s in gp.stations}
    assert len(gp.stations) > 130
    assert by_name["Hillbrow"].municipality_code == "JHB"
    assert by_name["Pretoria Central"].municipality_code == "TSH"
    assert by_name["Benoni"].municipality_code == "EKU"
    assert by_name["Krugersdorp"].municipality_code == "GT481"
    hillbrow = by_name["Hillbrow"]
    assert -26.3 < hillbrow.lat < -26.1
    assert 28.0 < hillbrow.lon < 28.1
    for station in gp.stations:
        assert station.precinct <= gp.cells
        assert station.precinct <= gp.municipality(station.municipality_code).cells
    assert gp.locals_of("DC42") == {"GT421", "GT422", "GT423"}


def test_seed_creates_every_role_and_the_command_centre(sqlite_db: Database) -> None:
    with sqlite_db.write() as conn:
        assert not is_seeded(conn)
        seed(conn)
    with sqlite_db.read() as conn:
        assert is_seeded(conn)
        pcc = directory.find_agency(conn, COMMAND_CENTRE)
        assert pcc.type is AgencyType.PROVINCIAL_DEPARTMENT
        assert pcc.jurisdiction.provinces == {"GP"}
        roles = {login.role for login in demo_logins(conn)}
        assert roles == set(Role)
        hillbrow = directory.find_agency(conn, "SAPS Hillbrow")
        assert hillbrow.type is AgencyType.SAPS_STATION
        station = next(s for s in gauteng().stations if s.name == "Hillbrow")
        assert hillbrow.jurisdiction.covers(None, None, next(iter(station.precinct)))
        types = {a.type for a in directory.list_agencies(conn, SYSTEM)}
        assert types == set(AgencyType)
        count = conn.execute(select(func.count()).select_from(units)).scalar()
        assert count is not None
        assert count > 250
        jhb_unit = conn.execute(select(units).where(units.c.callsign == "JMPD-01")).one()
        assert cell_of(jhb_unit.lat, jhb_unit.lon) == jhb_unit.cell


def test_demo_fleet_keeps_positions_fresh(sqlite_db: Database) -> None:
    from datetime import UTC, datetime, timedelta

    from khusela.core.gazetteer import BundledGazetteer
    from khusela.demo.fleet import DemoFleet

    with sqlite_db.write() as conn:
        seed(conn)
        conn.execute(units.update().values(location_at=datetime.now(UTC) - timedelta(minutes=10)))
    moved = DemoFleet(sqlite_db, BundledGazetteer()).tick()
    assert moved > 250
    with sqlite_db.read() as conn:
        oldest = conn.execute(select(func.min(units.c.location_at))).scalar_one()
    assert datetime.now(UTC) - oldest < timedelta(minutes=1)
