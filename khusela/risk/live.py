"""Live incidents: panic alerts, CCTV detections and cyber alerts become locality-level
incidents for the hotspot and forecast layers as they happen.

`LiveIncidents` is a bus consumer (a `Background` service, one durable subscription per
subject). It keeps what the analytics need — when, where (rounded, with an H3 res-9
cell), what kind — and drops the rest: no resident id, phone, note, plate or host name is
stored. Replays are harmless: the event id is the incident's `source_ref`.

| subject            | stored when                                | category                    |
|--------------------|--------------------------------------------|-----------------------------|
| panic.alert_raised | the alert has a location (crime, GBV …)    | `panic:<type>`              |
| cctv.event         | a track starts in a zone or on a watchlist | `cctv:zone` / `cctv:wanted` |
| cyber.alert_raised | the alert carries lat/lon (a located asset)| `cyber:<severity>`          |

Medical, fire and accident panics are kept too: a cluster of assaults reported as
"medical" is still a cluster. Cyber alerts are mostly unlocated (a server has no street);
those are skipped, not guessed."""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import TYPE_CHECKING, Any

import structlog

from khusela.bus import inbox
from khusela.bus.resilient import PersistentSubscription
from khusela.core.events import Event
from khusela.core.gazetteer import Gazetteer
from khusela.risk.incident_log import Incident, record
from khusela.store.database import Database

if TYPE_CHECKING:
    from khusela.bootstrap import Background, Platform
    from khusela.bus.ports import EventBus

log = structlog.get_logger(__name__)

SUBJECTS = {
    "panic.alert_raised": "risk-incidents-panic",
    "cctv.event": "risk-incidents-cctv",
    "cyber.alert_raised": "risk-incidents-cyber",
}


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def _when(value: Any, fallback: datetime) -> datetime:
    if isinstance(value, str):
        try:
            return datetime.fromisoformat(value)
        except ValueError:
            return fallback
    return fallback


def incident_of(event: Event) -> Incident | None:
    """The incident an event stands for, or None when it has no place or is not one."""
    p = event.payload
    when, category = event.occurred_at, ""
    if event.subject == "panic.alert_raised" and not p.get("location_unknown"):
        category = f"panic:{p.get('type') or 'other'}"
    elif event.subject == "cctv.event" and p.get("kind") == "start" and (p.get("zone") or p.get("watchlist")):
        category = "cctv:wanted" if p.get("watchlist") else "cctv:zone"
        when = _when(p.get("at"), event.occurred_at)
    elif event.subject == "cyber.alert_raised":
        detail = p.get("detail")
        located = detail if isinstance(detail, dict) and "lat" in detail else p
        p = {"lat": located.get("lat"), "lon": located.get("lon")}
        category = f"cyber:{event.payload.get('severity') or 'unknown'}"
    lat, lon = _number(p.get("lat")), _number(p.get("lon"))
    if not category or lat is None or lon is None:
        return None
    return Incident(when, lat, lon, category, event.subject.split(".")[0], event.id)


class LiveIncidents:
    """Bus consumer: panic, CCTV and cyber events → `risk_incidents`."""

    def __init__(self, db: Database, bus: EventBus, gazetteer: Gazetteer) -> None:
        self._db, self._bus, self._gazetteer = db, bus, gazetteer
        self._subscriptions: list[PersistentSubscription] = []

    async def start(self) -> None:
        for subject, durable in SUBJECTS.items():
            sub = PersistentSubscription(self._bus, subject, durable, self.handle)
            await sub.start()
            self._subscriptions.append(sub)

    async def stop(self) -> None:
        for sub in self._subscriptions:
            await sub.stop()
        self._subscriptions.clear()

    async def handle(self, event: Event) -> None:
        await asyncio.to_thread(self.store, event)

    def store(self, event: Event) -> bool:
        incident = incident_of(event)
        if incident is None:
            return False
        with self._db.write() as conn:
            if not inbox.claim(conn, SUBJECTS[event.subject], event.id):
                return False
            stored = record(conn, incident, self._gazetteer)
        if stored:
            log.info("risk.live_incident", source=incident.source, category=incident.category)
        return stored


def services(platform: Platform) -> list[Background]:
    return [LiveIncidents(platform.db, platform.bus, platform.gazetteer)]
