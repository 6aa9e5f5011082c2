"""Frame sources: files, RTSP and HTTP MJPEG decoded with PyAV, sampled and downscaled.

Only sampled frames are converted to arrays (H.264 must still decode every frame, but the
colour conversion and scaling are the larger cost). Live sources reconnect forever with
exponential backoff and jitter; `health()` says offline, and why, as soon as frames stop
for `stale_after_s`, even while the decoder is still blocked inside a read.
"""

from __future__ import annotations

import random
import threading
import time
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import av
import numpy as np
import numpy.typing as npt

Image = npt.NDArray[np.uint8]
LIVE_SCHEMES = ("rtsp://", "rtsps://", "http://", "https://", "rtmp://", "udp://", "tcp://")


@dataclass(frozen=True, slots=True)
class Frame:
    """One sampled frame, downscaled to the detect size.

    `offset_s` is the position in a file, or seconds since the source was first opened
    for a live stream; `scale` maps detect-frame pixels back to source pixels.
    """

    image: Image
    offset_s: float
    at: datetime
    index: int
    scale: float = 1.0
    source: Any = field(default=None, repr=False, compare=False)

    def full_resolution(self) -> Image:
        """The frame at source resolution (plates need it); the image itself if unknown."""
        if self.source is None:
            return self.image
        out: Image = self.source.to_ndarray(format="bgr24")
        return out


@dataclass(frozen=True, slots=True)
class SourceHealth:
    """What a camera's health card shows."""

    online: bool
    state: str  # connecting | online | offline | ended | closed
    last_frame_at: datetime | None
    measured_fps: float
    frames: int
    reconnects: int
    last_error: str | None


@dataclass(frozen=True, slots=True)
class Backoff:
    """Exponential backoff with jitter, so cameras behind one dead NVR don't retry in step."""

    initial_s: float = 0.5
    factor: float = 2.0
    maximum_s: float = 30.0
    jitter: float = 0.25

    def delay(self, attempt: int, rng: random.Random) -> float:
        base = min(self.initial_s * self.factor**attempt, self.maximum_s)
        return base * rng.uniform(1.0 - self.jitter, 1.0 + self.jitter)


def fit_size(width: int, height: int, box: tuple[int, int]) -> tuple[int, int]:
    """The largest even size within `box` with the source's aspect ratio; never upscales."""
    ratio = min(box[0] / width, box[1] / height, 1.0)
    return max(round(width * ratio / 2) * 2, 2), max(round(height * ratio / 2) * 2, 2)


