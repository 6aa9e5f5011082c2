"""Recording on a node that runs camera workers: one `SegmentRecorder` thread per camera
set to record (stream copy costs well under 1 % of a core each), every finished segment
chained in the database, and a retention pass every few minutes within the disk budget.

A `Background` service, started with the camera workers (`KHUSELA_CCTV_WORKERS=true`).
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import structlog
from sqlalchemy import select

from khusela.cctv.cameras import CameraStatus, redact
from khusela.cctv.recording.chain import append_segment
from khusela.cctv.recording.recorder import RecordedSegment, SegmentRecorder, recordings_root
from khusela.cctv.recording.retention import enforce_retention
from khusela.cctv.tables import cameras
from khusela.store.database import Database

if TYPE_CHECKING:
    from khusela.bootstrap import Background, Platform

log = structlog.get_logger(__name__)

RETENTION_EVERY_S = 300.0
POLL_S = 10.0


@dataclass
class _Recording:
    url: str
    recorder: SegmentRecorder
    stop: threading.Event = field(default_factory=threading.Event)
    thread: threading.Thread | None = None


class RecordingService:
    """Keeps one recorder per recording camera and enforces retention (a `Background`)."""

    def __init__(
        self, db: Database, data_dir: Path, budget_bytes: int, segment_seconds: float = 10.0
    ) -> None:
        self.db, self.root, self.budget_bytes = db, recordings_root(data_dir), budget_bytes
        self.segment_seconds = segment_seconds
        self.recordings: dict[str, _Recording] = {}
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="cctv-recording")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await asyncio.to_thread(self._stop_all)

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        next_retention = loop.time() + 30.0
        while True:
            try:
                await asyncio.to_thread(self._reconcile)
                if loop.time() >= next_retention:
                    await asyncio.to_thread(self._retention)
                    next_retention = loop.time() + RETENTION_EVERY_S
            except Exception:  # recording must outlive any one failure (e.g. the database)
                log.exception("cctv.recording_error")
            await asyncio.sleep(POLL_S)

    def _reconcile(self) -> None:
        with self.db.read() as conn:
            rows = conn.execute(
                select(cameras.c.id, cameras.c.main_stream_url).where(
                    cameras.c.record.is_(True), cameras.c.status != CameraStatus.DISABLED.value
                )
            ).all()
        wanted = {r.id: r.main_stream_url for r in rows}
        for camera_id in [c for c, rec in self.recordings.items() if wanted.get(c) != rec.url]:
            self._halt(self.recordings.pop(camera_id))
        for camera_id, url in wanted.items():
            if camera_id not in self.recordings:
                self._begin(camera_id, url)

    def _begin(self, camera_id: str, url: str) -> None:
        recorder = SegmentRecorder(
            camera_id, url, self.root / camera_id, self.segment_seconds, on_segment=self._chain
        )
        recording = _Recording(url, recorder)
        recording.thread = threading.Thread(
            target=recorder.run, args=(recording.stop,), name=f"record:{camera_id}", daemon=True
        )
        recording.thread.start()
        self.recordings[camera_id] = recording
        log.info("cctv.recording_started", camera_id=camera_id, source=redact(url))

    def _chain(self, segment: RecordedSegment) -> None:
        with self.db.write() as conn:
            append_segment(
                conn,
                segment.camera_id,
                str(segment.path.relative_to(self.root)),
                segment.started_at,
                segment.ended_at,
                segment.size,
                segment.sha256,
                segment.clock_offset_s,
            )

    def _retention(self) -> Any:
        with self.db.write() as conn:
            result = enforce_retention(conn, self.root, datetime.now(UTC), self.budget_bytes)
        if result.expired_segments or result.budget_segments:
            log.info(
                "cctv.retention",
                expired=result.expired_segments,
                over_budget=result.budget_segments,
                budget_met=result.budget_met,
            )
        return result

    @staticmethod
    def _halt(recording: _Recording) -> None:
        recording.stop.set()
        if recording.thread is not None:
            recording.thread.join(timeout=5)

    def _stop_all(self) -> None:
        for recording in self.recordings.values():
            recording.stop.set()
        for recording in self.recordings.values():
            if recording.thread is not None:
                recording.thread.join(timeout=5)
        self.recordings.clear()


def services(platform: Platform) -> list[Background]:
    settings = platform.settings
    if not settings.cctv_workers:
        return []
    budget = int(settings.cctv_recording_budget_gb * 1024**3)
    return [RecordingService(platform.db, settings.data_dir, budget)]
