"""Sampling and downscaling of a file source, backoff, and the motion gate on synthetic
frames (a square moving over a still background, partly under a mask)."""

from __future__ import annotations

import random
from pathlib import Path

import av
import numpy as np
import pytest

from khusela.cctv.video.geometry import overlaps
from khusela.cctv.video.motion import MotionGate
from khusela.cctv.video.source import Backoff, VideoSource, fit_size


def square_frames(count: int, size: tuple[int, int] = (320, 240)) -> list[np.ndarray]:
    """A grey scene with a white square moving right 6 px a frame."""
    width, height = size
    out = []
    for i in range(count):
        frame = np.full((height, width, 3), 80, np.uint8)
        frame[100:140, 20 + 6 * i : 60 + 6 * i] = 255
        out.append(frame)
    return out


def write_mp4(path: Path, frames: list[np.ndarray], fps: int = 10) -> None:
    with av.open(str(path), "w") as container:
        stream = container.add_stream("mpeg4", rate=fps)
        stream.width, stream.height = frames[0].shape[1], frames[0].shape[0]
        stream.pix_fmt = "yuv420p"
        for image in frames:
            for packet in stream.encode(av.VideoFrame.from_ndarray(image, format="bgr24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)


def test_file_source_samples_at_detect_fps_and_downscales(tmp_path: Path) -> None:
    video = tmp_path / "square.mp4"
    write_mp4(video, square_frames(30))
    source = VideoSource(str(video), detect_fps=5, detect_size=(160, 160))
    frames = list(source.frames())
    assert len(frames) == 15  # 3 s of 10 fps at 5 fps
    assert [round(f.offset_s, 1) for f in frames[:3]] == [0.0, 0.2, 0.4]
    assert frames[0].image.shape == (120, 160, 3)
    assert frames[0].scale == 2.0
    assert frames[0].full_resolution().shape == (240, 320, 3)
    health = source.health()
    assert health.state == "ended"
    assert health.frames == 15
    assert health.last_error is None


def test_a_missing_file_raises_and_is_reported() -> None:
    source = VideoSource("/no/such/file.mp4")
    with pytest.raises(OSError, match="No such file"):
        list(source.frames())
    assert source.health().state == "offline"
    assert "cannot open" in (source.health().last_error or "")


def test_fit_size_keeps_aspect_and_never_upscales() -> None:
    assert fit_size(768, 576, (640, 360)) == (480, 360)
    assert fit_size(1920, 1080, (640, 360)) == (640, 360)
    assert fit_size(320, 240, (640, 360)) == (320, 240)


def test_backoff_grows_caps_and_jitters() -> None:
    rng = random.Random(7)
    backoff = Backoff(initial_s=0.5, factor=2, maximum_s=4, jitter=0.25)
    delays = [backoff.delay(n, rng) for n in range(6)]
    assert 0.375 <= delays[0] <= 0.625
    assert 0.75 <= delays[1] <= 1.25
    assert all(3.0 <= d <= 5.0 for d in delays[3:])
    assert len({round(d, 6) for d in delays[3:]}) == 3  # jitter: no two retries in step


def test_motion_gate_finds_the_moving_square_only_outside_the_mask() -> None:
    gate = MotionGate(work_width=160)
    frames = square_frames(12)
    still = np.full((240, 320, 3), 80, np.uint8)
    for _ in range(5):
        assert gate.regions(still) == []
    for frame in frames[:8]:
        regions = gate.regions(frame)
    assert len(regions) == 1
    assert overlaps(regions[0], (20 + 6 * 7, 100, 40, 40))  # where the square is now
    assert regions[0][2] * regions[0][3] < 320 * 240 / 4  # and not the whole frame

    masked = MotionGate(work_width=160, mask=[[(0.0, 0.0), (1.0, 0.0), (1.0, 0.8), (0.0, 0.8)]])
    for _ in range(5):
        masked.regions(still)
    assert all(masked.regions(frame) == [] for frame in frames[:8])
