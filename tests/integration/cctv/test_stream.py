"""A live HTTP MJPEG camera that dies and comes back: the source reports it offline with the
reason within 5 s, reconnects with backoff, and frames flow again.

The camera is a small threaded HTTP server in this test, serving JPEG frames of the real
footage as `multipart/x-mixed-replace`, the way cheap IP cameras do.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import av
import cv2
import pytest

from khusela.cctv.video.source import Backoff, SourceHealth, VideoSource
from tests.services import shared_data

BOUNDARY = b"khuselaframe"


def footage_jpegs(count: int) -> list[bytes]:
    """`count` JPEG frames of the real footage, small enough to serve quickly."""
    out: list[bytes] = []
    with av.open(shared_data("video", "vtest_h264.mp4")) as container:
        for frame in container.decode(video=0):
            ok, jpeg = cv2.imencode(".jpg", frame.to_ndarray(format="bgr24", width=384, height=288))
            assert ok
            out.append(jpeg.tobytes())
            if len(out) == count:
                break
    return out


class MjpegCamera:
    """A loopback MJPEG camera that can be stopped (connections dropped) and restarted."""

    def __init__(self, jpegs: list[bytes], fps: float = 10.0) -> None:
        self.jpegs, self.fps = jpegs, fps
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self._server: ThreadingHTTPServer | None = None
        self._alive = threading.Event()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/video.mjpg"

    def start(self) -> None:
        camera = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                self.send_response(200)
                self.send_header("Content-Type", f"multipart/x-mixed-replace;boundary={BOUNDARY.decode()}")
                self.end_headers()
                i = 0
                try:
                    while camera._alive.is_set():
                        jpeg = camera.jpegs[i % len(camera.jpegs)]
                        head = b"--%s\r\nContent-Type: image/jpeg\r\nContent-Length: %d\r\n\r\n" % (
                            BOUNDARY,
                            len(jpeg),
                        )
                        self.wfile.write(head + jpeg + b"\r\n")
                        self.wfile.flush()
                        i += 1
                        time.sleep(1 / camera.fps)
                except OSError:
                    pass
                self.close_connection = True

        ThreadingHTTPServer.allow_reuse_address = True
        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self._server.daemon_threads = True
        self._alive.set()
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        """The camera dies: the listener goes away and open streams stop mid-flight."""
        self._alive.clear()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None


@pytest.fixture
def camera() -> Iterator[MjpegCamera]:
    cam = MjpegCamera(footage_jpegs(30))
    cam.start()
    yield cam
    cam.stop()


def wait_for(predicate: object, timeout: float) -> float:
    """Seconds until `predicate()` held; fails after `timeout`."""
    assert callable(predicate)
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        if predicate():
            return time.monotonic() - start
        time.sleep(0.05)
    pytest.fail(f"condition not met within {timeout} s")


def test_mjpeg_camera_goes_offline_and_comes_back(camera: MjpegCamera) -> None:
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
        wait_for(lambda: len(frames) >= 5, 10)
        health: SourceHealth = source.health()
        assert health.online
        assert health.state == "online"
        assert health.last_error is None
        assert 2.0 <= health.measured_fps <= 7.0, health  # sampled at 5 fps from a 10 fps camera
        assert frames == sorted(frames)

        camera.stop()
        took = wait_for(lambda: not source.health().online, 5.0)
        down = source.health()
        assert took < 5.0
        assert down.state == "offline", down
        assert down.last_error, down
        time.sleep(1.5)  # a few reconnect attempts against a closed port
        assert source.health().reconnects >= 1
        assert not source.health().online

        before = len(frames)
        camera.start()
        wait_for(lambda: len(frames) >= before + 5, 10)
        up = source.health()
        assert up.online
        assert up.last_error is None
        assert up.reconnects >= 1
    finally:
        source.close()
        camera.stop()
        worker.join(timeout=6)
    assert not worker.is_alive()
