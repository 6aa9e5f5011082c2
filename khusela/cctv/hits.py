"""A watchlisted plate seen by a camera becomes an alert in the operator queue.

`report_plate_hit` (called by a camera's worker when a read matches the watchlist) keeps
the snapshot write-once (the evidence store: it may well become evidence) and enqueues
`cctv.plate_hit` in the caller's transaction. `PlateHitAlerts`, a bus consumer (durable
`cctv-plate-alerts`), turns each hit into a panic alert through the same intake every
other channel uses: the camera's position, channel `cctv`, and a note saying what was
read and why the plate is wanted. Sightings of one plate within two minutes are the same
alert (the idempotency key is the plate and the two-minute window), so a stolen car
passing three cameras does not flood the queue.

| subject          | payload                                                                 |
|------------------|-------------------------------------------------------------------------|
| cctv.plate_hit   | camera (id, name, owner, lat, lon, locality), plate (display, canonical), |
|                  | read text, confidence, rule, distance, reason, reference, seen_at,      |
|                  | snapshot_sha256                                                         |
"""

from __future__ import annotations

import asyncio
import io
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

import structlog
from sqlalchemy import Connection

from khusela.bus import inbox
from khusela.bus.outbox import enqueue
from khusela.bus.resilient import PersistentSubscription
from khusela.cctv.plates.watchlist import WatchlistHit
from khusela.core.clock import as_utc
from khusela.core.events import Event
from khusela.core.gazetteer import Gazetteer
from khusela.evidence.storage import MediaStore
from khusela.panic.intake import RaisePanicAlert, raise_alert
from khusela.panic.model import AlertType, Channel, LocationSource
from khusela.store.database import Database

if TYPE_CHECKING:
    from khusela.bootstrap import Background, Platform
    from khusela.bus.ports import EventBus

log = structlog.get_logger(__name__)

PLATE_HIT = "cctv.plate_hit"
CONSUMER = "cctv-plate-alerts"
SAME_SIGHTING_SECONDS = 120


@dataclass(frozen=True, slots=True)
class PlateSighting:
    """One read of a plate by a camera."""

    camera: dict[str, Any]
    """The camera's registry row (id, name, owner_agency_id, lat, lon, province, …)."""
    read_text: str
    confidence: float
    seen_at: datetime
    snapshot_jpeg: bytes | None = None
    snapshot_sha256: str | None = None
    """Set when the snapshot is already in the store (a worker's event): not stored twice."""


def report_plate_hit(
    conn: Connection, sighting: PlateSighting, hit: WatchlistHit, store: MediaStore | None
) -> Event:
    """Record a watchlist hit: the snapshot kept write-once, the event in the outbox."""
    snapshot = sighting.snapshot_sha256
    if snapshot is None and sighting.snapshot_jpeg and store is not None:
        snapshot = store.put(io.BytesIO(sighting.snapshot_jpeg)).sha256
    camera = sighting.camera
    payload = {
        "camera_id": camera["id"],
        "camera_name": camera["name"],
        "agency_id": camera["owner_agency_id"],
        "lat": camera["lat"],
        "lon": camera["lon"],
        "province": camera.get("province"),
        "municipality": camera.get("municipality"),
        "cell": camera.get("cell"),
        "plate": hit.entry.display,
        "plate_canonical": hit.entry.plate,
        "read": sighting.read_text,
        "confidence": round(sighting.confidence, 3),
        "rule": hit.rule,
        "distance": hit.distance,
        "reason": hit.entry.reason,
        "reference": hit.entry.reference,
        "seen_at": as_utc(sighting.seen_at).isoformat(),
        "snapshot_sha256": snapshot,
    }
    event = Event(subject=PLATE_HIT, payload=payload, occurred_at=sighting.seen_at)
    enqueue(conn, event)
    return event


def alert_command(event: Event) -> RaisePanicAlert:
    """The panic alert a plate hit opens."""
    p = event.payload
    seen = datetime.fromisoformat(p["seen_at"])
    window = int(seen.timestamp()) // SAME_SIGHTING_SECONDS
    how = "exact" if p["distance"] == 0 else f"{p['rule']}, {p['distance']} edit"
    note = (
        f"Watchlist hit: {p['plate']} ({p['reason'] or 'wanted'}"
        + (f", ref {p['reference']}" if p["reference"] else "")
        + f"). Read '{p['read']}' ({how}, confidence {p['confidence']:.2f}) by camera {p['camera_name']}."
        + (f" Snapshot sha256 {p['snapshot_sha256'][:16]}…" if p.get("snapshot_sha256") else "")
    )
    return RaisePanicAlert(
        type=AlertType.CRIME,
        channel=Channel.CCTV,
        sender=f"plate:{p['plate_canonical']}",
        client_alert_id=f"{p['plate_canonical']}:{window}",
        lat=p["lat"],
        lon=p["lon"],
        accuracy_m=50.0,
        source=LocationSource.DEVICE,
        location_text=f"Camera {p['camera_name']}",
        note=note[:500],
    )


class PlateHitAlerts:
    """Bus consumer: `cctv.plate_hit` → a panic alert (a `Background` service)."""

    def __init__(self, db: Database, bus: EventBus, gazetteer: Gazetteer, on_commit: Any = None) -> None:
        self._db, self._bus, self._gazetteer, self._on_commit = db, bus, gazetteer, on_commit
        self._subscription: PersistentSubscription | None = None

    async def start(self) -> None:
        self._subscription = PersistentSubscription(self._bus, PLATE_HIT, CONSUMER, self.handle)
        await self._subscription.start()

    async def stop(self) -> None:
        if self._subscription is not None:
            await self._subscription.stop()

    async def handle(self, event: Event) -> None:
        await asyncio.to_thread(self._raise, event)
        if self._on_commit is not None:
            self._on_commit()

    def _raise(self, event: Event) -> None:
        with self._db.write() as conn:
            if not inbox.claim(conn, CONSUMER, event.id):
                return
            intake = raise_alert(conn, alert_command(event), self._gazetteer)
        log.info(
            "cctv.plate_hit_alert",
            alert_id=intake.alert["id"],
            camera_id=event.payload["camera_id"],
            created=intake.created,
        )


def services(platform: Platform) -> list[Background]:
    return [PlateHitAlerts(platform.db, platform.bus, platform.gazetteer, on_commit=platform.relay.notify)]
