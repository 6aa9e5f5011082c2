"""Camera workers: one spawned process per camera running the analytics pipeline, watched
by one supervisor per node (a `Background` service, on when `KHUSELA_CCTV_WORKERS=true`).

The supervisor
- reads the registry every `poll_s` (cameras not disabled) and starts, stops or restarts
  workers to match: a camera added, removed or re-pointed is picked up without a restart;
- reads each worker's queue in a thread of its own, so a chatty or stuck camera never
  delays another: health → `health.HealthMonitor` → the camera row, its history and
  `cctv.camera_online|offline`; events → `events.record_event` (and MQTT); frames →
  `live.LiveFrames` for the live view;
- restarts a worker that crashed, ended or went silent (no health report for
  `silent_after_s`) with exponential backoff, and marks its camera offline with the reason
  meanwhile.

Only one node should run workers (the live view is served by that node). Stream URLs are
never logged; `cameras.redact` is applied where a URL has to be named.
"""

from __future__ import annotations

import asyncio
import contextlib
import multiprocessing
import queue
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import structlog
from sqlalchemy import select

from khusela.cctv.cameras import CameraStatus
from khusela.cctv.events import MqttEventPublisher, record_event
from khusela.cctv.health import HealthMonitor, Transition, record_last_frame, record_transition
from khusela.cctv.live import LiveFrames
from khusela.cctv.plates.watchlist import Watchlist
from khusela.cctv.tables import cameras
from khusela.cctv.video.geometry import Polygon
from khusela.cctv.video.pipeline import CameraConfig, CctvEvent
from khusela.cctv.video.source import SourceHealth
from khusela.cctv.worker_process import WorkerOptions, run_worker
from khusela.core.clock import Clock, SystemClock
from khusela.evidence.storage import local_store
from khusela.store.database import Database

if TYPE_CHECKING:
    from khusela.bootstrap import Background, Platform

log = structlog.get_logger(__name__)
QUEUE_SIZE = 64


def camera_config(row: dict[str, Any], detect: Sequence[str] = ("person",)) -> CameraConfig:
    """How a registered camera is analysed: the sub stream when there is one (cheaper to
    decode at the detect size), zones by name, masks as the motion mask."""
    zones: dict[str, Polygon] = {
        str(z["name"]): tuple((float(x), float(y)) for x, y in z["polygon"]) for z in row["zones"] or []
    }
    masks = tuple(tuple((float(x), float(y)) for x, y in m["polygon"]) for m in row["masks"] or [])
    return CameraConfig(
        camera_id=row["id"],
        url=row["sub_stream_url"] or row["main_stream_url"],
        detect_fps=float(row["detect_fps"]),
        detect_size=(int(row["detect_width"]), int(row["detect_height"])),
        detect=tuple(detect),
        zones=zones,
        motion_mask=masks,
    )


@dataclass(eq=False)
class _Worker:
    camera: dict[str, Any]
    config: CameraConfig
    generation: int = 0
    process: multiprocessing.process.BaseProcess | None = None
    stop: Any = None
    out: Any = None
    reader: threading.Thread | None = None
    started: float = 0.0
    last_report: float = 0.0
    failure: str | None = None
    done: bool = False
    failures: int = 0
    restart_at: float | None = None
    retired: bool = False
    hit_tracks: set[tuple[int, int]] = field(default_factory=set)


