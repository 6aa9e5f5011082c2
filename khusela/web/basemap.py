"""The console's offline vector base: municipal boundaries, police stations and the H3 grid
as GeoJSON, built once from the bundled geography (`khusela.demo.geodata`).

Command centres may sit on isolated networks with no tile server; the map must still show
where things are. Boundaries are the outline of each municipality's H3 cells, which is
what the gazetteer itself uses to route alerts, so the map and the routing agree.
"""

from __future__ import annotations

import hashlib
import json
from functools import cache
from typing import Any

import h3

from khusela.demo.geodata import gauteng

COORDINATE_DIGITS = 5
"""About a metre: finer is noise at map scale and only makes the payload larger."""


def _rounded(coordinates: Any) -> Any:
    if isinstance(coordinates, (list, tuple)) and coordinates and isinstance(coordinates[0], float):
        return [round(c, COORDINATE_DIGITS) for c in coordinates]
    return [_rounded(part) for part in coordinates]


def _feature(geometry: dict[str, Any], **properties: Any) -> dict[str, Any]:
    return {
        "type": "Feature",
        "geometry": {"type": geometry["type"], "coordinates": _rounded(geometry["coordinates"])},
        "properties": properties,
    }


@cache
def base_layers() -> bytes:
    """Municipalities (`layer: municipality`) and stations (`layer: station`), as GeoJSON bytes."""
    province = gauteng()
    features = [
        _feature(
            h3.cells_to_geo(sorted(m.cells)), layer="municipality", code=m.code, name=m.name, kind=m.kind
        )
        for m in province.municipalities
    ]
    features += [
        _feature(
            {"type": "Point", "coordinates": [s.lon, s.lat]},
            layer="station",
            name=s.name,
            municipality_code=s.municipality_code,
        )
        for s in province.stations
    ]
    return _encode(features)


@cache
def grid_layer() -> bytes:
    """Every H3 cell of the province (`layer: cell`) with the local municipality it belongs to."""
    province = gauteng()
    owner = {cell: m.code for m in province.municipalities if m.kind != "district" for cell in m.cells}
    features = [
        _feature(h3.cells_to_geo([cell]), layer="cell", cell=cell, municipality_code=owner.get(cell))
        for cell in sorted(province.cells)
    ]
    return _encode(features)


def _encode(features: list[dict[str, Any]]) -> bytes:
    return json.dumps({"type": "FeatureCollection", "features": features}, separators=(",", ":")).encode()


def etag(body: bytes) -> str:
    return '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
