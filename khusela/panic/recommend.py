"""Nearest-unit recommendation: the available units that can reach an alert soonest.

From pure rules to I/O:
- the rules, one small table each: what help an alert type needs (`NEEDS`: unit kinds,
  or a capability such as `medical` that lets another kind stand in) and where each type
  of agency may be sent (`REACH`); community partners (CPFs, neighbourhood watches) also
  need an active dispatch agreement, looked up once per request (`Scene.agreed`);
- `UnitIndex`: available units in memory, one lat/lon grid per unit kind and capability,
  searched in rings of cells expanding from the alert until no unvisited cell can hold a
  unit faster than the k-th found; "5 best of 10,000" in about 0.1 ms, p99 under 0.4 ms
  (see `bench/panic_dispatch.py`);
- `LiveIndex`: one index per database, rebuilt from the units table every five minutes and
  caught up from changed rows before each recommendation;
- the `Router` port: ETAs by straight line (haversine * road factor / the kind's speed) by
  default, or by an OSRM server when `KHUSELA_ROUTING_URL` names one; when the service
  fails the answer falls back to straight line and says so.

Positions older than 300 s are never used (`avl.USABLE_FOR`); 60-300 s are used, flagged
stale. Grids assume longitudes do not wrap at ±180° (true for any South African deployment).
"""

from __future__ import annotations

import json
import math
import os
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from functools import cache
from heapq import heappush, heapreplace
from typing import Any, Protocol
from urllib.parse import urlsplit
from urllib.request import Request, urlopen
from weakref import WeakKeyDictionary

import structlog
from sqlalchemy import Connection, func, select

from khusela.core.clock import Clock, SystemClock, as_utc
from khusela.core.errors import Conflict
from khusela.identity.model import AgencyType, Jurisdiction, Principal
from khusela.identity.policy import Action
from khusela.identity.tables import agencies, agency_cells
from khusela.panic import records
from khusela.panic.avl import FRESH_FOR, USABLE_FOR, Freshness
from khusela.panic.model import OPEN_STATUSES, AlertStatus, AlertType, UnitKind, UnitStatus
from khusela.panic.queries import visible_alert
from khusela.panic.tables import units
from khusela.partners.rules import dispatch_partners
from khusela.store.database import Database

log = structlog.get_logger(__name__)

EARTH_RADIUS_M = 6_371_008.8
ROAD_FACTOR = 1.4
"""Roads are longer than the straight line; 1.4 is the usual urban detour index."""
DEFAULT_K = 5

SPEED_KMH: dict[UnitKind, float] = {
    UnitKind.POLICE_VEHICLE: 60.0,
    UnitKind.METRO_POLICE_VEHICLE: 60.0,
    UnitKind.AMBULANCE: 60.0,
    UnitKind.FIRE_ENGINE: 50.0,
    UnitKind.SECURITY_VEHICLE: 60.0,
    UnitKind.CPF_PATROL: 40.0,
    UnitKind.FOOT_PATROL: 5.0,
}
"""Average speed over the road distance, lights and sirens where the kind has them."""


def speed_mps(kind: UnitKind) -> float:
    return SPEED_KMH[kind] / 3.6


def haversine_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance in metres."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    a = (
        math.sin((p2 - p1) / 2) ** 2
        + math.cos(p1) * math.cos(p2) * math.sin(math.radians(lon2 - lon1) / 2) ** 2
    )
    return 2 * EARTH_RADIUS_M * math.asin(math.sqrt(min(1.0, a)))


# --- the rules ----------------------------------------------------------------------------


def capability_tag(capability: str) -> str:
    return f"cap:{capability}"


@dataclass(frozen=True, slots=True)
class Need:
    """One kind of help: a unit of one of `kinds`, or any unit listing `capability`."""

    name: str
    kinds: frozenset[UnitKind]
    capability: str | None = None

    @property
    def tags(self) -> tuple[str, ...]:
        """The index grids to search for this need."""
        kinds = tuple(sorted(k.value for k in self.kinds))
        return kinds + ((capability_tag(self.capability),) if self.capability else ())


_ALL_POLICING = frozenset(
    {
        UnitKind.POLICE_VEHICLE,
        UnitKind.METRO_POLICE_VEHICLE,
        UnitKind.SECURITY_VEHICLE,
        UnitKind.CPF_PATROL,
        UnitKind.FOOT_PATROL,
    }
)
PROTECTION = Need("police", _ALL_POLICING)
LAW_ENFORCEMENT = Need("police", frozenset({UnitKind.POLICE_VEHICLE, UnitKind.METRO_POLICE_VEHICLE}))
MEDICAL = Need("medical", frozenset({UnitKind.AMBULANCE}), "medical")
FIREFIGHTING = Need("fire", frozenset({UnitKind.FIRE_ENGINE}), "fire")
ANY = Need("any", frozenset(UnitKind))

