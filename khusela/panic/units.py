"""Response units: register them and list them through the access policy."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Connection, insert, select

from khusela.audit import log as audit
from khusela.core.errors import InvalidInput
from khusela.core.geo import cell_of, valid_lat_lon
from khusela.core.ids import new_id
from khusela.identity.model import Principal
from khusela.identity.policy import Action, Columns, read_filter
from khusela.panic.model import UnitKind, UnitStatus
from khusela.panic.tables import units
from khusela.store.unique import insert_unique

UNIT_COLUMNS = Columns(
    agency=units.c.agency_id,
    province=units.c.province,
    municipality=units.c.municipality,
    cell=units.c.cell,
)


@dataclass(frozen=True, slots=True)
class Unit:
    id: str
    agency_id: str
    callsign: str
    kind: UnitKind
    status: UnitStatus
    lat: float | None
    lon: float | None
    municipality: str | None
    location_at: datetime | None = None


def register_unit(
    conn: Connection,
    actor: Principal,
    *,
    agency_id: str,
    callsign: str,
    kind: UnitKind,
    lat: float,
    lon: float,
    province: str | None = None,
    municipality: str | None = None,
    status: UnitStatus = UnitStatus.AVAILABLE,
) -> Unit:
    if not valid_lat_lon(lat, lon):
        raise InvalidInput("unit location is outside the globe")
    unit = Unit(new_id(), agency_id, callsign.strip().upper(), kind, status, lat, lon, municipality)
    insert_unique(
        conn,
        insert(units).values(
            id=unit.id,
            agency_id=agency_id,
            callsign=unit.callsign,
            kind=kind.value,
            status=status.value,
            lat=lat,
            lon=lon,
            province=province,
            municipality=municipality,
            cell=cell_of(lat, lon),
            updated_at=datetime.now(UTC),
        ),
        f"call sign {unit.callsign} is taken",
    )
    audit.record(conn, actor.username, "unit.register", "unit", unit.id, {"callsign": unit.callsign})
    return unit


def list_units(
    conn: Connection, viewer: Principal, status: UnitStatus | None = None, *, unit_id: str | None = None
) -> list[Unit]:
    query = (
        select(units).where(read_filter(viewer, Action.UNIT_READ, UNIT_COLUMNS)).order_by(units.c.callsign)
    )
    if status is not None:
        query = query.where(units.c.status == status.value)
    if unit_id is not None:
        query = query.where(units.c.id == unit_id)
    return [
        Unit(
            r.id,
            r.agency_id,
            r.callsign,
            UnitKind(r.kind),
            UnitStatus(r.status),
            r.lat,
            r.lon,
            r.municipality,
            r.location_at,
        )
        for r in conn.execute(query)
    ]