class CameraSupervisor:
    """Runs and watches the camera workers of this node (a `Background` service)."""

    def __init__(
        self,
        db: Database,
        data_dir: Path,
        *,
        notify: Callable[[], None] | None = None,
        watchlist: Watchlist | None = None,
        publisher: MqttEventPublisher | None = None,
        detect: Sequence[str] = ("person",),
        options: WorkerOptions | None = None,
        poll_s: float = 10.0,
        tick_s: float = 0.25,
        silent_after_s: float = 10.0,
        backoff: tuple[float, float] = (1.0, 30.0),
        clock: Clock | None = None,
    ) -> None:
        self.db, self.notify, self.watchlist, self.publisher = db, notify, watchlist, publisher
        self.store = local_store(data_dir)
        self.detect, self.options = tuple(detect), options or WorkerOptions()
        self.poll_s, self.tick_s, self.silent_after_s, self.backoff = poll_s, tick_s, silent_after_s, backoff
        self.clock = clock or SystemClock()
        self.live = LiveFrames()
        self.monitor = HealthMonitor()
        self.workers: dict[str, _Worker] = {}
        self._lock = threading.Lock()
        self._ctx = multiprocessing.get_context("spawn")
        self._task: asyncio.Task[None] | None = None
        self._wake: asyncio.Event | None = None

    # --- lifecycle --------------------------------------------------------------------

    async def start(self) -> None:
        self.live.closing = False
        self._wake = asyncio.Event()
        if self.publisher is not None:
            await self.publisher.start()
        self._task = asyncio.create_task(self._run(), name="camera-supervisor")

    async def stop(self) -> None:
        """End live views, stop every worker (killed if it does not stop within 2 s) and
        mark the cameras `unknown`: no one watches them now, and uptime must not count it."""
        self.live.closing = True
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        await asyncio.to_thread(self._stop_all)
        if self.publisher is not None:
            await self.publisher.stop()

    def refresh(self) -> None:
        """Read the registry now rather than at the next poll."""
        if self._wake is not None:
            self._wake.set()

    async def _run(self) -> None:
        assert self._wake is not None
        loop = asyncio.get_running_loop()
        next_poll = 0.0
        while True:
            try:
                if loop.time() >= next_poll or self._wake.is_set():
                    self._wake.clear()
                    rows = await asyncio.to_thread(self._load)
                    await asyncio.to_thread(self._reconcile, rows)
                    next_poll = loop.time() + self.poll_s
                await asyncio.to_thread(self._tick)
            except Exception:  # the supervisor must outlive any one failure (e.g. the database)
                log.exception("cctv.supervisor_error")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.tick_s)

    def _load(self) -> list[dict[str, Any]]:
        with self.db.read() as conn:
            rows = conn.execute(select(cameras).where(cameras.c.status != CameraStatus.DISABLED.value))
            return [dict(r._mapping) for r in rows]

    # --- matching the registry --------------------------------------------------------

    def _reconcile(self, rows: list[dict[str, Any]]) -> None:
        wanted = {r["id"]: r for r in rows}
        for camera_id in [c for c in self.workers if c not in wanted]:
            self._retire(self.workers.pop(camera_id))
            self.live.forget(camera_id)
            log.info("cctv.worker_removed", camera_id=camera_id)
        for camera_id, row in wanted.items():
            config = camera_config(row, self.detect)
            worker = self.workers.get(camera_id)
            if worker is not None and worker.config == config:
                worker.camera = row
                continue
            if worker is not None:
                self._retire(worker)
                log.info("cctv.worker_reconfigured", camera_id=camera_id)
            worker = _Worker(row, config)
            self.workers[camera_id] = worker
            self._spawn(worker)

    def _spawn(self, worker: _Worker) -> None:
        worker.generation += 1
        worker.failure, worker.done, worker.restart_at = None, False, None
        worker.out = self._ctx.Queue(QUEUE_SIZE)
        worker.stop = self._ctx.Event()
        live_fps = min(self.options.live_fps, worker.config.detect_fps)
        options = WorkerOptions(**{**_fields(self.options), "live_fps": live_fps})
        process = self._ctx.Process(
            target=run_worker,
            args=(worker.config, options, worker.out, worker.stop),
            name=f"camera-{worker.config.camera_id}",
            daemon=True,
        )
        process.start()
        worker.process = process
        worker.started = worker.last_report = time.monotonic()
        worker.reader = threading.Thread(
            target=self._read,
            args=(worker, worker.generation, worker.out, process),
            name=f"camera-reader-{worker.config.camera_id}",
            daemon=True,
        )
        worker.reader.start()
        log.info("cctv.worker_started", camera_id=worker.config.camera_id, generation=worker.generation)

    def _retire(self, worker: _Worker, wait_s: float = 2.0) -> None:
        worker.retired = True
        if worker.stop is not None:
            worker.stop.set()
        process = worker.process
        if process is not None:
            process.join(wait_s)
            if process.is_alive():
                process.kill()
                process.join(1.0)
        if worker.reader is not None:
            worker.reader.join(2.0)

    def _stop_all(self) -> None:
        workers = list(self.workers.values())
        self.workers.clear()
        for worker in workers:
            worker.retired = True
            if worker.stop is not None:
                worker.stop.set()
        deadline = time.monotonic() + 2.0
        for worker in workers:
            if worker.process is not None:
                worker.process.join(max(deadline - time.monotonic(), 0.0))
        for worker in workers:
            self._retire(worker, wait_s=0.0)
        now = self.clock.now()
        with contextlib.suppress(Exception), self.db.write() as conn:
            for worker in workers:
                card = self.monitor.get(worker.config.camera_id)
                if card.status in (CameraStatus.ONLINE, CameraStatus.OFFLINE):
                    reason = "not monitored: camera workers stopped"
                    transition = Transition(worker.config.camera_id, CameraStatus.UNKNOWN, reason, now, None)
                    record_transition(conn, worker.camera, transition)
                    card.status, card.reason = CameraStatus.UNKNOWN, reason

    # --- watching ---------------------------------------------------------------------

    def _tick(self) -> None:
        """Restart what died (with backoff), kill what went silent."""
        mono = time.monotonic()
        for worker in list(self.workers.values()):
            process = worker.process
            if worker.retired or process is None:
                continue
            if worker.restart_at is not None:
                if mono >= worker.restart_at:
                    self.monitor.get(worker.config.camera_id).restarts += 1
                    self._spawn(worker)
                continue
            if process.is_alive():
                if mono - worker.last_report > self.silent_after_s:
                    log.warning("cctv.worker_silent", camera_id=worker.config.camera_id)
                    worker.failure = f"worker not responding for {self.silent_after_s:.0f} s"
                    process.kill()
                continue
            process.join(0)
            if worker.reader is not None:
                worker.reader.join(1.0)
            reason = worker.failure or (
                "stream ended" if process.exitcode == 0 else f"worker crashed (exit code {process.exitcode})"
            )
            delay = min(self.backoff[0] * 2**worker.failures, self.backoff[1])
            worker.failures += 1
            worker.restart_at = mono + delay
            log.warning(
                "cctv.worker_exited", camera_id=worker.config.camera_id, reason=reason, retry_in_s=delay
            )
            self._write(worker, self.monitor.fail(worker.config.camera_id, reason, self.clock.now()))

    def _read(self, worker: _Worker, generation: int, out: Any, process: Any) -> None:
        """One worker's messages, in this thread until the worker is gone."""
        while True:
            try:
                message = out.get(timeout=0.5)
            except queue.Empty:
                if not process.is_alive():
                    return
                continue
            except (EOFError, OSError, ValueError):
                return
            if generation != worker.generation:
                return
            kind = message[0]
            try:
                if kind == "frame":
                    self.live.put(worker.config.camera_id, message[1], message[2])
                elif kind == "health":
                    worker.last_report = time.monotonic()
                    self._health(worker, message[1])
                elif kind == "event":
                    self._event(worker, message[1])
                elif kind == "failed":
                    worker.failure = f"worker failed: {message[1]}"
                elif kind == "done":
                    worker.done = True
                    return
            except Exception:  # one bad message (or a database blip) must not end the reader
                log.exception("cctv.worker_message_failed", camera_id=worker.config.camera_id, kind=kind)

    def _health(self, worker: _Worker, health: SourceHealth) -> None:
        if worker.retired:
            return
        camera_id = worker.config.camera_id
        now = self.clock.now()
        transition = self.monitor.observe(camera_id, health, now)
        if transition is not None:
            if transition.status is CameraStatus.ONLINE:
                worker.failures = 0
            self._write(worker, transition)
            return
        due = self.monitor.last_frame_due(camera_id, now)
        if due is not None:
            with self.db.write() as conn:
                record_last_frame(conn, camera_id, due)

    def _write(self, worker: _Worker, transition: Transition | None) -> None:
        if transition is None:
            return
        with self.db.write() as conn:
            event = record_transition(conn, worker.camera, transition)
        if event is not None:
            log.info(
                "cctv.camera_status",
                camera_id=transition.camera_id,
                status=transition.status.value,
                reason=transition.reason,
            )
            if self.notify is not None:
                self.notify()

    def _event(self, worker: _Worker, event: CctvEvent) -> None:
        key = (worker.generation, event.track_id)
        report = key not in worker.hit_tracks
        with self.db.write() as conn:
            bus_event = record_event(
                conn, worker.camera, event, self.store, self.watchlist, report_hit=report
            )
        if bus_event.payload.get("watchlist"):
            worker.hit_tracks.add(key)
        if event.kind == "end":
            worker.hit_tracks.discard(key)
        if self.notify is not None:
            self.notify()
        if self.publisher is not None:
            self.publisher.publish(bus_event.payload)

    # --- for the API ------------------------------------------------------------------

    def health_of(self, camera_id: str) -> dict[str, Any] | None:
        """This node's live health card of a camera (measured fps, reconnects, restarts)."""
        if camera_id not in self.workers:
            return None
        return self.monitor.get(camera_id).as_dict()


def _fields(options: WorkerOptions) -> dict[str, Any]:
    return {name: getattr(options, name) for name in WorkerOptions.__dataclass_fields__}


def services(platform: Platform) -> list[Background]:
    """The supervisor, when `KHUSELA_CCTV_WORKERS=true`; with its MQTT mirror when an
    MQTT broker is configured."""
    settings = platform.settings
    if not settings.cctv_workers:
        return []
    watchlist = Watchlist.from_csv(settings.cctv_watchlist) if settings.cctv_watchlist else None
    publisher = MqttEventPublisher(settings.mqtt_url) if settings.mqtt_url else None
    return [
        CameraSupervisor(
            platform.db,
            settings.data_dir,
            notify=platform.relay.notify,
            watchlist=watchlist,
            publisher=publisher,
            detect=tuple(d.strip() for d in settings.cctv_detect.split(",") if d.strip()),
        )
    ]


def supervisor_of(platform: Platform) -> CameraSupervisor | None:
    """This node's supervisor, if it runs camera workers."""
    return next((s for s in platform.background if isinstance(s, CameraSupervisor)), None)
