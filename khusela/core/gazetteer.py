"""Which province and municipality a point lies in, for routing alerts to jurisdictions.

The bundled gazetteer knows Gauteng (municipal areas as H3 res-7 cells, see
`khusela/demo/geodata.py`). A point it does not know, or an alert with no location at all,
is routed to the deployment's home province and flagged, so that the provincial command
centre sees it: a panic is never left without someone responsible for it.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Protocol

from khusela.core.geo import cell_of


@dataclass(frozen=True, slots=True)
class Locality:
    province: str
    municipality: str | None
    cell: str | None
    covered: bool
    """False when the point lies outside every known municipality (routed to the home province)."""


class Gazetteer(Protocol):
    def locate(self, lat: float | None, lon: float | None) -> Locality:
        """The locality of a point; `None` coordinates mean the location is unknown."""
        ...


class BundledGazetteer:
    def __init__(self, home_province: str = "GP") -> None:
        self.home_province = home_province
        self._cells = _cell_index()

    def locate(self, lat: float | None, lon: float | None) -> Locality:
        if lat is None or lon is None:
            return Locality(self.home_province, None, None, covered=False)
        cell = cell_of(lat, lon)
        known = self._cells.get(cell)
        if known is None:
            return Locality(self.home_province, None, cell, covered=False)
        return Locality(known[0], known[1], cell, covered=True)


@cache
def _cell_index() -> dict[str, tuple[str, str]]:
    from khusela.demo.geodata import gauteng

    province = gauteng()
    index: dict[str, tuple[str, str]] = {}
    for municipality in province.municipalities:
        if municipality.kind == "district":
            continue
        for cell in municipality.cells:
            index[cell] = (province.code, municipality.code)
    return index
