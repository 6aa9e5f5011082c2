"""H3 cells for incidents, and a local metric plane for distances.

Forecasts are scored per H3 cell because cells are nearly equal in area (so "top 5% of
cells" is "5% of the area") and because the rest of Khusela already speaks H3. Distances
for kernels are taken on a flat plane around the data's centre: within a city the error
of that projection is far below the 100 m scale of any kernel used here.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import h3
import h3.api.basic_int as h3i
import numpy as np
from numpy.typing import NDArray

EARTH_RADIUS_M = 6_371_008.8


def cells_of(lat: NDArray[np.float64], lon: NDArray[np.float64], resolution: int) -> NDArray[np.int64]:
    """The H3 cell (as int64) of every point; repeated locations are looked up once, which
    matters for data snapped to the hundred block."""
    if lat.size == 0:
        return np.zeros(0, dtype=np.int64)
    points = np.stack([lat, lon], axis=1)
    unique, inverse = np.unique(points, axis=0, return_inverse=True)
    ids = np.fromiter(
        (h3i.latlng_to_cell(float(a), float(b), resolution) for a, b in unique),
        dtype=np.int64,
        count=len(unique),
    )
    return ids[inverse.reshape(-1)]


def centroids(cells: NDArray[np.int64]) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Latitude and longitude of each cell's centre."""
    pairs = [h3i.cell_to_latlng(int(c)) for c in cells]
    arr = np.asarray(pairs, dtype=np.float64).reshape(-1, 2)
    return arr[:, 0], arr[:, 1]


def mean_cell_area_m2(resolution: int) -> float:
    return float(h3.average_hexagon_area(resolution, unit="m^2"))


def cell_spacing_m(resolution: int) -> float:
    """Distance between neighbouring cell centres (√3 x edge length)."""
    return float(math.sqrt(3.0) * h3.average_hexagon_edge_length(resolution, unit="m"))


def disk(cell: int, k: int) -> list[int]:
    return [int(c) for c in h3i.grid_disk(int(cell), k)]


def polygon(cell: int) -> list[list[float]]:
    """The cell's boundary as a closed GeoJSON ring of [lon, lat]."""
    ring = [[round(lon, 7), round(lat, 7)] for lat, lon in h3i.cell_to_boundary(int(cell))]
    return [*ring, ring[0]]


def cell_name(cell: int) -> str:
    return str(h3i.int_to_str(int(cell)))


@dataclass(frozen=True, slots=True)
class Plane:
    """An equirectangular plane in metres around (lat0, lon0)."""

    lat0: float
    lon0: float

    @classmethod
    def around(cls, lat: NDArray[np.float64], lon: NDArray[np.float64]) -> Plane:
        return cls(float(np.median(lat)), float(np.median(lon))) if lat.size else cls(0.0, 0.0)

    def xy(self, lat: NDArray[np.float64], lon: NDArray[np.float64]) -> NDArray[np.float64]:
        k = math.pi / 180.0 * EARTH_RADIUS_M
        x = (lon - self.lon0) * k * math.cos(math.radians(self.lat0))
        y = (lat - self.lat0) * k
        return np.stack([x, y], axis=1).astype(np.float64)


def feature_collection(
    cells: NDArray[np.int64], properties: dict[str, NDArray[Any]], resolution: int
) -> dict[str, Any]:
    """GeoJSON polygons, one per cell, with per-cell properties (numpy values made plain)."""
    features = []
    for i, cell in enumerate(cells):
        props: dict[str, Any] = {"cell": cell_name(int(cell)), "resolution": resolution}
        for key, values in properties.items():
            props[key] = values[i].item()
        geometry = {"type": "Polygon", "coordinates": [polygon(int(cell))]}
        features.append({"type": "Feature", "geometry": geometry, "properties": props})
    return {"type": "FeatureCollection", "features": features}
