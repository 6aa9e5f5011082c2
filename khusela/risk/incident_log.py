"""Stored incidents: the `Incidents` arrays of an import, or one live event, into the
`risk_incidents` table, and back out as arrays for the analytics.

Each incident is located once (province, municipality from the gazetteer; an H3 res-9
cell) so reads are filtered by the policy like every other locality-level record. What is
stored is time, place, category and source only: no resident, phone or plate."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

import h3
import numpy as np
from sqlalchemy import Connection, and_, insert, select
from sqlalchemy.exc import IntegrityError

from khusela.core.gazetteer import Gazetteer
from khusela.identity.model import Principal
from khusela.identity.policy import Action, Columns, read_filter
from khusela.risk.incidents import Incidents
from khusela.risk.tables import risk_incidents

INCIDENT_COLUMNS = Columns(
    province=risk_incidents.c.province, municipality=risk_incidents.c.municipality, cell=risk_incidents.c.cell
)
CELL_RES = 9
"""About 350 m across: fine enough for hotspots, coarse enough that a cell is not an address."""
BATCH = 5000


@dataclass(frozen=True, slots=True)
class Incident:
    at: datetime
    lat: float
    lon: float
    category: str
    source: str
    source_ref: str | None = None


def row_of(incident: Incident, gazetteer: Gazetteer) -> dict[str, object]:
    place = gazetteer.locate(incident.lat, incident.lon)
    return {
        "at": incident.at,
        "lat": round(incident.lat, 6),
        "lon": round(incident.lon, 6),
        "cell": h3.latlng_to_cell(incident.lat, incident.lon, CELL_RES),
        "province": place.province,
        "municipality": place.municipality,
        "category": incident.category[:80] or "unknown",
        "source": incident.source,
        "source_ref": incident.source_ref,
    }


def record(conn: Connection, incident: Incident, gazetteer: Gazetteer) -> bool:
    """Store one live incident; False when its source event was stored before (replays)."""
    if incident.source_ref is not None:
        seen = conn.execute(
            select(risk_incidents.c.id).where(
                and_(
                    risk_incidents.c.source == incident.source,
                    risk_incidents.c.source_ref == incident.source_ref,
                )
            )
        ).first()
        if seen is not None:
            return False
    try:
        with conn.begin_nested():
            conn.execute(insert(risk_incidents).values(**row_of(incident, gazetteer)))
    except IntegrityError:
        return False
    return True


def store_many(conn: Connection, data: Incidents, gazetteer: Gazetteer, source: str = "import") -> int:
    """Store an import's incidents (in batches); returns how many were stored."""
    stored = 0
    batch: list[dict[str, object]] = []
    for incident in _each(data, source):
        batch.append(row_of(incident, gazetteer))
        if len(batch) >= BATCH:
            conn.execute(insert(risk_incidents), batch)
            stored, batch = stored + len(batch), []
    if batch:
        conn.execute(insert(risk_incidents), batch)
        stored += len(batch)
    return stored


def _each(data: Incidents, source: str) -> Iterable[Incident]:
    for i in range(len(data)):
        yield Incident(
            datetime.fromtimestamp(int(data.times[i]), UTC),
            float(data.lat[i]),
            float(data.lon[i]),
            data.categories[int(data.codes[i])],
            source,
        )


def load(
    conn: Connection,
    viewer: Principal,
    *,
    municipality: str | None = None,
    categories: Iterable[str] = (),
    since: datetime | None = None,
) -> Incidents:
    """The incidents the viewer may see, as time-sorted arrays for the analytics."""
    query = select(
        risk_incidents.c.at, risk_incidents.c.lat, risk_incidents.c.lon, risk_incidents.c.category
    ).where(read_filter(viewer, Action.RISK_READ, INCIDENT_COLUMNS))
    if municipality:
        query = query.where(risk_incidents.c.municipality == municipality)
    wanted = list(categories)
    if wanted:
        query = query.where(risk_incidents.c.category.in_(wanted))
    if since is not None:
        query = query.where(risk_incidents.c.at >= since)
    rows = conn.execute(query.order_by(risk_incidents.c.at, risk_incidents.c.id)).all()
    names: dict[str, int] = {}
    codes = [names.setdefault(r.category, len(names)) for r in rows]
    return Incidents(
        times=np.asarray([int(r.at.timestamp()) for r in rows], dtype=np.int64),
        lat=np.asarray([r.lat for r in rows], dtype=np.float64),
        lon=np.asarray([r.lon for r in rows], dtype=np.float64),
        codes=np.asarray(codes, dtype=np.int32),
        categories=tuple(names),
    )
