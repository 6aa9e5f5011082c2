"""One camera's analytics: sample → motion gate → detectors → tracker → events.

A library: events go to a callback, and the bus, MQTT and console wiring live elsewhere.
Each camera runs in its own worker (`run_camera` in a thread, or `start_camera_process`
in a process), so a stream that hangs or crashes never stalls another camera.
"""

from __future__ import annotations

import importlib
import logging
import multiprocessing
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

import cv2

from khusela.cctv.video.detectors import Detection, Detector, HogPeopleDetector
from khusela.cctv.video.geometry import Box, Polygon, contains, merge, pad, scale
from khusela.cctv.video.motion import Image, MotionGate
from khusela.cctv.video.source import Frame, SourceHealth, VideoSource
from khusela.cctv.video.tracker import IouTracker, Track

log = logging.getLogger(__name__)
LABELS = ("person", "plate")


@dataclass(frozen=True, slots=True)
class CameraConfig:
    """How one camera is analysed. Zones and masks are polygons normalised to 0..1."""

    camera_id: str
    url: str
    detect_fps: float = 5.0
    detect_size: tuple[int, int] = (640, 360)
    detect: tuple[str, ...] = ("person",)
    zones: dict[str, Polygon] = field(default_factory=dict)
    motion_mask: tuple[Polygon, ...] = ()
    plate_every_s: float = 1.0
    revisit_s: float = 5.0
    min_hits: int = 2
    max_missed: int = 4
    snapshots: bool = False
    watchlist_path: str | None = None


@dataclass(frozen=True, slots=True)
class CctvEvent:
    """A tracked object started (`kind="start"`) or ended (`"end"`, with its best sighting).

    `box` is (x, y, w, h) in source pixels; `watchlist` names the list entry a plate hit.
    """

    camera_id: str
    kind: str
    at: datetime
    offset_s: float
    label: str
    score: float
    box: Box
    zone: str | None
    track_id: int
    duration_s: float = 0.0
    plate: str | None = None
    watchlist: str | None = None
    snapshot_jpeg: bytes | None = field(default=None, repr=False)


class PlateReader(Protocol):
    """What the plate step needs: detections with `text`, in the given image's pixels."""

    def __call__(self, image: Image) -> list[Detection]: ...


class WatchlistMatcher(Protocol):
    def __call__(self, text: str) -> str | None: ...


def plate_reader() -> PlateReader:
    """The plate recogniser of `khusela.cctv.plates`, imported only when plates are enabled."""
    find_and_read = importlib.import_module("khusela.cctv.plates").find_and_read

    def read(image: Image) -> list[Detection]:
        out: list[Detection] = []
        for r in find_and_read(image):
            plate = getattr(r, "plate", None)
            text = getattr(plate, "canonical", None) or r.text
            x, y, w, h = (
                (int(v) for v in r.box) if r.box is not None else (0, 0, image.shape[1], image.shape[0])
            )
            out.append(Detection("plate", float(r.confidence), (x, y, w, h), text))
        return out

    return read


def watchlist_matcher(path: str) -> WatchlistMatcher:
    """Match plate texts against a watchlist CSV; the answer describes the hit in one line."""
    watchlist = importlib.import_module("khusela.cctv.plates").Watchlist.from_csv(path)

    def match(text: str) -> str | None:
        hit = watchlist.match(text)
        if hit is None:
            return None
        entry = getattr(hit, "entry", hit)
        parts = [str(getattr(entry, name)) for name in ("plate", "reason") if getattr(entry, name, None)]
        return " — ".join(parts) if parts else str(hit)

    return match


@dataclass(slots=True)
class PipelineStats:
    """Counters the bench and the health card read."""

    frames: int = 0
    detector_frames: int = 0
    plate_frames: int = 0
    regions: int = 0

    @property
    def spared(self) -> float:
        """Fraction of frames on which no detector ran."""
        return 1.0 - self.detector_frames / self.frames if self.frames else 0.0


