"""Disused and derelict mine sites: where they are, their state, when they were last
inspected, and how many stored incidents happened near each one.

Illegal mining is named as a top threat, and it starts at shafts left open: a site with a
stale inspection and a rising count of incidents nearby is where a mayor asks for a joint
operation or for the shaft to be sealed. "Near" is a great-circle distance from the site,
first narrowed with a latitude/longitude box so the database does the coarse work."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Connection, and_, insert, select

from khusela.audit import log as audit
from khusela.core.clock import SystemClock
from khusela.core.errors import Forbidden, InvalidInput
from khusela.core.gazetteer import Gazetteer
from khusela.core.ids import new_id
from khusela.identity.model import Principal
from khusela.identity.policy import Action, Columns, Resource, can, read_filter
from khusela.risk.incident_log import INCIDENT_COLUMNS
from khusela.risk.model import check_text
from khusela.risk.tables import risk_incidents, risk_mines

MINE_COLUMNS = Columns(province=risk_mines.c.province, municipality=risk_mines.c.municipality)
EARTH_M = 6_371_008.8


class MineStatus(StrEnum):
    DERELICT = "derelict"
    """Abandoned with no owner on record: open shafts likely."""
    DISUSED = "disused"
    """Closed by an owner still responsible for it."""
    ILLEGALLY_WORKED = "illegally_worked"
    SEALED = "sealed"
    REHABILITATED = "rehabilitated"


@dataclass(frozen=True, slots=True)
class MineSpec:
    name: str
    lat: float
    lon: float
    status: MineStatus
    commodity: str | None = None
    last_inspection: date | None = None
    notes: str | None = None


def add(
    conn: Connection, actor: Principal, spec: MineSpec, gazetteer: Gazetteer, now: datetime | None = None
) -> dict[str, Any]:
    if not spec.name.strip():
        raise InvalidInput("the site needs a name")
    if not (-90 <= spec.lat <= 90 and -180 <= spec.lon <= 180):
        raise InvalidInput("the site's position is not on the globe")
    check_text("notes", spec.notes or "")
    place = gazetteer.locate(spec.lat, spec.lon)
    if not can(actor, Action.RISK_WRITE, Resource(province=place.province, municipality=place.municipality)):
        raise Forbidden("only officials of the locality may register its mine sites")
    now = now or SystemClock().now()
    row = {
        "id": new_id(),
        "name": spec.name.strip(),
        "lat": spec.lat,
        "lon": spec.lon,
        "province": place.province,
        "municipality": place.municipality,
        "cell": place.cell,
        "status": spec.status.value,
        "commodity": spec.commodity,
        "last_inspection": spec.last_inspection,
        "notes": spec.notes,
        "created_at": now,
        "updated_at": now,
    }
    conn.execute(insert(risk_mines).values(**row))
    audit.record(conn, actor.username, "risk.mine_added", "risk_mine", str(row["id"]), {"name": spec.name})
    return row


def _near(
    conn: Connection, viewer: Principal, lat: float, lon: float, metres: float, since: datetime | None
) -> int:
    dlat = math.degrees(metres / EARTH_M)
    dlon = dlat / max(math.cos(math.radians(lat)), 1e-6)
    box = and_(
        risk_incidents.c.lat.between(lat - dlat, lat + dlat),
        risk_incidents.c.lon.between(lon - dlon, lon + dlon),
        read_filter(viewer, Action.RISK_READ, INCIDENT_COLUMNS),
    )
    if since is not None:
        box = and_(box, risk_incidents.c.at >= since)
    rows = conn.execute(select(risk_incidents.c.lat, risk_incidents.c.lon).where(box)).all()
    return sum(1 for r in rows if distance_m(lat, lon, r.lat, r.lon) <= metres)


def distance_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    p1, p2 = math.radians(lat1), math.radians(lat2)
    a = (
        math.sin((p2 - p1) / 2) ** 2
        + math.cos(p1) * math.cos(p2) * math.sin(math.radians(lon2 - lon1) / 2) ** 2
    )
    return 2 * EARTH_M * math.asin(math.sqrt(min(1.0, a)))


def list_mines(
    conn: Connection, viewer: Principal, radius_m: float = 1000.0, since: datetime | None = None
) -> list[dict[str, Any]]:
    """Sites the viewer may see, each with `incidents_near`: the incidents (that the viewer
    may also see) within `radius_m` metres, since `since` when given."""
    if not 50 <= radius_m <= 20_000:
        raise InvalidInput("radius: 50 to 20,000 metres")
    rows = conn.execute(
        select(risk_mines)
        .where(read_filter(viewer, Action.RISK_READ, MINE_COLUMNS))
        .order_by(risk_mines.c.name)
    ).all()
    out = []
    for r in rows:
        site = dict(r._mapping)
        site["incidents_near"] = _near(conn, viewer, site["lat"], site["lon"], radius_m, since)
        site["radius_m"] = radius_m
        out.append(site)
    return out
