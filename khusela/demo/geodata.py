"""Gauteng reference geography shipped with the package (see `data/gauteng.json`).

Station points are SAPS's own (2013 release); municipal areas are approximated as the
union of H3 res-7 cells nearest each station, which is close enough for a demo map.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path

DATA = Path(__file__).parent / "data" / "gauteng.json"


@dataclass(frozen=True, slots=True)
class Municipality:
    code: str
    name: str
    kind: str
    district_code: str | None
    centroid: tuple[float, float]
    cells: frozenset[str]


@dataclass(frozen=True, slots=True)
class Station:
    name: str
    lat: float
    lon: float
    municipality_code: str
    cell: str
    precinct: frozenset[str]


@dataclass(frozen=True, slots=True)
class Province:
    code: str
    name: str
    cells: frozenset[str]
    municipalities: tuple[Municipality, ...]
    stations: tuple[Station, ...]

    def municipality(self, code: str) -> Municipality:
        return next(m for m in self.municipalities if m.code == code)

    def locals_of(self, code: str) -> frozenset[str]:
        """The metro or local municipality codes making up `code` (itself if not a district)."""
        parts = [m.code for m in self.municipalities if m.district_code == code]
        return frozenset(parts or [code])


@cache
def gauteng() -> Province:
    raw = json.loads(DATA.read_text())
    return Province(
        code=raw["province"]["code"],
        name=raw["province"]["name"],
        cells=frozenset(raw["province"]["h3_cells"]),
        municipalities=tuple(
            Municipality(
                m["code"],
                m["name"],
                m["kind"],
                m["district_code"],
                (m["centroid"][0], m["centroid"][1]),
                frozenset(m["h3_cells"]),
            )
            for m in raw["municipalities"]
        ),
        stations=tuple(
            Station(
                s["name"],
                s["lat"],
                s["lon"],
                s["municipality_code"],
                s["h3_cell"],
                frozenset(s["precinct_cells"]),
            )
            for s in raw["stations"]
        ),
    )