class CameraPipeline:
    """Turns sampled frames of one camera into events.

    The first frame is examined whole (nothing has "moved" yet); after that detectors see
    motion regions, plus the boxes of live tracks every `revisit_s` so that a person who
    stops moving is neither lost nor re-detected on every frame.
    """

    def __init__(
        self,
        config: CameraConfig,
        on_event: Callable[[CctvEvent], None],
        *,
        detectors: Sequence[Detector] | None = None,
        plates: PlateReader | None = None,
        watchlist: WatchlistMatcher | None = None,
        gate: bool = True,
    ) -> None:
        unknown = set(config.detect) - set(LABELS)
        if unknown:
            raise ValueError(f"unknown detect label(s): {', '.join(sorted(unknown))}")
        self.config = config
        self.on_event = on_event
        if detectors is None:
            detectors = [HogPeopleDetector()] if "person" in config.detect else []
        self.detectors = list(detectors)
        if plates is None and "plate" in config.detect:
            plates = plate_reader()
        self.plates = plates
        if watchlist is None and config.watchlist_path:
            watchlist = watchlist_matcher(config.watchlist_path)
        self.watchlist = watchlist
        self.gate_enabled = gate
        self.gate = MotionGate(mask=config.motion_mask)
        self.tracker = IouTracker(min_hits=config.min_hits, max_missed=config.max_missed)
        self.stats = PipelineStats()
        self._last_revisit = -1e9
        self._last_plates = -1e9
        self._last_frame: Frame | None = None
        self._snapshots: dict[int, bytes] = {}

    def process(self, frame: Frame) -> None:
        """Analyse one sampled frame; events go to `on_event`."""
        self.stats.frames += 1
        image = frame.image
        height, width = image.shape[:2]
        first = self.stats.frames == 1
        motion = self.gate.regions(image) if self.gate_enabled else []
        regions: list[Box] | None
        if first or not self.gate_enabled:
            regions = None
        else:
            regions = list(motion)
            if self.tracker.tracks and frame.offset_s - self._last_revisit >= self.config.revisit_s:
                self._last_revisit = frame.offset_s
                regions += [pad(t.box, 8, width, height) for t in self.tracker.tracks]
            regions = merge(regions)
        detections: list[Detection] = []
        if regions is None or regions:
            self.stats.detector_frames += 1
            self.stats.regions += len(regions) if regions is not None else 1
            for detector in self.detectors:
                detections += detector.detect(image, regions)
        plates_due = frame.offset_s - self._last_plates >= self.config.plate_every_s
        if self.plates is not None and (regions is None or regions) and plates_due:
            self._last_plates = frame.offset_s
            self.stats.plate_frames += 1
            detections += self._read_plates(frame)
        if regions is not None and not regions:
            changes = self.tracker.update([], frame.offset_s, [])
        else:
            changes = self.tracker.update(detections, frame.offset_s, regions)
        if self.config.snapshots:
            self._keep_snapshots(image, detections)
        for track in changes.started:
            self._emit("start", track, frame)
        for track in changes.ended:
            self._emit("end", track, frame)
        self._last_frame = frame

    def _read_plates(self, frame: Frame) -> list[Detection]:
        """Plates are read on the source-resolution frame, boxes brought to detect pixels."""
        assert self.plates is not None
        full = frame.full_resolution()
        factor = full.shape[1] / frame.image.shape[1]
        return [Detection(d.label, d.score, scale(d.box, 1.0 / factor), d.text) for d in self.plates(full)]

    def _keep_snapshots(self, image: Image, detections: Sequence[Detection]) -> None:
        for track in self.tracker.tracks:
            if track.best_box in {d.box for d in detections} and track.best_score == track.score:
                x, y, w, h = track.best_box
                ok, jpeg = cv2.imencode(".jpg", image[max(y, 0) : y + h, max(x, 0) : x + w])
                if ok:
                    self._snapshots[track.id] = jpeg.tobytes()

    def finish(self) -> None:
        """End every open track (end of file, camera stopped)."""
        frame = self._last_frame
        for track in self.tracker.finish():
            self._emit("end", track, frame)

    def _zone(self, box: Box, width: int, height: int) -> str | None:
        """The first zone holding the object's foot point (bottom centre of its box)."""
        fx, fy = (box[0] + box[2] / 2) / width, (box[1] + box[3]) / height
        for name, polygon in self.config.zones.items():
            if contains(polygon, fx, fy):
                return name
        return None

    def _emit(self, kind: str, track: Track, frame: Frame | None) -> None:
        if frame is None:
            return
        height, width = frame.image.shape[:2]
        box = track.box if kind == "start" else track.best_box
        score = track.score if kind == "start" else track.best_score
        plate = track.text
        hit = self.watchlist(plate) if plate and self.watchlist else None
        snapshot = self._snapshots.pop(track.id, None) if kind == "end" else self._snapshots.get(track.id)
        self.on_event(
            CctvEvent(
                camera_id=self.config.camera_id,
                kind=kind,
                at=frame.at,
                offset_s=round(track.started_s if kind == "start" else track.last_seen_s, 3),
                label=track.label,
                score=round(score, 3),
                box=scale(box, frame.scale),
                zone=self._zone(box, width, height),
                track_id=track.id,
                duration_s=round(track.last_seen_s - track.started_s, 3),
                plate=plate,
                watchlist=hit,
                snapshot_jpeg=snapshot,
            )
        )


