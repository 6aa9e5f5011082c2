"""Build the Gauteng demo geodata file, ``khusela/demo/data/gauteng.json``.

Why this exists: Khusela's demo needs province, municipality and police-precinct
areas for Gauteng, but we hold no licensed boundary polygons. We do hold the real
SAPS station points (afrith/sa-crime-stats, SAPS 2013 release) and a table that
assigns each police precinct to its municipality (afrith/crime-stats,
police_stations_census2022.csv, PDDL 1.0). This script turns them into
approximate boundaries made of H3 resolution-7 cells:

* each Gauteng station gets a municipality by matching its name to the census
  table (exact after normalising, then fuzzy with difflib, then the municipality
  of the nearest matched station);
* the province is every res-7 cell whose centre lies within ``RADIUS_KM`` of a
  Gauteng station and whose nearest station in the whole country is in Gauteng,
  so the border with neighbouring provinces falls between stations;
* each province cell belongs to the precinct of its nearest station (a Voronoi
  assignment on cell centres); a municipality is the union of its stations'
  precincts and a district the union of its local municipalities.

Only the standard library, ``h3`` and ``pyshp`` are used; nearest-station look-ups
go through a coarse latitude/longitude bucket grid, which is exact here because
a province cell's nearest station is always within ``RADIUS_KM``.

Run from the repository root::

    .venv/bin/python scripts/build_demo_geodata.py [--shared PATH] [--output PATH]
"""

from __future__ import annotations

import argparse
import csv
import difflib
import json
import math
import re
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path

import h3  # type: ignore[import-untyped,unused-ignore]
import shapefile  # type: ignore[import-untyped,unused-ignore]

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_SHARED = REPO_ROOT.parent / "shared"
DEFAULT_OUTPUT = REPO_ROOT / "khusela" / "demo" / "data" / "gauteng.json"
SAPS_DIR = Path("data") / "crime" / "south_africa_saps"

RESOLUTION = 7
RADIUS_KM = 12.0
EARTH_RADIUS_KM = 6371.0088
FUZZY_CUTOFF = 0.6
DECIMALS = 5
# Bucket size of the nearest-station grid: must span at least RADIUS_KM in both
# directions (0.15 deg is ~16.7 km N-S and >= 13.6 km E-W anywhere north of 35 deg S),
# so the 3x3 buckets around a point hold every station within RADIUS_KM of it.
GRID_DEG = 0.15

PROVINCE_CODE = "GP"
PROVINCE_NAME = "Gauteng"
SOURCE = (
    "SAPS station points from afrith/sa-crime-stats (SAPS 2013 release); "
    "municipality assignment from afrith/crime-stats police_stations_census2022.csv "
    "(PDDL 1.0); boundaries approximated as H3 res-7 Voronoi cells around stations"
)


@dataclass(frozen=True)
class Municipality:
    """An official Gauteng municipality (metro, district or local)."""

    code: str
    name: str
    kind: str
    district_code: str | None


MUNICIPALITIES: tuple[Municipality, ...] = (
    Municipality("JHB", "City of Johannesburg Metropolitan Municipality", "metro", None),
    Municipality("TSH", "City of Tshwane Metropolitan Municipality", "metro", None),
    Municipality("EKU", "City of Ekurhuleni Metropolitan Municipality", "metro", None),
    Municipality("DC42", "Sedibeng District Municipality", "district", None),
    Municipality("GT421", "Emfuleni Local Municipality", "local", "DC42"),
    Municipality("GT422", "Midvaal Local Municipality", "local", "DC42"),
    Municipality("GT423", "Lesedi Local Municipality", "local", "DC42"),
    Municipality("DC48", "West Rand District Municipality", "district", None),
    Municipality("GT481", "Mogale City Local Municipality", "local", "DC48"),
    Municipality("GT484", "Merafong City Local Municipality", "local", "DC48"),
    Municipality("GT485", "Rand West City Local Municipality", "local", "DC48"),
)


