"""Automatic vehicle location (AVL): units report where they are, by the API or MQTT.

A report moves the unit's row (position, H3 cell, province and municipality from the
gazetteer, `location_at`) and emits `panic.unit_changed` through the outbox, in the
caller's transaction. Reports may arrive late or twice (MQTT QoS 1, a phone flushing its
queue after a tunnel): a report older than the stored position is ignored, so a unit
never jumps back to where it was.

Why a position writes no audit record: a fleet of a few thousand units reporting every
5-10 s makes hundreds of positions a second. Every audit append locks the one head row of
the hash chain, so auditing positions would serialise all writers behind them and bury
the records that matter (who dispatched whom, who read what) under noise. A position is
also not an access to anyone's data: only the latest one is kept, on the unit's row, and
its event feeds the live map. Status changes of units are audited by `dispatch`.

Freshness: a position younger than 60 s is fresh, 60-300 s stale (shown, flagged), older
than 300 s unusable (not used to recommend the unit).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import StrEnum
from functools import cache
from typing import Any

from sqlalchemy import Connection, select, update

from khusela.bus.outbox import enqueue
from khusela.core.clock import Clock, SystemClock, as_utc
from khusela.core.errors import InvalidInput, NotFound
from khusela.core.events import Event
from khusela.core.gazetteer import BundledGazetteer, Gazetteer
from khusela.identity.model import Principal
from khusela.identity.policy import Action, Resource, can
from khusela.panic.events import UNIT_CHANGED
from khusela.panic.model import plausible
from khusela.panic.tables import units

FRESH_FOR = timedelta(seconds=60)
"""A position younger than this is fresh."""
USABLE_FOR = timedelta(seconds=300)
"""A position older than this is not used for recommendations."""
MAX_CLOCK_SKEW = timedelta(seconds=30)
"""How far in the future a device's clock may run before its report is refused."""
MAX_ACCURACY_M = 50_000.0
"""Larger accuracy radii are not a position worth storing."""

Unit = dict[str, Any]
"""A unit row as a plain mapping (column name → value)."""


class Freshness(StrEnum):
    FRESH = "fresh"
    STALE = "stale"
    UNUSABLE = "unusable"


def location_age(location_at: datetime | None, now: datetime) -> timedelta | None:
    """How old a position is (never negative), or None for a unit that never reported."""
    if location_at is None:
        return None
    return max(now - as_utc(location_at), timedelta(0))


def freshness(location_at: datetime | None, now: datetime) -> Freshness:
    """Fresh under 60 s, stale from 60 s to 300 s, unusable beyond (or never reported)."""
    age = location_age(location_at, now)
    if age is None or age > USABLE_FOR:
        return Freshness.UNUSABLE
    return Freshness.FRESH if age < FRESH_FOR else Freshness.STALE


def usable(location_at: datetime | None, now: datetime) -> bool:
    return freshness(location_at, now) is not Freshness.UNUSABLE


def unit_resource(unit: Unit) -> Resource:
    """The policy's view of a unit: its agency and where it is."""
    return Resource(
        agency_id=unit.get("agency_id"),
        province=unit.get("province"),
        municipality=unit.get("municipality"),
        cell=unit.get("cell"),
    )


def unit_changed(unit: Unit, change: str, **extra: Any) -> Event:
    """`panic.unit_changed`: what the live map redraws and the policy routes on."""
    location_at = unit.get("location_at")
    payload = {
        "unit_id": unit["id"],
        "change": change,
        "agency_id": unit["agency_id"],
        "callsign": unit["callsign"],
        "kind": unit["kind"],
        "status": unit["status"],
        "lat": unit["lat"],
        "lon": unit["lon"],
        "province": unit["province"],
        "municipality": unit["municipality"],
        "cell": unit["cell"],
        "location_at": None if location_at is None else as_utc(location_at).isoformat(),
        **extra,
    }
    return Event(subject=UNIT_CHANGED, payload=payload)


def load_unit(conn: Connection, unit_id: str, *, for_update: bool = False) -> Unit:
    query = select(units).where(units.c.id == unit_id)
    if for_update:
        query = query.with_for_update()
    row = conn.execute(query).first()
    if row is None:
        raise NotFound("no such unit")
    return dict(row._mapping)


def report_location(
    conn: Connection,
    actor: str,
    unit_id: str,
    lat: float,
    lon: float,
    accuracy_m: float | None,
    at: datetime,
    *,
    gazetteer: Gazetteer | None = None,
    clock: Clock | None = None,
) -> None:
    """Record where unit `unit_id` was at `at`, as reported by `actor` (a user or device).

    Raises InvalidInput for coordinates no receiver reports, a negative or huge accuracy,
    a naive time or one in the future; NotFound for an unknown unit. A report not newer
    than the stored position is ignored. No audit record (see the module docstring).
    """
    now = (clock or SystemClock()).now()
    _validate(lat, lon, accuracy_m, at, now)
    at = min(at, now)  # a clock a few seconds fast must not block the next real report
    unit = load_unit(conn, unit_id, for_update=True)
    stored = unit["location_at"]
    if stored is not None and as_utc(stored) >= at:
        return
    place = (gazetteer or _default_gazetteer()).locate(lat, lon)
    values = {
        "lat": lat,
        "lon": lon,
        "cell": place.cell,
        "province": place.province,
        "municipality": place.municipality,
        "location_at": at,
        "updated_at": now,
    }
    conn.execute(update(units).where(units.c.id == unit_id).values(**values))
    enqueue(
        conn,
        unit_changed({**unit, **values}, "location", accuracy_m=accuracy_m, reported_by=actor),
    )


def report_location_as(
    conn: Connection,
    reporter: Principal,
    unit_id: str,
    lat: float,
    lon: float,
    accuracy_m: float | None,
    at: datetime | None,
    *,
    gazetteer: Gazetteer | None = None,
    clock: Clock | None = None,
) -> None:
    """A report through the API: the caller must be allowed to update this unit (UNIT_UPDATE,
    a responder for their own agency's units); otherwise NotFound, never a hint it exists."""
    unit = load_unit(conn, unit_id)
    if not can(reporter, Action.UNIT_UPDATE, unit_resource(unit)):
        raise NotFound("no such unit")
    when = at or (clock or SystemClock()).now()
    report_location(
        conn, reporter.username, unit_id, lat, lon, accuracy_m, when, gazetteer=gazetteer, clock=clock
    )


def _validate(lat: float, lon: float, accuracy_m: float | None, at: datetime, now: datetime) -> None:
    if not plausible(lat, lon):
        raise InvalidInput("the position is not on the globe (or is the 0,0 null island)")
    if accuracy_m is not None and not (0.0 <= accuracy_m <= MAX_ACCURACY_M):
        raise InvalidInput(f"accuracy must lie between 0 and {MAX_ACCURACY_M:.0f} m")
    if at.tzinfo is None:
        raise InvalidInput("the report's time must carry a timezone")
    if at > now + MAX_CLOCK_SKEW:
        raise InvalidInput("the report's time lies in the future: check the device's clock")


@cache
def _default_gazetteer() -> Gazetteer:
    """The bundled gazetteer, built once, for callers (the MQTT listener) that pass none."""
    return BundledGazetteer()