NEEDS: dict[AlertType, tuple[Need, ...]] = {
    AlertType.CRIME: (PROTECTION,),
    AlertType.GBV: (PROTECTION,),
    AlertType.MEDICAL: (MEDICAL,),
    AlertType.FIRE: (FIREFIGHTING,),
    AlertType.ACCIDENT: (LAW_ENFORCEMENT, MEDICAL),
    AlertType.OTHER: (ANY,),
}
"""What each alert type needs. An accident needs police and an ambulance: the answer holds
the best of each, whatever their ETAs."""


class Reach(StrEnum):
    PROVINCE = "province"
    """Anywhere in the province the agency serves (its own, or where its unit is based)."""
    JURISDICTION = "jurisdiction"
    """Only inside the agency's own jurisdiction (a contracted area)."""
    AGREEMENT = "agreement"
    """Only inside the agency's own jurisdiction, and only for an agency that an active
    dispatch agreement binds to whoever is responsible for the alert (volunteers are sent
    on terms their group signed up to, not by anyone who can see the map)."""
    NOWHERE = "nowhere"


REACH: dict[AgencyType, Reach] = {
    AgencyType.SAPS_STATION: Reach.PROVINCE,
    AgencyType.METRO_POLICE: Reach.PROVINCE,
    AgencyType.EMS: Reach.PROVINCE,
    AgencyType.MUNICIPALITY: Reach.PROVINCE,
    AgencyType.PROVINCIAL_DEPARTMENT: Reach.PROVINCE,
    AgencyType.PRIVATE_SECURITY: Reach.JURISDICTION,
    AgencyType.CPF: Reach.AGREEMENT,
    AgencyType.NEIGHBOURHOOD_WATCH: Reach.AGREEMENT,
    AgencyType.SSA: Reach.NOWHERE,
}
"""Which agencies may be dispatched where. A type missing here is never dispatched.
Private security keeps to its jurisdiction only: it comes in through the partner link
(`panic/partners/`), where the company accepts or rejects each job itself."""


@dataclass(frozen=True, slots=True)
class AgencyInfo:
    id: str
    name: str
    type: AgencyType
    jurisdiction: Jurisdiction


@dataclass(frozen=True, slots=True)
class Scene:
    """Where help is needed, as recommendation and dispatch rules see an alert."""

    lat: float
    lon: float
    type: AlertType
    province: str | None = None
    municipality: str | None = None
    cell: str | None = None
    agreed: frozenset[str] = frozenset()
    """Agencies whose community-partner units may be sent here: those an active dispatch
    agreement binds to the dispatcher's agency or the alert's (`agreed_partners`)."""

    @classmethod
    def of(cls, alert: records.Alert, agreed: frozenset[str] = frozenset()) -> Scene:
        if alert["lat"] is None or alert["lon"] is None:
            raise Conflict("the alert has no location yet: recommendations need one")
        return cls(
            alert["lat"],
            alert["lon"],
            AlertType(alert["type"]),
            alert["province"],
            alert["municipality"],
            alert["cell"],
            agreed,
        )


class Refusal(StrEnum):
    """Why a unit may not be sent somewhere (dispatch words its 403 from this)."""

    NEVER = "never"
    """Its agency is unknown or of a type that is never dispatched."""
    OUT_OF_REACH = "out_of_reach"
    """The place lies outside where its agency may be sent."""
    NO_AGREEMENT = "no_agreement"
    """A community partner in its own area, but no active dispatch agreement covers it."""


def refusal(
    agency: AgencyInfo | None,
    unit_province: str | None,
    province: str | None,
    municipality: str | None,
    cell: str | None,
    *,
    agreed: AbstractSet[str] = frozenset(),
) -> Refusal | None:
    """Why a unit of `agency`, based in `unit_province`, may not be sent to a place, or
    None when it may. `agreed`: the agencies bound by an active dispatch agreement to whoever
    is responsible for the alert (only community partners need to be among them)."""
    if agency is None:
        return Refusal.NEVER
    reach = REACH.get(agency.type, Reach.NOWHERE)
    if reach is Reach.NOWHERE:
        return Refusal.NEVER
    if agency.jurisdiction.covers(province, municipality, cell):
        if reach is Reach.AGREEMENT and agency.id not in agreed:
            return Refusal.NO_AGREEMENT
        return None
    if reach is Reach.PROVINCE and province is not None and province == unit_province:
        return None
    return Refusal.OUT_OF_REACH


def may_send(
    agency: AgencyInfo | None,
    unit_province: str | None,
    province: str | None,
    municipality: str | None,
    cell: str | None,
    *,
    agreed: AbstractSet[str] = frozenset(),
) -> bool:
    """Whether a unit of `agency`, based in `unit_province`, may be sent to a place (see
    `refusal`)."""
    return refusal(agency, unit_province, province, municipality, cell, agreed=agreed) is None


