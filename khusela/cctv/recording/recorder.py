"""Record a camera's main stream as rolling MP4 segments by stream copy (no re-encode).

Remuxing costs a fraction of a percent of a core per camera, where decoding and encoding
would cost a core each, and it keeps the camera's own bytes: a segment is what the camera
sent, only re-wrapped. Segments are cut at keyframes once `segment_seconds` have passed,
so every segment starts decodable on its own. A finished segment is written to a `.part`
file, fsynced, renamed into place, hashed and reported through `on_segment`; the callback
(normally `chain.recorder_sink`) records it in the hash chain.

Only the video stream is recorded: public-space cameras carry no audio we may keep
(intercepting conversations needs a RICA direction), and one stream keeps cutting simple.

Each recorder runs in its own thread (`run(stop_event)`); a camera that fails reconnects
with exponential backoff and never touches another camera's recorder.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import random
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from fractions import Fraction
from pathlib import Path
from typing import Any

import av

from khusela.cctv.video.source import LIVE_SCHEMES, Backoff

log = logging.getLogger(__name__)
CHUNK = 1024 * 1024
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class RecordedSegment:
    """A finished, fsynced segment file, ready to be chained."""

    camera_id: str
    path: Path
    started_at: datetime
    ended_at: datetime
    size: int
    sha256: str
    clock_offset_s: float


def file_sha256(path: Path) -> tuple[str, int]:
    """SHA-256 and size of a file, read in 1 MiB chunks."""
    digest, size = hashlib.sha256(), 0
    with path.open("rb") as f:
        while chunk := f.read(CHUNK):
            digest.update(chunk)
            size += len(chunk)
    return digest.hexdigest(), size


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _source_path(url: str) -> str:
    """FFmpeg takes a local path; `file://` URLs are accepted for registered cameras."""
    return url[len("file://") :] if url.lower().startswith("file://") else url


class _Segment:
    """One open output file; timestamps are rebased so the segment starts at zero."""

    def __init__(self, path: Path, in_stream: Any, start_pts: int, started_at: datetime) -> None:
        self.part = path.with_name(path.name + ".part")
        self.path = path
        self.start_pts = start_pts
        self.started_at = started_at
        self.end_pts = start_pts
        self.packets = 0
        self.last_dts: int | None = None
        path.parent.mkdir(parents=True, exist_ok=True)
        self.output = av.open(str(self.part), "w", format="mp4")
        self.stream = self.output.add_stream_from_template(in_stream)

    def write(self, packet: Any) -> None:
        pts, dts = packet.pts, packet.dts
        if dts is None:
            dts = pts
        end = (pts if pts is not None else dts) + (packet.duration or 0)
        self.end_pts = max(self.end_pts, end)
        packet.pts = None if pts is None else pts - self.start_pts
        dts -= self.start_pts
        if self.last_dts is not None and dts <= self.last_dts:
            dts = self.last_dts + 1  # a camera's clock stutter must not abort the muxer
        if packet.pts is not None and packet.pts < dts:
            packet.pts = dts
        packet.dts = self.last_dts = dts
        packet.stream = self.stream
        self.output.mux(packet)
        self.packets += 1

    def abandon(self) -> None:
        with contextlib.suppress(av.error.FFmpegError):
            self.output.close()
        self.part.unlink(missing_ok=True)

    def finish(self) -> tuple[str, int]:
        """Close the muxer, fsync, rename into place; the file's SHA-256 and size."""
        self.output.close()
        with self.part.open("rb+") as f:
            os.fsync(f.fileno())
        os.replace(self.part, self.path)
        _fsync_dir(self.path.parent)
        return file_sha256(self.path)


@dataclass(slots=True)
class _Connection:
    """What one connection to the camera knows: where its timestamps start and which
    segment is open."""

    tb: Fraction
    base_pts: int | None = None
    base_wall: datetime = EPOCH
    offset: float = 0.0
    got_any: bool = False
    segment: _Segment | None = None