@dataclass(frozen=True)
class Station:
    """A SAPS station point, coordinates rounded to ``DECIMALS``."""

    name: str
    province: str
    lat: float
    lon: float


@dataclass(frozen=True)
class Precinct:
    """A row of the census table: one police precinct and its municipality."""

    name: str
    muni_code: str
    dc_code: str


Point = tuple[float, float]


def haversine_km(a: Point, b: Point) -> float:
    """Great-circle distance in km between two (lat, lon) points."""
    lat1, lon1, lat2, lon2 = map(math.radians, (*a, *b))
    h = math.sin((lat2 - lat1) / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(math.sqrt(h))


def normalise(name: str, province: str = "") -> str:
    """Lower-case, punctuation-free name; drops a trailing province code suffix."""
    words = re.sub(r"[^a-z0-9]+", " ", name.lower()).split()
    if province and len(words) > 1 and words[-1] == province.lower():
        words = words[:-1]
    return " ".join(words)


def read_stations(shp_path: Path) -> list[Station]:
    """All station points of the shapefile (every province)."""
    reader = shapefile.Reader(str(shp_path))
    try:
        stations = []
        for shape_record in reader.iterShapeRecords():
            lon, lat = shape_record.shape.points[0]
            stations.append(
                Station(
                    name=str(shape_record.record["NAME"]).strip(),
                    province=str(shape_record.record["PROV"]).strip(),
                    lat=round(float(lat), DECIMALS),
                    lon=round(float(lon), DECIMALS),
                )
            )
    finally:
        reader.close()
    return stations


def read_precincts(csv_path: Path, province: str) -> list[Precinct]:
    """The census table's precincts in ``province``."""
    with csv_path.open(newline="", encoding="utf-8") as handle:
        return [
            Precinct(row["name"].strip(), row["muni_code"].strip(), row["dc_code"].strip())
            for row in csv.DictReader(handle)
            if row["prov_code"].strip() == province
        ]


def check_municipality_codes(precincts: list[Precinct]) -> None:
    """Fail loudly if the census codes differ from the hard-coded municipalities."""
    expected = {(m.code, m.district_code or m.code) for m in MUNICIPALITIES if m.kind != "district"}
    found = {(p.muni_code, p.dc_code) for p in precincts}
    if found != expected:
        raise SystemExit(f"census municipality codes changed: {sorted(found ^ expected)}")


def match_municipalities(
    stations: list[Station], precincts: list[Precinct]
) -> tuple[dict[str, str], Counter[str]]:
    """Map station name -> municipality code; also count how each was matched."""
    by_name = {normalise(p.name, PROVINCE_CODE): p for p in precincts}
    result: dict[str, str] = {}
    how: Counter[str] = Counter()
    unmatched: list[Station] = []
    for station in stations:
        precinct = by_name.get(normalise(station.name))
        if precinct is not None:
            result[station.name] = precinct.muni_code
            how["exact"] += 1
        else:
            unmatched.append(station)
    claimed = {normalise(name) for name in result}
    unclaimed = [name for name in by_name if name not in claimed]
    still_unmatched: list[Station] = []
    for station in unmatched:
        key = normalise(station.name)
        close = difflib.get_close_matches(key, unclaimed, n=1, cutoff=FUZZY_CUTOFF)
        if close:
            result[station.name] = by_name[close[0]].muni_code
            how["fuzzy"] += 1
            print(f"  fuzzy: {station.name!r} -> {by_name[close[0]].name!r}")
        else:
            still_unmatched.append(station)
    matched = [s for s in stations if s.name in result]
    for station in still_unmatched:
        nearest = min(matched, key=lambda s: haversine_km(_point(s), _point(station)))
        result[station.name] = result[nearest.name]
        how["nearest"] += 1
        print(f"  nearest: {station.name!r} -> {result[station.name]} via {nearest.name!r}")
    return result, how


def _point(station: Station) -> Point:
    return (station.lat, station.lon)


class StationGrid:
    """Coarse lat/lon bucket index answering nearest-station-within-RADIUS_KM."""

    def __init__(self, stations: list[Station]) -> None:
        self._buckets: dict[tuple[int, int], list[int]] = defaultdict(list)
        self._stations = stations
        for index, station in enumerate(stations):
            self._buckets[self._key(_point(station))].append(index)

    @staticmethod
    def _key(point: Point) -> tuple[int, int]:
        return (math.floor(point[0] / GRID_DEG), math.floor(point[1] / GRID_DEG))

    def nearest(self, point: Point) -> tuple[int, float] | None:
        """Index and distance of the nearest station within RADIUS_KM, if any."""
        row, col = self._key(point)
        best: tuple[int, float] | None = None
        for d_row in (-1, 0, 1):
            for d_col in (-1, 0, 1):
                for index in self._buckets.get((row + d_row, col + d_col), []):
                    distance = haversine_km(point, _point(self._stations[index]))
                    if distance <= RADIUS_KM and (best is None or distance < best[1]):
                        best = (index, distance)
        return best


def cell_centre(cell: str) -> Point:
    lat, lon = h3.cell_to_latlng(cell)
    return (float(lat), float(lon))


def cell_of(point: Point) -> str:
    return str(h3.latlng_to_cell(point[0], point[1], RESOLUTION))


def candidate_cells(stations: list[Station]) -> set[str]:
    """Cells around the given stations, a superset of those within RADIUS_KM."""
    edge_km = float(h3.average_hexagon_edge_length(RESOLUTION, unit="km"))
    k = math.ceil(RADIUS_KM / (1.5 * edge_km)) + 1
    cells: set[str] = set()
    for station in stations:
        cells.update(str(c) for c in h3.grid_disk(cell_of(_point(station)), k))
    return cells


def assign_precincts(all_stations: list[Station], province_stations: list[Station]) -> dict[str, list[str]]:
    """Station name -> sorted precinct cells (nearest-station Voronoi on H3 cells)."""
    grid = StationGrid(all_stations)
    owner: dict[str, str] = {}
    for cell in candidate_cells(province_stations):
        found = grid.nearest(cell_centre(cell))
        if found is not None and all_stations[found[0]].province == PROVINCE_CODE:
            owner[cell] = all_stations[found[0]].name
    ensure_own_cells(owner, province_stations)
    precincts: dict[str, list[str]] = {s.name: [] for s in province_stations}
    for cell, name in owner.items():
        precincts[name].append(cell)
    return {name: sorted(cells) for name, cells in precincts.items()}


def ensure_own_cells(owner: dict[str, str], stations: list[Station]) -> None:
    """Give each station with no cells its own cell so no precinct is empty."""
    sizes = Counter(owner.values())
    for station in stations:
        if sizes[station.name] > 0:
            continue
        cell = cell_of(_point(station))
        previous = owner.get(cell)
        if previous is not None and sizes[previous] <= 1:
            raise SystemExit(f"{station.name!r} and {previous!r} share a single cell")
        owner[cell] = station.name
        sizes[station.name] += 1
        if previous is not None:
            sizes[previous] -= 1
        print(f"  own cell: {station.name!r} takes {cell} from {previous!r}")


def municipality_cells(precincts: dict[str, list[str]], muni_of: dict[str, str]) -> dict[str, list[str]]:
    """Municipality code -> sorted cells; districts get the union of their locals."""
    cells: dict[str, set[str]] = {m.code: set() for m in MUNICIPALITIES}
    for name, precinct in precincts.items():
        cells[muni_of[name]].update(precinct)
    for muni in MUNICIPALITIES:
        if muni.district_code is not None:
            cells[muni.district_code].update(cells[muni.code])
    return {code: sorted(members) for code, members in cells.items()}


def centroid(cells: list[str]) -> list[float]:
    """Mean of the cell centres as [lat, lon], rounded to DECIMALS."""
    centres = [cell_centre(cell) for cell in cells]
    lat = sum(c[0] for c in centres) / len(centres)
    lon = sum(c[1] for c in centres) / len(centres)
    return [round(lat, DECIMALS), round(lon, DECIMALS)]


def build_document(
    stations: list[Station], precincts: dict[str, list[str]], muni_of: dict[str, str]
) -> dict[str, object]:
    """The gauteng.json document."""
    muni_cells = municipality_cells(precincts, muni_of)
    province_cells = sorted({cell for cells in precincts.values() for cell in cells})
    return {
        "source": SOURCE,
        "h3_resolution": RESOLUTION,
        "province": {"code": PROVINCE_CODE, "name": PROVINCE_NAME, "h3_cells": province_cells},
        "municipalities": [
            {
                "code": m.code,
                "name": m.name,
                "kind": m.kind,
                "district_code": m.district_code,
                "centroid": centroid(muni_cells[m.code]),
                "h3_cells": muni_cells[m.code],
            }
            for m in MUNICIPALITIES
        ],
        "stations": [
            {
                "name": s.name,
                "lat": s.lat,
                "lon": s.lon,
                "municipality_code": muni_of[s.name],
                "h3_cell": cell_of(_point(s)),
                "precinct_cells": precincts[s.name],
            }
            for s in stations
        ],
    }


def dump_compact(document: dict[str, object]) -> str:
    """Compact JSON with one municipality or station per line."""

    def dumps(value: object) -> str:
        return json.dumps(value, separators=(",", ":"), ensure_ascii=False)

    parts = []
    for key, value in document.items():
        if isinstance(value, list):
            items = ",\n".join(dumps(item) for item in value)
            parts.append(f"{dumps(key)}:[\n{items}\n]")
        else:
            parts.append(f"{dumps(key)}:{dumps(value)}")
    return "{" + ",\n".join(parts) + "}\n"


def print_summary(document: dict[str, object], how: Counter[str]) -> None:
    stations = document["stations"]
    province = document["province"]
    municipalities = document["municipalities"]
    assert isinstance(stations, list)
    assert isinstance(province, dict)
    assert isinstance(municipalities, list)
    print(f"name matching: {dict(how)}")
    print(f"GP stations: {len(stations)}")
    print(f"province cells: {len(province['h3_cells'])}")
    stations_per_muni = Counter(s["municipality_code"] for s in stations)
    for muni in municipalities:
        print(
            f"  {muni['code']:<6} {len(muni['h3_cells']):>5} cells"
            f" {stations_per_muni.get(muni['code'], 0):>4} stations  {muni['name']}"
        )


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument(
        "--shared",
        type=Path,
        default=DEFAULT_SHARED,
        help="the shared data folder (default: ../shared from the repo root)",
    )
    parser.add_argument(
        "--output",
        type=Path,
        default=DEFAULT_OUTPUT,
        help="where to write the JSON (default: khusela/demo/data/gauteng.json)",
    )
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    saps_dir = args.shared / SAPS_DIR
    all_stations = read_stations(saps_dir / "stations.shp")
    province_stations = sorted((s for s in all_stations if s.province == PROVINCE_CODE), key=lambda s: s.name)
    if len({s.name for s in province_stations}) != len(province_stations):
        raise SystemExit("duplicate Gauteng station names")
    census = read_precincts(saps_dir / "police_stations_census2022.csv", PROVINCE_CODE)
    check_municipality_codes(census)
    print("matching station names to census precincts:")
    muni_of, how = match_municipalities(province_stations, census)
    precincts = assign_precincts(all_stations, province_stations)
    document = build_document(province_stations, precincts, muni_of)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(dump_compact(document), encoding="utf-8")
    print(f"wrote {args.output} ({args.output.stat().st_size:,} bytes)")
    print_summary(document, how)


if __name__ == "__main__":
    main()