def qualifies(kind: UnitKind, capabilities: Iterable[str], alert_type: AlertType) -> bool:
    """Whether a unit of `kind` with `capabilities` meets one of the alert type's needs."""
    caps = set(capabilities)
    return any(
        kind in n.kinds or (n.capability is not None and n.capability in caps) for n in NEEDS[alert_type]
    )


# --- the index ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class IndexedUnit:
    """An available unit with a known position, as the index holds it."""

    id: str
    agency_id: str
    callsign: str
    kind: UnitKind
    lat: float
    lon: float
    location_at: datetime
    province: str | None = None
    municipality: str | None = None
    capabilities: frozenset[str] = frozenset()
    seen: float = field(init=False, repr=False)
    speed: float = field(init=False, repr=False)
    lat_r: float = field(init=False, repr=False)
    lon_r: float = field(init=False, repr=False)
    cos_lat: float = field(init=False, repr=False)
    tags: tuple[str, ...] = field(init=False, repr=False)
    """The index grids the unit lives in: its kind and each capability."""

    def __post_init__(self) -> None:
        # Precomputed once here so the search loop does no conversions.
        lat_r = math.radians(self.lat)
        tags = (self.kind.value, *(capability_tag(c) for c in sorted(self.capabilities)))
        for name, value in (
            ("seen", as_utc(self.location_at).timestamp()),
            ("speed", speed_mps(self.kind)),
            ("lat_r", lat_r),
            ("lon_r", math.radians(self.lon)),
            ("cos_lat", math.cos(lat_r)),
            ("tags", tags),
        ):
            object.__setattr__(self, name, value)


@dataclass(frozen=True, slots=True)
class Ranked:
    unit: IndexedUnit
    distance_m: float
    eta_seconds: float


DEFAULT_CELL_DEG = 0.05
UNITS_PER_CELL = 2.0
_Key = tuple[int, int]


class _Grid:
    """Units of one tag bucketed by lat/lon cells of `cell` degrees."""

    __slots__ = ("buckets", "cell", "col_max", "col_min", "max_abs_lat", "max_speed", "row_max", "row_min")

    def __init__(self, cell_deg: float) -> None:
        self.cell = cell_deg
        self.buckets: dict[_Key, dict[str, IndexedUnit]] = {}
        self.row_min = self.col_min = 1 << 62
        self.row_max = self.col_max = -(1 << 62)
        # Both only grow between rebuilds; they keep the search bounds safe, if a little loose.
        self.max_speed = 0.0
        self.max_abs_lat = 0.0

    def key(self, lat: float, lon: float) -> _Key:
        return math.floor(lat / self.cell), math.floor(lon / self.cell)

    def add(self, unit: IndexedUnit, key: _Key) -> None:
        bucket = self.buckets.get(key)
        if bucket is None:
            bucket = self.buckets[key] = {}
        bucket[unit.id] = unit
        row, col = key
        self.row_min, self.row_max = min(self.row_min, row), max(self.row_max, row)
        self.col_min, self.col_max = min(self.col_min, col), max(self.col_max, col)
        self.max_speed = max(self.max_speed, unit.speed)
        self.max_abs_lat = max(self.max_abs_lat, abs(unit.lat))

    def remove(self, unit_id: str, key: _Key) -> None:
        bucket = self.buckets.get(key)
        if bucket is not None:
            bucket.pop(unit_id, None)
            if not bucket:
                del self.buckets[key]

    def ring(self, row0: int, col0: int, r: int) -> Iterable[dict[str, IndexedUnit]]:
        """The non-empty buckets on the square ring `r` cells from (row0, col0), clipped to
        the occupied extent."""
        get = self.buckets.get
        if r == 0:
            bucket = get((row0, col0))
            return () if bucket is None else (bucket,)
        found: list[dict[str, IndexedUnit]] = []
        c_lo, c_hi = max(col0 - r, self.col_min), min(col0 + r, self.col_max)
        for row in (row0 - r, row0 + r):
            if self.row_min <= row <= self.row_max:
                for col in range(c_lo, c_hi + 1):
                    bucket = get((row, col))
                    if bucket is not None:
                        found.append(bucket)
        r_lo, r_hi = max(row0 - r + 1, self.row_min), min(row0 + r - 1, self.row_max)
        for col in (col0 - r, col0 + r):
            if self.col_min <= col <= self.col_max:
                for row in range(r_lo, r_hi + 1):
                    bucket = get((row, col))
                    if bucket is not None:
                        found.append(bucket)
        return found


def _cell_size(members: Sequence[IndexedUnit], per_cell: float) -> float:
    """A cell size (degrees) giving about `per_cell` units per occupied cell."""
    lats = [u.lat for u in members]
    lons = [u.lon for u in members]
    area = max(max(lats) - min(lats), 0.01) * max(max(lons) - min(lons), 0.01)
    return min(1.0, max(0.002, math.sqrt(area * per_cell / len(members))))


