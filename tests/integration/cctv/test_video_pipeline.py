"""The camera pipeline and `khusela cctv analyze` on real CCTV footage (pedestrians in a
plaza, read in place from ../shared/data/video)."""

from __future__ import annotations

import json
from pathlib import Path

import av
import cv2
import pytest
from typer.testing import CliRunner

from bench.cctv_video import people_recall, run_scene, sampled_frames, static_scene
from khusela.cctv.video.pipeline import CameraConfig, CameraPipeline, CctvEvent
from khusela.cctv.video.source import Frame
from khusela.cli import app
from tests.services import shared_data


@pytest.fixture(scope="module")
def footage() -> str:
    return shared_data("video", "vtest_h264.mp4")


@pytest.fixture(scope="module")
def frames(footage: str) -> list[Frame]:
    return sampled_frames(footage, 60)  # the first 12 s at 5 fps


def test_pipeline_finds_and_tracks_people(frames: list[Frame]) -> None:
    events: list[CctvEvent] = []
    pipeline = CameraPipeline(CameraConfig("plaza", "footage"), events.append)
    for frame in frames[:40]:
        pipeline.process(frame)
    pipeline.finish()
    starts = [e for e in events if e.kind == "start"]
    ends = [e for e in events if e.kind == "end"]
    assert {e.label for e in events} == {"person"}
    assert 4 <= len(ends) <= 30, [(e.track_id, e.offset_s, e.duration_s) for e in ends]
    assert {e.track_id for e in starts} == {e.track_id for e in ends}
    assert sum(e.duration_s >= 1.0 for e in ends) >= 3  # some people followed for a second or more
    for event in ends:
        x, y, w, h = event.box
        assert 0 <= x < 768
        assert 0 <= y < 576
        assert 40 <= h <= 400
        assert w < h


def test_gate_spares_the_detector_on_a_static_scene_without_losing_people(frames: list[Frame]) -> None:
    scene, with_people = static_scene(frames, 100, segments=2)
    gated, gated_found, _ = run_scene(scene, gate=True)
    _, every_found, _ = run_scene([scene[i] for i in range(len(scene))], gate=False)
    recall, people = people_recall(every_found, gated_found, with_people)
    assert people >= 10
    assert gated.stats.spared >= 0.8, gated.stats
    assert recall >= 0.95


def test_cli_analyze_video_and_image_as_json_lines(footage: str, tmp_path: Path) -> None:
    clip = tmp_path / "clip.mp4"
    with av.open(footage) as src, av.open(str(clip), "w") as dst:
        stream = dst.add_stream("mpeg4", rate=10)
        stream.width, stream.height, stream.pix_fmt = 768, 576, "yuv420p"
        for i, frame in enumerate(src.decode(video=0)):
            if i == 50:
                break
            image = frame.to_ndarray(format="bgr24")
            if i == 20:
                cv2.imwrite(str(tmp_path / "still.jpg"), image)
            for packet in stream.encode(av.VideoFrame.from_ndarray(image, format="bgr24")):
                dst.mux(packet)
        for packet in stream.encode():
            dst.mux(packet)
    runner = CliRunner()
    result = runner.invoke(app, ["cctv", "analyze", str(clip), "--json", "--fps", "5"])
    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in result.output.splitlines()]
    assert lines
    assert {line["label"] for line in lines} == {"person"}
    assert {"offset_s", "score", "box", "track_id", "kind"} <= set(lines[0])
    assert all(0 <= line["offset_s"] <= 5.0 for line in lines)

    result = runner.invoke(app, ["cctv", "analyze", str(tmp_path / "still.jpg"), "--json"])
    assert result.exit_code == 0, result.output
    still = [json.loads(line) for line in result.output.splitlines()]
    assert len(still) >= 2
    assert all(line["offset_s"] == 0.0 for line in still)

    table = runner.invoke(app, ["cctv", "analyze", str(tmp_path / "still.jpg")])
    assert table.exit_code == 0
    assert "person" in table.output


def test_cli_refuses_bad_input_in_one_line(tmp_path: Path) -> None:
    runner = CliRunner()
    junk = tmp_path / "junk.mp4"
    junk.write_bytes(b"not a video at all")
    for args in (
        ["cctv", "analyze", str(tmp_path / "missing.mp4")],
        ["cctv", "analyze", str(junk)],
        ["cctv", "analyze", str(junk), "--detect", "person,car"],
    ):
        result = runner.invoke(app, args)
        assert result.exit_code == 1
        assert result.output.strip().startswith("error:")
        assert len(result.output.strip().splitlines()) == 1
