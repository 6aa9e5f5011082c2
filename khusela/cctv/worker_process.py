"""The body of one camera's worker process: the video pipeline, with what it sees sent home.

Runs in a spawned process (see `workers.CameraSupervisor`) so that a codec crash or a hung
read takes down only this camera. Everything goes back over the worker's own bounded
queue as plain tuples:

- `("health", SourceHealth)` every `HEALTH_EVERY_S`, from a side thread, so an offline
  report does not wait for a decoder blocked inside a read;
- `("event", CctvEvent)`, with a small JPEG snapshot of the object;
- `("frame", jpeg_bytes, at)`, the latest downscaled frame for the live view, at most
  `live_fps` a second, dropped (never waited for) when the queue is full;
- `("failed", reason)` before the process gives up. Reasons never carry a stream URL.
"""

from __future__ import annotations

import queue
import re
import threading
import time
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

import cv2

from khusela.cctv.video.pipeline import CameraConfig, CameraPipeline, CctvEvent
from khusela.cctv.video.source import Backoff, Frame, VideoSource

HEALTH_EVERY_S = 0.5
_URL = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://\S+")


@dataclass(frozen=True, slots=True)
class WorkerOptions:
    """How the worker talks to its source and feeds the live view."""

    live_fps: float = 5.0
    live_width: int = 640
    jpeg_quality: int = 70
    open_timeout_s: float = 3.0
    read_timeout_s: float = 3.0
    stale_after_s: float = 2.5
    """Silence after which the source says offline: with the half-second health beat and
    the supervisor's write, a dead camera is marked offline well within 5 s."""
    backoff_max_s: float = 10.0


def safe_reason(exc: BaseException) -> str:
    """A one-line reason with any URL (which may hold a password) cut out."""
    text = str(exc).splitlines()[0] if str(exc) else ""
    text = _URL.sub("<url>", text)[:200]
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def encode_jpeg(image: Any, width: int, quality: int) -> bytes | None:
    """A JPEG of `image`, downscaled to `width` if wider."""
    height, current = image.shape[:2]
    if current > width:
        image = cv2.resize(
            image, (width, max(2, round(height * width / current))), interpolation=cv2.INTER_AREA
        )
    ok, jpeg = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, quality])
    return jpeg.tobytes() if ok else None


def _offer(out: Any, message: tuple[Any, ...], wait_s: float | None) -> bool:
    try:
        if wait_s is None:
            out.put_nowait(message)
        else:
            out.put(message, timeout=wait_s)
    except queue.Full:
        return False
    return True


def run_worker(config: CameraConfig, options: WorkerOptions, out: Any, stop: Any) -> None:
    """Process entry: run the camera until `stop` is set (or the file ends)."""
    source = VideoSource(
        config.url,
        detect_fps=config.detect_fps,
        detect_size=config.detect_size,
        open_timeout_s=options.open_timeout_s,
        read_timeout_s=options.read_timeout_s,
        stale_after_s=options.stale_after_s,
        backoff=Backoff(initial_s=0.5, maximum_s=options.backoff_max_s),
    )
    current: list[Frame] = []

    def on_event(event: CctvEvent) -> None:
        if event.snapshot_jpeg is None and current:
            x, y, w, h = (int(v / current[0].scale) for v in event.box)
            crop = current[0].image[max(y, 0) : y + h, max(x, 0) : x + w]
            if crop.size:
                event = replace(event, snapshot_jpeg=encode_jpeg(crop, 320, options.jpeg_quality))
        _offer(out, ("event", event), 5.0)

    done = threading.Event()

    def watch() -> None:
        while not done.wait(HEALTH_EVERY_S):
            if stop.is_set():
                source.close()
            _offer(out, ("health", source.health()), 1.0)

    try:
        pipeline = CameraPipeline(replace(config, snapshots=True), on_event)
        threading.Thread(target=watch, name="health", daemon=True).start()
        interval = 1.0 / options.live_fps
        next_live = 0.0
        for frame in source.frames():
            current[:] = [frame]
            pipeline.process(frame)
            now = time.monotonic()
            if now >= next_live:
                next_live = now + interval * 0.9
                jpeg = encode_jpeg(frame.image, options.live_width, options.jpeg_quality)
                if jpeg is not None:
                    _offer(out, ("frame", jpeg, datetime.now(UTC)), None)
            if stop.is_set():
                break
        pipeline.finish()
    except Exception as exc:  # reported, then the supervisor restarts the worker
        _offer(out, ("failed", safe_reason(exc)), 1.0)
    finally:
        done.set()
        source.close()
        _offer(out, ("health", source.health()), 1.0)
        _offer(out, ("done",), 1.0)