class UnitIndex:
    """Available units in memory, searchable for the k fastest to reach a point."""

    def __init__(self, cell_sizes: Mapping[str, float] | None = None) -> None:
        self._grids: dict[str, _Grid] = {}
        self._units: dict[str, tuple[IndexedUnit, tuple[tuple[str, _Key], ...]]] = {}
        self._cell_sizes = dict(cell_sizes or {})

    @classmethod
    def build(cls, members: Iterable[IndexedUnit], per_cell: float = UNITS_PER_CELL) -> UnitIndex:
        """An index sized for `members`: each grid's cells hold about `per_cell` units."""
        members = list(members)
        by_tag: dict[str, list[IndexedUnit]] = defaultdict(list)
        for unit in members:
            for tag in unit.tags:
                by_tag[tag].append(unit)
        index = cls({tag: _cell_size(group, per_cell) for tag, group in by_tag.items()})
        for unit in members:
            index.put(unit)
        return index

    def __len__(self) -> int:
        return len(self._units)

    def __contains__(self, unit_id: object) -> bool:
        return unit_id in self._units

    def get(self, unit_id: str) -> IndexedUnit | None:
        entry = self._units.get(unit_id)
        return None if entry is None else entry[0]

    def put(self, unit: IndexedUnit) -> None:
        """Add a unit, or move it to its new position."""
        self.discard(unit.id)
        placed: list[tuple[str, _Key]] = []
        for tag in unit.tags:
            grid = self._grids.get(tag)
            if grid is None:
                grid = self._grids[tag] = _Grid(self._cell_sizes.get(tag, DEFAULT_CELL_DEG))
            key = grid.key(unit.lat, unit.lon)
            grid.add(unit, key)
            placed.append((tag, key))
        self._units[unit.id] = (unit, tuple(placed))

    def discard(self, unit_id: str) -> None:
        entry = self._units.pop(unit_id, None)
        if entry is not None:
            for tag, key in entry[1]:
                self._grids[tag].remove(unit_id, key)

    def nearest(
        self,
        lat: float,
        lon: float,
        tags: Iterable[str],
        k: int,
        accept: Callable[[IndexedUnit], bool] | None = None,
        *,
        seen_since: float | None = None,
        road_factor: float = ROAD_FACTOR,
    ) -> list[Ranked]:
        """The `k` units in grids `tags` with the shortest straight-line ETA to (lat, lon),
        best first; only units `accept`ed and seen at or after `seen_since` (epoch s)."""
        if k <= 0:
            return []
        search = _Search(lat, lon, k, accept, seen_since, road_factor)
        plans: list[tuple[_Grid, int, int, int, int]] = []
        for tag in dict.fromkeys(tags):
            grid = self._grids.get(tag)
            if grid is not None and grid.buckets:
                row0, col0 = grid.key(lat, lon)
                first = max(
                    grid.row_min - row0, row0 - grid.row_max, grid.col_min - col0, col0 - grid.col_max, 0
                )
                last = max(row0 - grid.row_min, grid.row_max - row0, col0 - grid.col_min, grid.col_max - col0)
                plans.append((grid, row0, col0, first, last))
        while plans:
            remaining: list[tuple[_Grid, int, int, int, int]] = []
            for grid, row0, col0, r, last in plans:
                if r > last or search.beyond(grid, r):
                    continue
                for bucket in grid.ring(row0, col0, r):
                    search.offer(bucket)
                remaining.append((grid, row0, col0, r + 1, last))
            plans = remaining
        return search.ranked()