class SegmentRecorder:
    """Rolling segments of one camera under `out_dir` (normally `<data_dir>/recordings/<camera id>`).

    `clock` gives our wall clock (tests pin it); segment times are that clock at the first
    packet after (re)connecting plus the stream's own timestamps, so segments are contiguous
    and a file source records deterministic times however fast it is read.
    """

    def __init__(
        self,
        camera_id: str,
        source_url: str,
        out_dir: Path,
        segment_seconds: float = 10.0,
        on_segment: Callable[[RecordedSegment], None] | None = None,
        *,
        live: bool | None = None,
        clock: Callable[[], datetime] | None = None,
        open_timeout_s: float = 5.0,
        read_timeout_s: float = 5.0,
        backoff: Backoff | None = None,
        seed: int | None = None,
    ) -> None:
        if segment_seconds <= 0:
            raise ValueError("segment_seconds must be positive")
        self.camera_id = camera_id
        self.source_url = source_url
        self.out_dir = out_dir
        self.segment_seconds = segment_seconds
        self.on_segment = on_segment
        self.live = source_url.lower().startswith(LIVE_SCHEMES) if live is None else live
        self.clock = clock or (lambda: datetime.now(UTC))
        self.open_timeout_s = open_timeout_s
        self.read_timeout_s = read_timeout_s
        self.backoff = backoff or Backoff()
        self._rng = random.Random(seed)  # noqa: S311 - retry jitter, not a secret
        self.segments = 0
        self.reconnects = 0
        self.last_error: str | None = None

    # --- the loop ---------------------------------------------------------------------------

    def run(self, stop: threading.Event) -> None:
        """Record until `stop` is set (or a file source ends); never raises for the camera's faults."""
        attempt = 0
        while not stop.is_set():
            try:
                got_any = self._record_once(stop)
            except (av.error.FFmpegError, OSError) as exc:
                self.last_error = _reason(exc)
                log.warning("camera %s recording failed: %s", self.camera_id, self.last_error)
                got_any = False
                if not self.live:
                    return
            else:
                if not self.live:
                    return
                self.last_error = self.last_error or "stream ended"
            if got_any:
                attempt = 0
            if stop.is_set():
                return
            self.reconnects += 1
            stop.wait(self.backoff.delay(attempt, self._rng))
            attempt += 1

    def start(self, stop: threading.Event) -> threading.Thread:
        """Run in a daemon thread of its own."""
        thread = threading.Thread(target=self.run, args=(stop,), name=f"record-{self.camera_id}", daemon=True)
        thread.start()
        return thread

    def _open(self) -> Any:
        options: dict[str, str] = {}
        lowered = self.source_url.lower()
        if lowered.startswith(("rtsp://", "rtsps://")):
            options |= {"rtsp_transport": "tcp", "timeout": str(int(self.read_timeout_s * 1e6))}
        elif lowered.startswith(("http://", "https://")):
            options |= {"rw_timeout": str(int(self.read_timeout_s * 1e6)), "reconnect": "0"}
        return av.open(
            _source_path(self.source_url), options=options, timeout=(self.open_timeout_s, self.read_timeout_s)
        )

    def _record_once(self, stop: threading.Event) -> bool:
        """One connection: remux until the stream ends, fails or `stop`; True if packets came.
        A segment open when the connection fails is finished and reported: keep what came."""
        container = self._open()
        try:
            if not container.streams.video:
                raise OSError("the stream has no video")
            stream = container.streams.video[0]
            state = _Connection(stream.time_base)
            try:
                for packet in container.demux(stream):
                    if stop.is_set():
                        break
                    self._take(container, stream, state, packet)
            finally:
                self._close(state)
            return state.got_any
        finally:
            container.close()

    def _take(self, container: Any, stream: Any, state: _Connection, packet: Any) -> None:
        if packet.size == 0 or (packet.pts is None and packet.dts is None):
            return
        ts = packet.pts if packet.pts is not None else packet.dts
        if state.base_pts is None:
            if not packet.is_keyframe:
                return  # a segment must start decodable
            state.base_pts, state.base_wall = ts, self.clock()
            state.offset = self._clock_offset(container, state.base_wall)
        state.got_any = True
        segment = state.segment
        due = segment is None or float((ts - segment.start_pts) * state.tb) >= self.segment_seconds
        if packet.is_keyframe and due:
            if segment is not None:
                state.segment = None
                self._finish(segment, state.tb, state.offset)
            at = state.base_wall + timedelta(seconds=float((ts - state.base_pts) * state.tb))
            state.segment = _Segment(self._path_for(at), stream, ts, at)
        if state.segment is not None:
            state.segment.write(packet)

    def _close(self, state: _Connection) -> None:
        segment, state.segment = state.segment, None
        if segment is None:
            return
        if segment.packets:
            self._finish(segment, state.tb, state.offset)
        else:
            segment.abandon()

    def _clock_offset(self, container: Any, ours: datetime) -> float:
        """The camera's wall clock minus ours at the first packet, when the stream says
        (RTSP with RTCP sender reports sets `start_time_realtime`); 0 when unknown."""
        realtime = getattr(container, "start_time_realtime", None)
        if not self.live or not realtime or realtime <= 0:
            return 0.0
        camera = datetime.fromtimestamp(realtime / 1e6, UTC)
        return round((camera - ours).total_seconds(), 6)

    def _path_for(self, at: datetime) -> Path:
        stamp = at.astimezone(UTC).strftime("%Y%m%dT%H%M%S%f")
        return self.out_dir / at.astimezone(UTC).strftime("%Y%m%d") / f"{stamp}.mp4"

    def _finish(self, segment: _Segment, tb: Fraction, offset: float) -> None:
        sha, size = segment.finish()
        ended = segment.started_at + timedelta(seconds=float((segment.end_pts - segment.start_pts) * tb))
        recorded = RecordedSegment(self.camera_id, segment.path, segment.started_at, ended, size, sha, offset)
        self.segments += 1
        if self.on_segment is not None:
            try:
                self.on_segment(recorded)
            except Exception:  # a failing sink must not stop the recording; the file stays
                log.exception("camera %s: segment %s was not recorded", self.camera_id, segment.path.name)


def _reason(exc: BaseException) -> str:
    """A short reason (FFmpeg errors carry the URL, which may hold a password)."""
    if isinstance(exc, av.error.FFmpegError):
        return str(exc.strerror or type(exc).__name__)
    return str(exc).splitlines()[0] if str(exc) else type(exc).__name__


def recordings_root(data_dir: Path) -> Path:
    """Where segments live: `<data_dir>/recordings/<camera id>/<day>/<start>.mp4`."""
    return data_dir / "recordings"
