"""A real RTSP camera that dies and comes back: GStreamer's RTSP server on loopback
(`tests/rtsp_server.py`, Debian packages installed by scripts/setup-system) re-streams the
real footage; the source decodes it, reports it offline with the reason within 5 s when
the server is killed, and reconnects when it returns. The recorder records it by stream copy."""

from __future__ import annotations

import socket
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

import av
import pytest

from khusela.cctv.recording.recorder import RecordedSegment, SegmentRecorder
from khusela.cctv.video.source import Backoff, VideoSource
from tests.integration.cctv.test_stream import wait_for
from tests.services import shared_data, unavailable

SYSTEM_PYTHON = "/usr/bin/python3"
SERVER = Path(__file__).parents[2] / "rtsp_server.py"

pytestmark = pytest.mark.slow


class RtspCamera:
    def __init__(self) -> None:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = int(probe.getsockname()[1])
        self.footage = shared_data("video", "vtest_h264.mp4")
        self.process: subprocess.Popen[str] | None = None

    @property
    def url(self) -> str:
        return f"rtsp://127.0.0.1:{self.port}/cam"

    def start(self) -> None:
        self.process = subprocess.Popen(
            [SYSTEM_PYTHON, str(SERVER), str(self.port), self.footage],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        if "ready" not in line:
            self.stop()
            unavailable(
                f"the GStreamer RTSP server did not start ({line.strip() or 'no output'}): "
                "install python3-gi gir1.2-gst-rtsp-server-1.0 gstreamer1.0-plugins-good/-bad"
            )

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=5)
        self.process = None


@pytest.fixture
def camera() -> Iterator[RtspCamera]:
    if not Path(SYSTEM_PYTHON).exists():
        unavailable("no system Python for the GStreamer RTSP server")
    cam = RtspCamera()
    cam.start()
    yield cam
    cam.stop()


def test_rtsp_camera_goes_offline_with_a_reason_and_comes_back(camera: RtspCamera) -> None:
    source = VideoSource(
        camera.url,
        detect_fps=5,
        read_timeout_s=2.0,
        open_timeout_s=2.0,
        stale_after_s=2.0,
        backoff=Backoff(initial_s=0.2, maximum_s=1.0),
        seed=1,
    )
    frames: list[float] = []

    def consume() -> None:
        for frame in source.frames():
            frames.append(frame.offset_s)

    worker = threading.Thread(target=consume, daemon=True)
    worker.start()
    try:
        wait_for(lambda: len(frames) >= 10, 15)
        assert source.health().online
        camera.stop()
        took = wait_for(lambda: not source.health().online, 5.0)
        down = source.health()
        assert took < 5.0
        assert down.state == "offline", down
        assert down.last_error, down
        before = len(frames)
        camera.start()
        wait_for(lambda: len(frames) >= before + 10, 20)
        assert source.health().online
        assert source.health().reconnects >= 1
    finally:
        source.close()
        camera.stop()
        worker.join(timeout=8)
    assert not worker.is_alive()


def test_rtsp_camera_is_recorded_by_stream_copy(camera: RtspCamera, tmp_path: Path) -> None:
    segments: list[RecordedSegment] = []
    recorder = SegmentRecorder("cam-1", camera.url, tmp_path, segment_seconds=2.0, on_segment=segments.append)
    stop = threading.Event()
    thread = threading.Thread(target=recorder.run, args=(stop,), daemon=True)
    thread.start()
    try:
        wait_for(lambda: len(segments) >= 2, 20)
    finally:
        stop.set()
        thread.join(timeout=10)
    first = segments[0]
    with av.open(str(first.path)) as clip:
        stream = clip.streams.video[0]
        assert stream.codec_context.name == "h264", "copied, not re-encoded"
        assert (stream.codec_context.width, stream.codec_context.height) == (768, 576)
        assert sum(1 for _ in clip.decode(video=0)) >= 15
    assert first.sha256