class _Search:
    """One `nearest` query: the k best so far (a max-heap on ETA) and the units seen."""

    __slots__ = ("accept", "cos_q", "heap", "k", "lat", "lat_r", "lon_r", "road_factor", "since", "visited")

    def __init__(
        self,
        lat: float,
        lon: float,
        k: int,
        accept: Callable[[IndexedUnit], bool] | None,
        seen_since: float | None,
        road_factor: float,
    ) -> None:
        self.lat, self.k, self.accept, self.road_factor = lat, k, accept, road_factor
        self.lat_r, self.lon_r = math.radians(lat), math.radians(lon)
        self.cos_q = math.cos(self.lat_r)
        self.since = -math.inf if seen_since is None else seen_since
        self.heap: list[tuple[float, str, float, IndexedUnit]] = []
        self.visited: set[str] = set()

    def beyond(self, grid: _Grid, r: int) -> bool:
        """Whether no unit on ring `r` of `grid` can beat the k-th best found so far.

        Every point on ring r lies at least r-1 whole cells away in latitude or longitude;
        the haversine formula bounds the distance for both (cos(lat) >= c_min everywhere
        in the grid and at the query)."""
        if len(self.heap) < self.k or r < 2:
            return False
        gap = math.radians((r - 1) * grid.cell)
        c_min = math.cos(math.radians(min(90.0, max(grid.max_abs_lat, abs(self.lat)))))
        bound = min(EARTH_RADIUS_M * gap, 2 * EARTH_RADIUS_M * math.asin(min(1.0, c_min * math.sin(gap / 2))))
        return bound * self.road_factor / grid.max_speed >= -self.heap[0][0]

    def offer(self, bucket: dict[str, IndexedUnit]) -> None:
        sin, asin, sqrt = math.sin, math.asin, math.sqrt
        lat_r, lon_r, cos_q, factor = self.lat_r, self.lon_r, self.cos_q, self.road_factor
        heap, visited, k, since, accept = self.heap, self.visited, self.k, self.since, self.accept
        two_r = 2 * EARTH_RADIUS_M
        for unit in bucket.values():
            if unit.seen < since or unit.id in visited:
                continue
            visited.add(unit.id)
            a = sin((unit.lat_r - lat_r) / 2) ** 2 + cos_q * unit.cos_lat * sin((unit.lon_r - lon_r) / 2) ** 2
            distance = two_r * asin(sqrt(min(1.0, a)))
            eta = distance * factor / unit.speed
            if len(heap) == k and eta >= -heap[0][0]:
                continue
            if accept is not None and not accept(unit):
                continue
            item = (-eta, unit.id, distance, unit)
            if len(heap) < k:
                heappush(heap, item)
            else:
                heapreplace(heap, item)

    def ranked(self) -> list[Ranked]:
        best = sorted(self.heap, key=lambda item: (-item[0], item[1]))
        return [Ranked(unit, distance, -neg_eta) for neg_eta, _, distance, unit in best]


# --- routing ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Point:
    lat: float
    lon: float


class RoutingFailed(Exception):
    """The routing service gave no usable answer; callers fall back to straight line."""


class Router(Protocol):
    """Travel times to a scene. Adapters: `StraightLineRouter` (default), `OsrmRouter`."""

    name: str

    def eta_seconds(
        self, origins: Sequence[Point], destination: Point, speeds_mps: Sequence[float]
    ) -> list[float | None]:
        """Seconds from each origin to `destination` (None where there is no route).
        `speeds_mps` are each mover's own speed, for routers that estimate rather than route.
        Raises RoutingFailed when the service cannot answer."""
        ...


class StraightLineRouter:
    """Haversine distance * road factor / speed: no service, always answers."""

    name = "straight_line"

    def __init__(self, road_factor: float = ROAD_FACTOR) -> None:
        self.road_factor = road_factor

    def eta_seconds(
        self, origins: Sequence[Point], destination: Point, speeds_mps: Sequence[float]
    ) -> list[float | None]:
        return [
            haversine_m(o.lat, o.lon, destination.lat, destination.lon) * self.road_factor / speed
            for o, speed in zip(origins, speeds_mps, strict=True)
        ]


