"""Detection events: what a camera's analytics saw, kept, announced and, for wanted plates,
turned into an alert.

`record_event` stores one pipeline event (`cctv_events`, the snapshot write-once in the
evidence store since it may become evidence) and enqueues `cctv.event` in the same
transaction. A plate that matches the watchlist also goes through
`hits.report_plate_hit`, which opens the panic alert (once per track: the track's end
repeats its start). `MqttEventPublisher` mirrors events on MQTT `khusela/cctv/events` for
site systems (VMS, barriers): best effort, never in the pipeline's way — when the broker is
down or slow, messages are dropped and counted, since the bus holds the durable copy.

| subject     | payload                                                                   |
|-------------|---------------------------------------------------------------------------|
| cctv.event  | id, camera (id, name, agency_id, locality, lat, lon), kind (start | end), |
|             | at, label, score, box [x, y, w, h] in source pixels, zone, track_id,     |
|             | duration_s, plate, watchlist, snapshot_sha256                            |
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
import random
import ssl
from collections import Counter
from collections.abc import Callable
from typing import Any

import aiomqtt
import structlog
from prometheus_client import Counter as Metric
from sqlalchemy import Connection, insert

from khusela.bus.outbox import enqueue
from khusela.cctv.health import camera_locality
from khusela.cctv.hits import PlateSighting, report_plate_hit
from khusela.cctv.plates.watchlist import Watchlist
from khusela.cctv.tables import cctv_events
from khusela.cctv.video.pipeline import CctvEvent
from khusela.core.clock import as_utc
from khusela.core.events import Event
from khusela.core.ids import new_id
from khusela.evidence.storage import MediaStore
from khusela.panic.channels.mqtt import broker

log = structlog.get_logger(__name__)

CCTV_EVENT = "cctv.event"
MQTT_TOPIC = "khusela/cctv/events"
MQTT_MESSAGES = Metric("khusela_cctv_mqtt_events_total", "CCTV events mirrored on MQTT", ["outcome"])


def record_event(
    conn: Connection,
    camera: dict[str, Any],
    event: CctvEvent,
    store: MediaStore | None,
    watchlist: Watchlist | None = None,
    *,
    report_hit: bool = True,
) -> Event:
    """Store one detection event and enqueue `cctv.event` (and a plate hit), in the
    caller's transaction. Returns the bus event (its payload is what MQTT mirrors)."""
    snapshot = None
    if event.snapshot_jpeg and store is not None:
        snapshot = store.put(io.BytesIO(event.snapshot_jpeg)).sha256
    row = {
        "id": new_id(),
        "camera_id": camera["id"],
        "at": event.at,
        "kind": event.kind,
        "label": event.label,
        "score": float(event.score),
        "box": [int(v) for v in event.box],
        "zone": event.zone,
        "track_id": event.track_id,
        "duration_s": float(event.duration_s),
        "plate": event.plate[:20] if event.plate else None,
        "watchlist": event.watchlist[:300] if event.watchlist else None,
        "snapshot_sha256": snapshot,
    }
    hit = watchlist.match(event.plate) if watchlist is not None and event.plate else None
    if hit is not None:
        row["watchlist"] = " — ".join(p for p in (hit.entry.display, hit.entry.reason) if p)[:300]
    conn.execute(insert(cctv_events).values(**row))
    payload = {**camera_locality(camera), **row, "at": as_utc(event.at).isoformat()}
    bus_event = Event(subject=CCTV_EVENT, payload=payload, occurred_at=event.at)
    enqueue(conn, bus_event)
    if hit is not None and report_hit and event.plate:
        sighting = PlateSighting(
            camera, event.plate, float(event.score), event.at, event.snapshot_jpeg, snapshot_sha256=snapshot
        )
        report_plate_hit(conn, sighting, hit, store)
    return bus_event


class MqttEventPublisher:
    """Mirrors events on MQTT (a `Background` service). `publish` may be called from any
    thread and never blocks: while the broker is unreachable, or the outgoing queue is
    full, the message is dropped and counted (`counts["dropped"]`)."""

    def __init__(
        self, url: str, *, queue_size: int = 1000, backoff: tuple[float, float] = (0.5, 30.0)
    ) -> None:
        self.broker = broker(url)
        self._queue_size, self._backoff = queue_size, backoff
        self._queue: asyncio.Queue[bytes] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._task: asyncio.Task[None] | None = None
        self.connected = False
        self.counts: Counter[str] = Counter()

    async def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._queue = asyncio.Queue(self._queue_size)
        self._task = asyncio.create_task(self._run(), name="mqtt-cctv-events")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        self.connected = False

    def publish(self, payload: dict[str, Any]) -> None:
        loop = self._loop
        if loop is None or loop.is_closed():
            self._drop()
            return
        body = json.dumps(payload, separators=(",", ":"), default=str).encode()
        loop.call_soon_threadsafe(self._offer, body)

    def _offer(self, body: bytes) -> None:
        if not self.connected or self._queue is None:
            self._drop()
            return
        try:
            self._queue.put_nowait(body)
        except asyncio.QueueFull:
            self._drop()

    def _drop(self) -> None:
        self.counts["dropped"] += 1
        MQTT_MESSAGES.labels("dropped").inc()

    async def _run(self) -> None:
        assert self._queue is not None
        delay = self._backoff[0]
        while True:
            try:
                async with self._client() as client:
                    self.connected, delay = True, self._backoff[0]
                    log.info("cctv.mqtt_connected", host=self.broker.host, port=self.broker.port)
                    while True:
                        body = await self._queue.get()
                        await client.publish(MQTT_TOPIC, body, qos=0)
                        self.counts["published"] += 1
                        MQTT_MESSAGES.labels("published").inc()
            except aiomqtt.MqttError as exc:
                log.warning("cctv.mqtt_disconnected", error=str(exc), retry_in_s=round(delay, 1))
            except Exception as exc:  # the publisher must outlive any bug
                log.exception("cctv.mqtt_error", error_type=type(exc).__name__)
            self.connected = False
            while not self._queue.empty():  # not delivered: counted, not kept for later
                self._queue.get_nowait()
                self._drop()
            await asyncio.sleep(delay * random.uniform(0.8, 1.2))  # noqa: S311 - jitter, not crypto
            delay = min(delay * 2, self._backoff[1])

    def _client(self) -> aiomqtt.Client:
        return aiomqtt.Client(
            self.broker.host,
            self.broker.port,
            username=self.broker.username,
            password=self.broker.password,
            identifier=f"{self.broker.client_id}-cctv-events",
            tls_context=ssl.create_default_context() if self.broker.tls else None,
            keepalive=30,
        )


Publish = Callable[[dict[str, Any]], None]
