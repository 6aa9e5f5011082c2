"""Localities: province → district/metro → local municipality → ward and police precinct,
each stored with the H3 cells that cover it so every analysis joins on H3.

Boundaries come from GeoJSON (the Municipal Demarcation Board's wards, SAPS precincts):
each polygon is filled with H3 cells at res 8 or 9 (a cell belongs to the polygon its
centre lies in). The demo loads the bundled Gauteng geography, whose areas are already
res-7 cells."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import h3
from sqlalchemy import Connection, delete, insert, select

from khusela.core.errors import InvalidInput, NotFound
from khusela.demo.geodata import Province
from khusela.risk.tables import risk_localities, risk_locality_cells

LEVELS = ("province", "district", "municipality", "ward", "precinct")
"""`municipality` covers metros and local municipalities (both are where officials sit)."""


@dataclass(frozen=True, slots=True)
class Locality:
    code: str
    level: str
    name: str
    parent_code: str | None
    province: str
    district: str | None
    municipality: str | None
    cell_res: int
    centroid: tuple[float, float] | None = None


def get(conn: Connection, code: str) -> Locality:
    row = conn.execute(select(risk_localities).where(risk_localities.c.code == code)).first()
    if row is None:
        raise NotFound(f"no locality {code!r}")
    return _locality(row._mapping)


def _locality(m: Any) -> Locality:
    centroid = (m["centroid_lat"], m["centroid_lon"]) if m["centroid_lat"] is not None else None
    return Locality(
        m["code"],
        m["level"],
        m["name"],
        m["parent_code"],
        m["province"],
        m["district"],
        m["municipality"],
        m["cell_res"],
        centroid,
    )


def list_localities(conn: Connection, level: str | None = None, parent: str | None = None) -> list[Locality]:
    """Locality names and codes are public geography: any signed-in user may list them."""
    query = select(risk_localities).order_by(risk_localities.c.level, risk_localities.c.name)
    if level:
        if level not in LEVELS:
            raise InvalidInput(f"level: one of {', '.join(LEVELS)}")
        query = query.where(risk_localities.c.level == level)
    if parent:
        query = query.where(risk_localities.c.parent_code == parent)
    return [_locality(r._mapping) for r in conn.execute(query)]


def save(conn: Connection, place: Locality, cells: Iterable[str]) -> int:
    """Insert or replace a locality and its cells; returns the number of cells stored."""
    conn.execute(delete(risk_locality_cells).where(risk_locality_cells.c.locality_code == place.code))
    conn.execute(delete(risk_localities).where(risk_localities.c.code == place.code))
    lat, lon = place.centroid if place.centroid else (None, None)
    conn.execute(
        insert(risk_localities).values(
            code=place.code,
            level=place.level,
            name=place.name,
            parent_code=place.parent_code,
            province=place.province,
            district=place.district,
            municipality=place.municipality,
            cell_res=place.cell_res,
            centroid_lat=lat,
            centroid_lon=lon,
        )
    )
    rows = [{"locality_code": place.code, "cell": c} for c in sorted(set(cells))]
    if rows:
        conn.execute(insert(risk_locality_cells), rows)
    return len(rows)


def load_bundled(conn: Connection, province: Province) -> int:
    """The bundled province, its districts, metros and local municipalities, and one precinct
    per SAPS station (res-7 cells). Returns the number of localities stored."""
    n = 0
    save(conn, Locality(province.code, "province", province.name, None, province.code, None, None, 7), [])
    n += 1
    for m in province.municipalities:
        if m.kind == "district":
            place = Locality(
                m.code, "district", m.name, province.code, province.code, m.code, None, 7, m.centroid
            )
        else:
            parent = m.district_code or province.code
            place = Locality(
                m.code, "municipality", m.name, parent, province.code, m.district_code, m.code, 7, m.centroid
            )
        save(conn, place, m.cells)
        n += 1
    districts = {m.code: m.district_code for m in province.municipalities}
    for s in province.stations:
        code = f"SAPS:{s.name}"
        place = Locality(
            code,
            "precinct",
            f"{s.name} SAPS precinct",
            s.municipality_code,
            province.code,
            districts.get(s.municipality_code),
            s.municipality_code,
            7,
            (s.lat, s.lon),
        )
        save(conn, place, s.precinct)
        n += 1
    return n


# --- GeoJSON import ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Boundary:
    code: str
    name: str
    cells: frozenset[str]
    centroid: tuple[float, float] | None


def _polygons(geometry: Any) -> Iterator[list[list[list[float]]]]:
    kind = geometry.get("type") if isinstance(geometry, dict) else None
    if kind == "Polygon":
        yield geometry["coordinates"]
    elif kind == "MultiPolygon":
        yield from geometry["coordinates"]
    else:
        raise ValueError(f"geometry {kind or 'none'} is not a polygon")


def polyfill(geometry: Any, resolution: int) -> frozenset[str]:
    """The H3 cells whose centres lie inside the (Multi)Polygon. A polygon smaller than one
    cell still gets the cell under its first vertex, so no boundary is left empty."""
    cells: set[str] = set()
    for rings in _polygons(geometry):
        outer, *holes = ([(float(lat), float(lon)) for lon, lat, *_ in ring] for ring in rings)
        found = h3.polygon_to_cells(h3.LatLngPoly(outer, *holes), resolution)
        cells.update(found or [h3.latlng_to_cell(outer[0][0], outer[0][1], resolution)])
    return frozenset(cells)


def read_boundaries(path: Path, code_field: str, name_field: str, resolution: int) -> list[Boundary]:
    """Each feature's code, name and cells; a feature without the fields is an error that
    names it (a silently dropped ward would vanish from every roll-up)."""
    if resolution not in (7, 8, 9, 10):
        raise InvalidInput("--cell-res: 7 to 10 (8 or 9 suit wards and precincts)")
    try:
        features = json.loads(path.read_text(encoding="utf-8"))["features"]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise InvalidInput(f"{path} is not a GeoJSON FeatureCollection") from exc
    out: list[Boundary] = []
    for number, feature in enumerate(features, start=1):
        props = feature.get("properties") or {}
        code, name = props.get(code_field), props.get(name_field)
        if code in (None, "") or name in (None, ""):
            raise InvalidInput(f"feature {number} lacks {code_field!r} or {name_field!r}")
        try:
            cells = polyfill(feature.get("geometry"), resolution)
        except (ValueError, TypeError, KeyError, IndexError, h3.H3BaseException) as exc:
            raise InvalidInput(f"feature {number} ({code}): {exc}") from exc
        centroid = h3.cell_to_latlng(sorted(cells)[len(cells) // 2]) if cells else None
        out.append(Boundary(str(code), str(name), cells, centroid))
    return out


def import_boundaries(
    conn: Connection, boundaries: list[Boundary], level: str, province: str, parent: str | None
) -> int:
    """Store imported wards or precincts. A ward's municipality is its parent's, or the
    municipality whose cells it overlaps most (parent cells at the coarser resolution)."""
    if level not in LEVELS:
        raise InvalidInput(f"--level: one of {', '.join(LEVELS)}")
    parent_place = get(conn, parent) if parent else None
    for b in boundaries:
        municipality = parent_place.municipality if parent_place else _overlapping_municipality(conn, b.cells)
        district = parent_place.district if parent_place else None
        code = b.code if level in ("province", "district", "municipality") else f"{level}:{b.code}"
        res = h3.get_resolution(next(iter(b.cells))) if b.cells else 9
        own_municipality = b.code if level == "municipality" else municipality
        place = Locality(code, level, b.name, parent, province, district, own_municipality, res, b.centroid)
        save(conn, place, b.cells)
    return len(boundaries)


def _overlapping_municipality(conn: Connection, cells: frozenset[str]) -> str | None:
    if not cells:
        return None
    rows = conn.execute(
        select(risk_localities.c.municipality, risk_localities.c.cell_res, risk_locality_cells.c.cell)
        .join(risk_locality_cells, risk_locality_cells.c.locality_code == risk_localities.c.code)
        .where(risk_localities.c.level == "municipality")
    ).all()
    by_cell = {(r.cell_res, r.cell): r.municipality for r in rows}
    votes: dict[str, int] = {}
    for cell in cells:
        res = h3.get_resolution(cell)
        for coarse in {r for r, _ in by_cell}:
            parent = h3.cell_to_parent(cell, coarse) if coarse <= res else None
            owner = by_cell.get((coarse, parent)) if parent else None
            if owner:
                votes[owner] = votes.get(owner, 0) + 1
    return max(votes, key=lambda k: votes[k]) if votes else None