class VideoSource:
    """Sampled, downscaled frames from a file or a live stream.

    `frames()` is a generator to consume in the camera's own worker; `health()` and
    `close()` may be called from any thread.
    """

    def __init__(
        self,
        url: str,
        *,
        detect_fps: float = 5.0,
        detect_size: tuple[int, int] = (640, 360),
        live: bool | None = None,
        open_timeout_s: float = 5.0,
        read_timeout_s: float = 4.0,
        stale_after_s: float = 3.0,
        backoff: Backoff = Backoff(),
        seed: int | None = None,
        decoder_threads: int = 1,
    ) -> None:
        self.url = url
        self.detect_fps = detect_fps
        self.detect_size = detect_size
        self.live = url.lower().startswith(LIVE_SCHEMES) if live is None else live
        self.open_timeout_s = open_timeout_s
        self.read_timeout_s = read_timeout_s
        self.stale_after_s = stale_after_s
        self.backoff = backoff
        self.decoder_threads = decoder_threads
        self._rng = random.Random(seed)  # noqa: S311 - retry jitter, not a secret
        self._closed = threading.Event()
        self._lock = threading.Lock()
        self._state = "connecting"
        self._error: str | None = None
        self._last_frame_mono: float | None = None
        self._last_frame_at: datetime | None = None
        self._times: deque[float] = deque(maxlen=25)
        self._frames = 0
        self._reconnects = 0
        self._started = time.monotonic()

    # --- health ---------------------------------------------------------------------------

    def health(self) -> SourceHealth:
        """A snapshot; a live source silent for `stale_after_s` is offline with the reason."""
        with self._lock:
            state, error = self._state, self._error
            now = time.monotonic()
            if state == "online" and self._last_frame_mono is not None:
                silent = now - self._last_frame_mono
                if silent > self.stale_after_s:
                    state, error = "offline", f"no frames for {silent:.1f} s"
            times = list(self._times)
            fps = (
                (len(times) - 1) / (times[-1] - times[0]) if len(times) > 1 and times[-1] > times[0] else 0.0
            )
            if state != "online":
                fps = 0.0
            return SourceHealth(
                online=state == "online",
                state=state,
                last_frame_at=self._last_frame_at,
                measured_fps=round(fps, 2),
                frames=self._frames,
                reconnects=self._reconnects,
                last_error=error,
            )

    def _set(self, state: str, error: str | None = None) -> None:
        with self._lock:
            self._state = state
            if error is not None:
                self._error = error

    def close(self) -> None:
        """Stop: the generator ends at its next frame, read timeout or backoff wait."""
        self._closed.set()
        self._set("closed")

    # --- frames ---------------------------------------------------------------------------

    def _open(self) -> Any:
        options: dict[str, str] = {}
        lowered = self.url.lower()
        if lowered.startswith(("rtsp://", "rtsps://")):
            options |= {"rtsp_transport": "tcp", "timeout": str(int(self.read_timeout_s * 1e6))}
        elif lowered.startswith(("http://", "https://")):
            options |= {"rw_timeout": str(int(self.read_timeout_s * 1e6)), "reconnect": "0"}
        if self.live:
            options |= {"fflags": "nobuffer", "probesize": "500000", "analyzeduration": "500000"}
        return av.open(self.url, options=options, timeout=(self.open_timeout_s, self.read_timeout_s))

    def frames(self) -> Iterator[Frame]:
        """Sampled frames until the file ends or `close()`; live streams reconnect on failure."""
        attempt = 0
        index = 0
        while not self._closed.is_set():
            got_any = False
            try:
                container = self._open()
            except (av.error.FFmpegError, OSError) as exc:
                self._set("offline", f"cannot open: {_reason(exc)}")
                if not self.live:
                    raise
            else:
                try:
                    for frame in self._decode(container, index):
                        if not got_any:
                            got_any, attempt = True, 0
                        index = frame.index + 1
                        yield frame
                        if self._closed.is_set():
                            return
                    if not self.live:
                        self._set("ended")
                        return
                    self._set("offline", "stream ended")
                except (av.error.FFmpegError, OSError) as exc:
                    self._set("offline", f"read failed: {_reason(exc)}")
                    if not self.live:
                        raise
                finally:
                    container.close()
            if self._closed.is_set():
                return
            with self._lock:
                self._reconnects += 1
            self._closed.wait(self.backoff.delay(attempt, self._rng))
            attempt += 1

    def _decode(self, container: Any, index: int) -> Iterator[Frame]:
        """Decode every frame, convert only those due at `detect_fps`."""
        stream = container.streams.video[0]
        stream.codec_context.thread_count = self.decoder_threads  # 1: many cameras share a core
        interval = 1.0 / self.detect_fps if self.detect_fps > 0 else 0.0
        size: tuple[int, int] | None = None
        next_due = -1.0
        for av_frame in container.decode(stream):
            now = time.monotonic()
            if self.live:
                t = now - self._started
            else:
                t = (
                    float(av_frame.time)
                    if av_frame.time is not None
                    else index / float(stream.average_rate or 25)
                )
            with self._lock:
                if self._state != "closed":
                    self._state, self._error = "online", None
                self._last_frame_mono = now
            if t + 1e-6 < next_due:
                continue  # decoded but not due: no conversion, no copy
            next_due = t + interval if next_due < 0 or t - next_due > interval else next_due + interval
            if size is None:
                size = fit_size(av_frame.width, av_frame.height, self.detect_size)
            image = av_frame.to_ndarray(format="bgr24", width=size[0], height=size[1])
            at = datetime.now(UTC)
            with self._lock:
                self._frames += 1
                self._times.append(now)
                self._last_frame_at = at
            yield Frame(image, t, at, index, av_frame.width / size[0], av_frame)
            index += 1


def _reason(exc: BaseException) -> str:
    """A short, single-line reason (FFmpeg errors carry the URL, which may hold a password)."""
    if isinstance(exc, av.error.FFmpegError):
        return str(exc.strerror or type(exc).__name__)
    return str(exc).splitlines()[0] if str(exc) else type(exc).__name__