# --- workers ------------------------------------------------------------------------------


def run_camera(
    config: CameraConfig,
    on_event: Callable[[CctvEvent], None],
    *,
    on_health: Callable[[SourceHealth], None] | None = None,
    stop: threading.Event | None = None,
    health_every_s: float = 1.0,
) -> None:
    """Run one camera until its file ends or `stop` is set; health is polled by a side thread
    so an offline report does not wait for the blocked decoder."""
    source = VideoSource(config.url, detect_fps=config.detect_fps, detect_size=config.detect_size)
    pipeline = CameraPipeline(config, on_event)
    stop = stop or threading.Event()
    done = threading.Event()

    def watch() -> None:
        while not done.wait(health_every_s):
            if stop.is_set():
                source.close()
            if on_health is not None:
                on_health(source.health())

    watcher = threading.Thread(target=watch, name=f"health-{config.camera_id}", daemon=True)
    watcher.start()
    try:
        for frame in source.frames():
            pipeline.process(frame)
            if stop.is_set():
                break
        pipeline.finish()
    finally:
        done.set()
        source.close()
        watcher.join()
        if on_health is not None:
            on_health(source.health())


def _camera_main(config: CameraConfig, out: Any, stop: Any) -> None:
    """Entry of a camera process: events and health go back over one queue."""
    stop_thread = threading.Event()

    def relay_stop() -> None:
        stop.wait()
        stop_thread.set()

    threading.Thread(target=relay_stop, daemon=True).start()
    try:
        run_camera(
            config,
            lambda e: out.put(("event", e)),
            on_health=lambda h: out.put(("health", h)),
            stop=stop_thread,
        )
    except Exception as exc:
        out.put(("failed", f"{type(exc).__name__}: {exc}"))
    out.put(("done", config.camera_id))


def start_camera_process(config: CameraConfig, out: Any) -> tuple[multiprocessing.process.BaseProcess, Any]:
    """Start a camera in its own (spawned) process; returns the process and its stop event.

    A process per camera means a codec crash or a hung FFmpeg read can take down only that
    camera, and the GIL is not shared between cameras.
    """
    ctx = multiprocessing.get_context("spawn")
    stop = ctx.Event()
    process = ctx.Process(
        target=_camera_main, args=(config, out, stop), name=f"camera-{config.camera_id}", daemon=True
    )
    process.start()
    return process, stop
