"""CCTV video analytics benchmark: what one core sustains per camera, on the real footage.

    .venv/bin/python bench/cctv_video.py            # full run, about a minute
    .venv/bin/python bench/cctv_video.py --quick    # shorter clips, ~20 s

Measures, in one process on one core:

1. decode + sample (5 fps of a 10 fps H.264 stream) + downscale to fit 640x360 + motion
   gate: sampled frames per CPU-second, on /work/shared/data/video/vtest_h264.mp4;
2. the HOG people detector: ms per call on the whole detect frame and per motion region;
3. a mostly static scene (the plaza's median background with real footage cut in a tenth
   of the time, encoded to a temporary H.264 file): the whole camera pipeline with gating,
   giving cameras per core at 5 fps = sampled frames per CPU-second ÷ 5 (target >= 30);
4. the share of frames the gate spares the detector on that scene (target >= 80 %), and
   the people the gated pipeline still finds compared with the detector on every frame
   (target: none lost, recall >= 0.95 at IoU 0.3).

Prints tables and writes bench/results/cctv_video.json.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script: make `bench` and `khusela` importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import av
import numpy as np
import numpy.typing as npt

from bench.common import Target, fmt, print_table, progress, summarise, write_results
from khusela.cctv.video.detectors import Detection, HogPeopleDetector
from khusela.cctv.video.geometry import Box, iou
from khusela.cctv.video.motion import MotionGate
from khusela.cctv.video.pipeline import CameraConfig, CameraPipeline, CctvEvent
from khusela.cctv.video.source import Frame, VideoSource

NAME = "cctv_video"
ROOT = Path(__file__).resolve().parent.parent
FOOTAGE = ROOT.parent / "shared" / "data" / "video" / "vtest_h264.mp4"
FPS = 5.0
TARGET_CAMERAS_PER_CORE = 30.0
TARGET_SPARED = 0.80
TARGET_RECALL = 0.95
Image = npt.NDArray[np.uint8]


# --- the static scene ---------------------------------------------------------------------


def sampled_frames(path: Path | str, count: int, fps: float = FPS) -> list[Frame]:
    """The first `count` frames of a file as the pipeline would sample them."""
    out: list[Frame] = []
    for frame in VideoSource(str(path), detect_fps=fps).frames():
        out.append(frame)
        if len(out) == count:
            break
    return out


def static_scene(
    frames: Sequence[Frame], length: int, segments: int, moving_share: float = 0.1
) -> tuple[list[Frame], set[int]]:
    """`length` frames of the plaza's empty background (the median of `frames`) with
    `segments` runs of real footage cut in, `moving_share` of the time in all; also the
    indices of the footage frames (the only ones with people in them)."""
    background = np.median(np.stack([f.image for f in frames[:: max(len(frames) // 25, 1)]]), axis=0).astype(
        np.uint8
    )
    run = max(round(length * moving_share / segments), 1)
    starts = {round((k + 0.5) * length / segments): k for k in range(segments)}
    out: list[Frame] = []
    moving: set[int] = set()
    moving_left, cursor = 0, 0
    for i in range(length):
        if i in starts:
            moving_left, cursor = run, (starts[i] * run * 7) % max(len(frames) - run, 1)
        if moving_left:
            image = frames[cursor].image
            moving.add(i)
            moving_left, cursor = moving_left - 1, cursor + 1
        else:
            image = background
        out.append(Frame(image, i / FPS, frames[0].at, i, frames[0].scale))
    return out, moving


def write_h264(path: Path, frames: Sequence[Frame], fps: float = FPS) -> None:
    """Encode frames as a real camera would send them (H.264, GOP of 2 s)."""
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=round(fps))
        stream.width, stream.height = frames[0].image.shape[1], frames[0].image.shape[0]
        stream.pix_fmt = "yuv420p"
        stream.options = {"preset": "veryfast", "crf": "26", "g": str(round(2 * fps))}
        for f in frames:
            for packet in stream.encode(av.VideoFrame.from_ndarray(f.image, format="bgr24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)


class Recording:
    """Wraps a detector and keeps what it found on each frame (for the recall check)."""

    def __init__(self, inner: HogPeopleDetector) -> None:
        self.inner = inner
        self.labels = inner.labels
        self.found: dict[int, list[Detection]] = {}
        self.frame = 0

    def detect(self, frame: Image, regions: Sequence[Box] | None) -> list[Detection]:
        found = self.inner.detect(frame, regions)
        self.found.setdefault(self.frame, []).extend(found)
        return found


def run_scene(frames: Sequence[Frame], gate: bool) -> tuple[CameraPipeline, Recording, list[CctvEvent]]:
    """The whole camera pipeline over frames; what it found on each frame is recorded."""
    events: list[CctvEvent] = []
    recording = Recording(HogPeopleDetector())
    pipeline = CameraPipeline(CameraConfig("bench", "scene"), events.append, detectors=[recording], gate=gate)
    for i, frame in enumerate(frames):
        recording.frame = i
        pipeline.process(frame)
    pipeline.finish()
    return pipeline, recording, events


def people_recall(
    reference: Recording, gated: Recording, with_people: set[int], threshold: float = 0.3
) -> tuple[float, int]:
    """Share of the people the detector finds on every frame that the gated run also found
    on the same frame or within two frames (a person is re-detected as motion resumes).

    Only frames of real footage count: HOG's detections on the empty background are false
    positives on static structures, which the gate is right not to look at again."""
    total = matched = 0
    for i, found in reference.found.items():
        if i not in with_people:
            continue
        for det in found:
            total += 1
            nearby = [d for j in range(i - 2, i + 3) for d in gated.found.get(j, [])]
            if any(iou(det.box, d.box) >= threshold for d in nearby):
                matched += 1
    return (matched / total if total else 1.0), total


# --- measurements -------------------------------------------------------------------------


def decode_and_gate(path: Path, limit: int) -> dict[str, float]:
    """Sampled frames per CPU-second for decode + sample + downscale + motion gate."""
    gate = MotionGate()
    cpu0, n = time.process_time(), 0
    for frame in VideoSource(str(path), detect_fps=FPS).frames():
        gate.regions(frame.image)
        n += 1
        if n >= limit:
            break
    cpu = time.process_time() - cpu0
    return {"frames": n, "cpu_seconds": round(cpu, 3), "frames_per_cpu_second": round(n / cpu, 1)}


def hog_costs(frames: Sequence[Frame], calls: int) -> dict[str, Any]:
    """HOG ms per call on the whole frame and on each motion region found on the footage."""
    hog = HogPeopleDetector()
    gate = MotionGate()
    full: list[float] = []
    per_region: list[float] = []
    for i, frame in enumerate(frames):
        regions = gate.regions(frame.image)
        if i % max(len(frames) // calls, 1) == 0 and len(full) < calls:
            t0 = time.process_time()
            hog.detect(frame.image, None)
            full.append(time.process_time() - t0)
        for region in regions[:3]:
            t0 = time.process_time()
            hog.detect(frame.image, [region])
            per_region.append(time.process_time() - t0)
    return {
        "frame_size": list(frames[0].image.shape[1::-1]),
        "full_frame": summarise(full).as_dict(2),
        "per_region": summarise(per_region).as_dict(2),
    }


def scene_throughput(path: Path) -> dict[str, float]:
    """The whole gated camera pipeline on the encoded static scene, from the file."""
    events: list[CctvEvent] = []
    pipeline = CameraPipeline(CameraConfig("bench", str(path)), events.append)
    cpu0 = time.process_time()
    for frame in VideoSource(str(path), detect_fps=FPS).frames():
        pipeline.process(frame)
    pipeline.finish()
    cpu = time.process_time() - cpu0
    rate = pipeline.stats.frames / cpu
    return {
        "frames": pipeline.stats.frames,
        "cpu_seconds": round(cpu, 3),
        "frames_per_cpu_second": round(rate, 1),
        "cameras_per_core_at_5fps": round(rate / FPS, 1),
        "spared": round(pipeline.stats.spared, 3),
        "tracks": sum(1 for e in events if e.kind == "end"),
    }


def run(quick: bool) -> tuple[dict[str, Any], list[Target]]:
    """Every figure and its targets; bench/cctv.py combines this with the plate bench."""
    if not FOOTAGE.exists():
        raise SystemExit(f"footage missing: {FOOTAGE}")
    sample_count = 80 if quick else 300
    progress("decode + motion gate on the footage")
    decode = decode_and_gate(FOOTAGE, sample_count)
    frames = sampled_frames(FOOTAGE, sample_count)
    progress("HOG cost per call")
    hog = hog_costs(frames, 5 if quick else 15)
    length = 150 if quick else 500
    scene, with_people = static_scene(frames, length, segments=3 if quick else 8)
    progress("static scene: gated vs detector on every frame")
    gated, gated_found, gated_events = run_scene(scene, gate=True)
    _, every_found, every_events = run_scene(scene, gate=False)
    recall, reference_people = people_recall(every_found, gated_found, with_people)
    with tempfile.TemporaryDirectory() as tmp:
        encoded = Path(tmp) / "static.mp4"
        write_h264(encoded, scene)
        progress("static scene from H.264: cameras per core")
        throughput = scene_throughput(encoded)
    figures: dict[str, Any] = {
        "quick": quick,
        "footage": FOOTAGE.name,
        "detect_fps": FPS,
        "decode_and_gate": decode,
        "hog_ms": hog,
        "static_scene": {
            "frames": length,
            "moving_share": 0.1,
            "spared_gated": round(gated.stats.spared, 3),
            "people_detections_every_frame": reference_people,
            "people_recall_gated": round(recall, 3),
            "tracks_gated": sum(1 for e in gated_events if e.kind == "end"),
            "tracks_every_frame": sum(1 for e in every_events if e.kind == "end"),
            "from_h264": throughput,
        },
    }
    targets = [
        Target(
            "cameras per core at 5 fps, gated",
            "static scene from H.264, whole pipeline",
            throughput["cameras_per_core_at_5fps"],
            TARGET_CAMERAS_PER_CORE,
            "cameras",
            True,
        ),
        Target(
            "frames spared the detector",
            "static scene, 10 % moving",
            gated.stats.spared,
            TARGET_SPARED,
            "share",
            True,
        ),
        Target("people kept by the gate", "vs HOG on every frame", recall, TARGET_RECALL, "recall", True),
    ]
    return figures, targets


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="shorter clips")
    args = parser.parse_args(argv)
    figures, targets = run(args.quick)
    decode, hog, scene = figures["decode_and_gate"], figures["hog_ms"], figures["static_scene"]
    print_table(
        "Per-core costs (one process)",
        ["stage", "figure"],
        [
            ["decode + sample + downscale + gate", f"{fmt(decode['frames_per_cpu_second'], 1)} frames/CPU-s"],
            [f"HOG full frame {hog['frame_size']}", f"{fmt(hog['full_frame']['mean_ms'], 1)} ms (mean)"],
            ["HOG per motion region", f"{fmt(hog['per_region']['mean_ms'], 1)} ms (mean)"],
            ["static scene pipeline", f"{fmt(scene['from_h264']['frames_per_cpu_second'], 1)} frames/CPU-s"],
            ["tracks gated / every frame", f"{scene['tracks_gated']} / {scene['tracks_every_frame']}"],
        ],
    )
    print_table(
        "Targets",
        ["target", "value", "limit", "pass"],
        [
            [
                t.name,
                fmt(t.value),
                f"{'>=' if t.higher_is_better else '<='} {fmt(t.limit)}",
                "yes" if t.passed else "NO",
            ]
            for t in targets
        ],
    )
    path = write_results(NAME, figures, targets, notes=["CPU only; figures per core from process CPU time."])
    print(f"\nwrote {path.relative_to(ROOT)}")
    return 0 if all(t.passed for t in targets) else 1


if __name__ == "__main__":
    raise SystemExit(main())
