"""The live view: the latest downscaled JPEG of each camera, held in memory, and the MJPEG
stream (`multipart/x-mixed-replace`) that an <img> tag in the console shows.

Frames come from the camera workers of this node (`workers.CameraSupervisor`); nothing is
written to disk (recording is `khusela.cctv.recording`'s business). A stream sends a frame
only when a newer one exists, at most `MAX_FPS` a second, so a slow link shows fewer
frames, never older ones.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime

from prometheus_client import Gauge

BOUNDARY = "frame"
MAX_FPS = 5.0
POLL_S = 0.05
VIEWERS = Gauge("khusela_cctv_live_viewers", "Open live-view streams on this node")


@dataclass(frozen=True, slots=True)
class LiveFrame:
    seq: int
    jpeg: bytes
    at: datetime


class LiveFrames:
    """The newest frame per camera; written by worker reader threads, read by streams."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._frames: dict[str, LiveFrame] = {}
        self._seq = 0
        self.closing = False
        """Set when the server stops: every stream ends at its next poll."""

    def put(self, camera_id: str, jpeg: bytes, at: datetime) -> None:
        with self._lock:
            self._seq += 1
            self._frames[camera_id] = LiveFrame(self._seq, jpeg, at)

    def latest(self, camera_id: str) -> LiveFrame | None:
        with self._lock:
            return self._frames.get(camera_id)

    def forget(self, camera_id: str) -> None:
        with self._lock:
            self._frames.pop(camera_id, None)


def part(frame: LiveFrame) -> bytes:
    head = (
        f"--{BOUNDARY}\r\nContent-Type: image/jpeg\r\nContent-Length: {len(frame.jpeg)}\r\n"
        f"X-Timestamp: {frame.at.isoformat()}\r\n\r\n"
    )
    return head.encode() + frame.jpeg + b"\r\n"


async def mjpeg(
    frames: LiveFrames,
    camera_id: str,
    *,
    still_allowed: Callable[[], Awaitable[bool]] | None = None,
    recheck_s: float = 60.0,
    max_fps: float = MAX_FPS,
) -> AsyncIterator[bytes]:
    """The body of one live-view stream. Ends when the server stops or when
    `still_allowed()` (re-checked every `recheck_s`: a revoked token ends the view) says no;
    a client that goes away cancels it."""
    loop = asyncio.get_running_loop()
    interval = 1.0 / max_fps
    sent = 0
    next_check = loop.time() + recheck_s
    VIEWERS.inc()
    try:
        while not frames.closing:
            frame = frames.latest(camera_id)
            if frame is not None and frame.seq != sent:
                sent = frame.seq
                started = loop.time()
                yield part(frame)
                await asyncio.sleep(max(interval - (loop.time() - started), 0.0))
            else:
                await asyncio.sleep(POLL_S)
            if still_allowed is not None and loop.time() >= next_check:
                if not await still_allowed():
                    return
                next_check = loop.time() + recheck_s
    finally:
        VIEWERS.dec()
