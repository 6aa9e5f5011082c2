"""Geo helpers. Locations are indexed by H3 cell; jurisdictions are sets of res-7 cells."""

from __future__ import annotations

import h3

JURISDICTION_RESOLUTION = 7
"""Precinct and jurisdiction cells: ~5 km² each, fine enough for station precincts."""


def cell_of(lat: float, lon: float, resolution: int = JURISDICTION_RESOLUTION) -> str:
    """The H3 cell containing a point."""
    return str(h3.latlng_to_cell(lat, lon, resolution))


def is_valid_cell(cell: str) -> bool:
    try:
        return bool(h3.is_valid_cell(cell))
    except (TypeError, ValueError):
        return False


def valid_lat_lon(lat: float, lon: float) -> bool:
    return -90.0 <= lat <= 90.0 and -180.0 <= lon <= 180.0