class OsrmRouter:
    """Road travel times from an OSRM server's table service (`/table/v1/{profile}/…`).

    One request per recommendation: sources are the shortlisted units, the one destination
    the scene. The profile's own speeds apply (OSRM knows nothing of sirens).
    """

    name = "osrm"
    MAX_BODY = 1 << 20

    def __init__(
        self, base_url: str, *, profile: str = "driving", timeout_s: float = 1.5, rest_s: float = 30.0
    ) -> None:
        parts = urlsplit(base_url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError(f"routing URL must be http(s)://host[:port][/path], not {base_url!r}")
        self.base_url = base_url.rstrip("/")
        self.profile = profile
        self.timeout_s = timeout_s
        self.rest_s = rest_s
        """After a failure, answer RoutingFailed at once for this long: an operator waiting on
        a dead service for every recommendation loses more than straight-line ETAs cost."""
        self._resting_until = 0.0

    def eta_seconds(
        self, origins: Sequence[Point], destination: Point, speeds_mps: Sequence[float]
    ) -> list[float | None]:
        if not origins:
            return []
        if time.monotonic() < self._resting_until:
            raise RoutingFailed("OSRM failed recently; not asked again yet")
        try:
            return self._table(origins, destination)
        except RoutingFailed:
            self._resting_until = time.monotonic() + self.rest_s
            raise

    def _table(self, origins: Sequence[Point], destination: Point) -> list[float | None]:
        coordinates = ";".join(f"{p.lon:.6f},{p.lat:.6f}" for p in (destination, *origins))
        sources = ";".join(str(i) for i in range(1, len(origins) + 1))
        url = (
            f"{self.base_url}/table/v1/{self.profile}/{coordinates}"
            f"?sources={sources}&destinations=0&annotations=duration"
        )
        request = Request(url, headers={"Accept": "application/json"})  # noqa: S310 - scheme checked in __init__
        try:
            with urlopen(request, timeout=self.timeout_s) as response:  # noqa: S310 - scheme checked in __init__
                body = json.loads(response.read(self.MAX_BODY))
        except (OSError, ValueError) as exc:  # refused, timeout, HTTP error status, bad JSON
            raise RoutingFailed(f"OSRM did not answer: {type(exc).__name__}") from exc
        return _osrm_durations(body, len(origins))


def _osrm_durations(body: Any, n: int) -> list[float | None]:
    if not isinstance(body, dict) or body.get("code") != "Ok":
        code = body.get("code") if isinstance(body, dict) else None
        raise RoutingFailed(f"OSRM answered {code!r}")
    rows = body.get("durations")
    if not isinstance(rows, list) or len(rows) != n:
        raise RoutingFailed("OSRM answered a table of the wrong shape")
    out: list[float | None] = []
    for row in rows:
        if not isinstance(row, list) or len(row) != 1:
            raise RoutingFailed("OSRM answered a table of the wrong shape")
        value = row[0]
        if value is None:
            out.append(None)
        elif (
            isinstance(value, int | float)
            and not isinstance(value, bool)
            and math.isfinite(value)
            and value >= 0
        ):
            out.append(float(value))
        else:
            raise RoutingFailed("OSRM answered a duration that is not a number")
    return out


ROUTING_URL_ENV = "KHUSELA_ROUTING_URL"


def router_from_env(environ: Mapping[str, str] | None = None) -> Router:
    """OSRM at `KHUSELA_ROUTING_URL` when set, otherwise straight line. One router per URL
    for the process, so that it remembers when the service failed."""
    url = (os.environ if environ is None else environ).get(ROUTING_URL_ENV, "").strip()
    return _osrm(url) if url else StraightLineRouter()


@cache
def _osrm(url: str) -> OsrmRouter:
    return OsrmRouter(url)


# --- recommending -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Recommendation:
    unit: IndexedUnit
    agency_name: str
    need: str
    """Which of the alert's needs the unit meets (`police`, `medical`, `fire`, `any`)."""
    distance_m: float
    eta_seconds: float
    eta_source: str
    """`straight_line` or the router's name."""
    location_age_seconds: float
    freshness: Freshness


@dataclass(frozen=True, slots=True)
class Recommendations:
    scene: Scene
    units: list[Recommendation]
    router: str
    routing_fallback: bool
    """True when the routing service failed and straight-line ETAs were used instead."""


Shortlist = list[tuple[Need, list[Ranked]]]


def shortlist(
    index: UnitIndex,
    agencies_by_id: Mapping[str, AgencyInfo],
    scene: Scene,
    now: datetime,
    size: int,
    road_factor: float = ROAD_FACTOR,
) -> Shortlist:
    """For each of the scene's needs, the `size` units with the best straight-line ETA that
    may be sent there (community partners only when `scene.agreed` names their agency) and
    whose position is usable."""
    memo: dict[tuple[str, str | None], bool] = {}

    def allowed(unit: IndexedUnit) -> bool:
        key = (unit.agency_id, unit.province)
        ok = memo.get(key)
        if ok is None:
            agency = agencies_by_id.get(unit.agency_id)
            ok = memo[key] = may_send(
                agency, unit.province, scene.province, scene.municipality, scene.cell, agreed=scene.agreed
            )
        return ok

    since = now.timestamp() - USABLE_FOR.total_seconds()
    return [
        (
            need,
            index.nearest(
                scene.lat, scene.lon, need.tags, size, allowed, seen_since=since, road_factor=road_factor
            ),
        )
        for need in NEEDS[scene.type]
    ]


MAX_ROUTED = 25
"""At most this many units are sent to the routing service per recommendation."""


def rank(
    lists: Shortlist,
    agencies_by_id: Mapping[str, AgencyInfo],
    scene: Scene,
    now: datetime,
    k: int,
    router: Router,
) -> Recommendations:
    """Order the shortlisted units by the router's ETA and keep the best `k`, always with the
    best unit of each need (so at least one per need, even past `k`)."""
    etas: dict[str, tuple[float, str]] = {}
    fallback = False
    unique = list({r.unit.id: r for _, ranked in lists for r in ranked}.values())
    if unique and not isinstance(router, StraightLineRouter):
        try:
            routed = router.eta_seconds(
                [Point(r.unit.lat, r.unit.lon) for r in unique],
                Point(scene.lat, scene.lon),
                [r.unit.speed for r in unique],
            )
            etas = {
                r.unit.id: (eta, router.name)
                for r, eta in zip(unique, routed, strict=True)
                if eta is not None
            }
        except RoutingFailed as exc:
            log.warning("routing.fallback", router=router.name, reason=str(exc))
            fallback = True
    per_need: list[list[Recommendation]] = []
    for need, ranked in lists:
        options = [_recommendation(r, need, agencies_by_id, now, etas) for r in ranked]
        options.sort(key=lambda rec: (rec.eta_seconds, rec.unit.id))
        per_need.append(options)
    chosen: dict[str, Recommendation] = {}
    for options in per_need:
        if options and options[0].unit.id not in chosen:
            chosen[options[0].unit.id] = options[0]
    pool = sorted(
        (rec for options in per_need for rec in options), key=lambda rec: (rec.eta_seconds, rec.unit.id)
    )
    for rec in pool:
        if len(chosen) >= k:
            break
        chosen.setdefault(rec.unit.id, rec)
    best = sorted(chosen.values(), key=lambda rec: (rec.eta_seconds, rec.unit.id))
    name = StraightLineRouter.name if fallback else router.name
    return Recommendations(scene, best, name, fallback)


def _recommendation(
    ranked: Ranked,
    need: Need,
    agencies_by_id: Mapping[str, AgencyInfo],
    now: datetime,
    etas: Mapping[str, tuple[float, str]],
) -> Recommendation:
    unit = ranked.unit
    eta, source = etas.get(unit.id, (ranked.eta_seconds, StraightLineRouter.name))
    age = max(0.0, now.timestamp() - unit.seen)
    agency = agencies_by_id.get(unit.agency_id)
    return Recommendation(
        unit=unit,
        agency_name=agency.name if agency else "",
        need=need.name,
        distance_m=ranked.distance_m,
        eta_seconds=eta,
        eta_source=source,
        location_age_seconds=age,
        freshness=Freshness.FRESH if age < FRESH_FOR.total_seconds() else Freshness.STALE,
    )


def recommend(
    index: UnitIndex,
    agencies_by_id: Mapping[str, AgencyInfo],
    scene: Scene,
    now: datetime,
    *,
    k: int = DEFAULT_K,
    router: Router | None = None,
) -> Recommendations:
    """The best `k` units for `scene` at `now` (pure: no database, the router aside)."""
    router = router or StraightLineRouter()
    size, road_factor = _search_size(router, k)
    lists = shortlist(index, agencies_by_id, scene, now, size, road_factor)
    return rank(lists, agencies_by_id, scene, now, k, router)


def _search_size(router: Router, k: int) -> tuple[int, float]:
    """How many units to shortlist per need, and the road factor to rank them by: a road
    router may reorder them, so it gets a few more than `k` to choose from."""
    if isinstance(router, StraightLineRouter):
        return k, router.road_factor
    return min(max(2 * k, k + 5), MAX_ROUTED), ROAD_FACTOR


# --- the index of one database ------------------------------------------------------------


def indexed(row: Any) -> IndexedUnit | None:
    """The index entry for a unit row, or None when the unit cannot be recommended."""
    if (
        row.status != UnitStatus.AVAILABLE.value
        or row.lat is None
        or row.lon is None
        or row.location_at is None
    ):
        return None
    return IndexedUnit(
        id=row.id,
        agency_id=row.agency_id,
        callsign=row.callsign,
        kind=UnitKind(row.kind),
        lat=row.lat,
        lon=row.lon,
        location_at=as_utc(row.location_at),
        province=row.province,
        municipality=row.municipality,
        capabilities=frozenset(str(c) for c in (row.capabilities or ())),
    )


def load_agencies(conn: Connection) -> dict[str, AgencyInfo]:
    cells: dict[str, set[str]] = defaultdict(set)
    for agency_id, cell in conn.execute(select(agency_cells.c.agency_id, agency_cells.c.cell)):
        cells[agency_id].add(cell)
    found: dict[str, AgencyInfo] = {}
    for row in conn.execute(select(agencies)):
        try:
            kind = AgencyType(row.type)
        except ValueError:
            continue
        where = Jurisdiction(
            provinces=frozenset(row.provinces or ()),
            municipalities=frozenset(row.municipalities or ()),
            cells=frozenset(cells.get(row.id, ())),
        )
        found[row.id] = AgencyInfo(row.id, row.name, kind, where)
    return found


_UNIT_FIELDS = (
    units.c.id,
    units.c.agency_id,
    units.c.callsign,
    units.c.kind,
    units.c.status,
    units.c.lat,
    units.c.lon,
    units.c.province,
    units.c.municipality,
    units.c.capabilities,
    units.c.location_at,
    units.c.updated_at,
)


class LiveIndex:
    """One database's index of available units, kept in step with the units table.

    `refresh` reads the unit rows changed since the last look (with a short look-back for
    transactions that committed late) and, every `full_every`, rebuilds from scratch, which
    also drops deleted units, re-sizes the grids and picks up anything the look-back
    missed. A missed change costs only ranking: `dispatch` re-checks the unit's row under a
    lock. With several API nodes each has its own index; all read the same table.
    """

    def __init__(
        self, *, full_every: timedelta = timedelta(minutes=5), lookback: timedelta = timedelta(seconds=2)
    ) -> None:
        self._lock = threading.Lock()
        self._index = UnitIndex()
        self._agencies: dict[str, AgencyInfo] = {}
        self._full_every = full_every.total_seconds()
        self._lookback = lookback
        self._built: float | None = None
        self._watermark: datetime | None = None

    @property
    def agencies(self) -> Mapping[str, AgencyInfo]:
        return self._agencies

    def __len__(self) -> int:
        return len(self._index)

    def refresh(self, conn: Connection, now: datetime) -> None:
        """Bring the index up to date with the units table as `conn` sees it."""
        with self._lock:
            if self._built is None or time.monotonic() - self._built >= self._full_every:
                self._rebuild(conn, now)
            else:
                self._catch_up(conn)

    def _rebuild(self, conn: Connection, now: datetime) -> None:
        watermark = conn.execute(select(func.max(units.c.updated_at))).scalar()
        query = select(*_UNIT_FIELDS).where(
            units.c.status == UnitStatus.AVAILABLE.value, units.c.location_at >= now - USABLE_FOR
        )
        members = [u for u in map(indexed, conn.execute(query)) if u is not None]
        self._agencies = load_agencies(conn)
        self._index = UnitIndex.build(members)
        self._watermark = None if watermark is None else as_utc(watermark)
        self._built = time.monotonic()

    def _catch_up(self, conn: Connection) -> None:
        query = select(*_UNIT_FIELDS)
        if self._watermark is not None:
            query = query.where(units.c.updated_at >= self._watermark - self._lookback)
        unknown_agency = False
        for row in conn.execute(query):
            stamp = as_utc(row.updated_at)
            if self._watermark is None or stamp > self._watermark:
                self._watermark = stamp
            if _unchanged(self._index.get(row.id), row):
                continue  # read again only because it lies in the look-back window
            entry = indexed(row)
            if entry is None:
                self._index.discard(row.id)
            else:
                self._index.put(entry)
                unknown_agency = unknown_agency or entry.agency_id not in self._agencies
        if unknown_agency:
            self._agencies = load_agencies(conn)

    def recommend(
        self, scene: Scene, now: datetime, *, k: int = DEFAULT_K, router: Router | None = None
    ) -> Recommendations:
        """As `recommend`, on this index; the router is asked outside the lock."""
        router = router or StraightLineRouter()
        size, road_factor = _search_size(router, k)
        with self._lock:
            lists = shortlist(self._index, self._agencies, scene, now, size, road_factor)
            agencies_now = self._agencies
        return rank(lists, agencies_now, scene, now, k, router)


def _unchanged(entry: IndexedUnit | None, row: Any) -> bool:
    """Whether an indexed unit still matches its row (an unindexed one never does)."""
    return (
        entry is not None
        and row.status == UnitStatus.AVAILABLE.value
        and entry.lat == row.lat
        and entry.lon == row.lon
        and row.location_at is not None
        and entry.seen == as_utc(row.location_at).timestamp()
        and entry.agency_id == row.agency_id
        and entry.kind.value == row.kind
        and entry.capabilities == frozenset(row.capabilities or ())
    )


_LIVE: WeakKeyDictionary[Database, LiveIndex] = WeakKeyDictionary()
_LIVE_LOCK = threading.Lock()


def live_index(db: Database) -> LiveIndex:
    """The process's index for `db` (one per database, created on first use)."""
    with _LIVE_LOCK:
        live = _LIVE.get(db)
        if live is None:
            live = _LIVE[db] = LiveIndex()
        return live


def agreed_partners(
    conn: Connection, operator_agency_id: str | None, alert: records.Alert, now: datetime
) -> frozenset[str]:
    """The agencies whose community-partner units may be sent to `alert` by an operator of
    `operator_agency_id`: those an active dispatch or joint-operations agreement binds to
    the operator's agency or to the agency handling the alert (one query), and the
    operator's own agency, which always sends its own volunteers."""
    found = dispatch_partners(conn, (operator_agency_id, alert["assigned_agency_id"]), now)
    return found | {operator_agency_id} if operator_agency_id else found


def recommend_for_alert(
    conn: Connection,
    viewer: Principal,
    alert_id: str,
    live: LiveIndex,
    *,
    k: int = DEFAULT_K,
    router: Router | None = None,
    clock: Clock | None = None,
) -> Recommendations:
    """The use case behind GET /alerts/{id}/recommendations: the caller must be allowed to
    dispatch to the alert (else NotFound); a closed or unlocated alert is a Conflict.
    Community partners are recommended only under a dispatch agreement (`agreed_partners`)."""
    alert = visible_alert(conn, viewer, alert_id, Action.PANIC_DISPATCH)
    if AlertStatus(alert["status"]) not in OPEN_STATUSES:
        raise Conflict("the alert is closed")
    now = (clock or SystemClock()).now()
    scene = Scene.of(alert, agreed_partners(conn, viewer.agency_id, alert, now))
    live.refresh(conn, now)
    return live.recommend(scene, now, k=k, router=router or router_from_env())
