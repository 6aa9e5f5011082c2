"""The YOLO decoder (both layouts, with and without objectness), NMS, letterboxing, and the
ONNX detector end to end on a hand-built model; HOG on a blank frame finds nobody."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest

from khusela.cctv.video.detectors import HogPeopleDetector, OnnxDetector, decode_yolo, letterbox
from tests.unit.cctv_video.onnx_bytes import constant_yolo_model

LABELS = ["person", "car", "truck"]


def head(rows: Sequence[tuple[float, float, float, float, int, float]]) -> np.ndarray:
    """A YOLOv8 head [N, 4 + C] from (cx, cy, w, h, class, score) rows."""
    out = np.zeros((len(rows), 4 + len(LABELS)), np.float32)
    for i, (cx, cy, w, h, cls, score) in enumerate(rows):
        out[i, :4] = (cx, cy, w, h)
        out[i, 4 + cls] = score
    return out


ROWS = [
    (50, 50, 20, 40, 0, 0.9),
    (52, 51, 20, 40, 0, 0.8),  # the same person again: suppressed
    (200, 100, 60, 30, 1, 0.7),
    (300, 300, 10, 10, 2, 0.1),  # below the threshold
]


def test_decode_v8_both_layouts_with_nms() -> None:
    rows = head(ROWS)
    for output in (rows, rows.T, rows.T[None]):
        found = sorted(decode_yolo(output, LABELS, conf_threshold=0.25), key=lambda d: d.label, reverse=True)
        assert [(d.label, round(d.score, 2), d.box) for d in found] == [
            ("person", 0.9, (40, 30, 20, 40)),
            ("car", 0.7, (170, 85, 60, 30)),
        ]


def test_decode_v5_objectness_and_mapping_back_through_the_letterbox() -> None:
    v8 = head(ROWS)
    v5 = np.concatenate([v8[:, :4], np.full((len(ROWS), 1), 0.5, np.float32), v8[:, 4:]], axis=1)
    found = decode_yolo(
        v5[None], LABELS, conf_threshold=0.3, ratio=0.5, offset=(10, 0), wanted=frozenset({"person"})
    )
    assert [(d.label, round(d.score, 2), d.box) for d in found] == [("person", 0.45, (60, 60, 40, 80))]


def test_decode_refuses_an_output_that_does_not_fit_the_labels() -> None:
    with pytest.raises(ValueError, match="does not fit"):
        decode_yolo(np.zeros((10, 9), np.float32), LABELS)


def test_letterbox_keeps_aspect_and_pads() -> None:
    image = np.zeros((100, 200, 3), np.uint8)
    out, ratio, (left, top) = letterbox(image, 64)
    assert out.shape == (64, 64, 3)
    assert ratio == 0.32
    assert (left, top) == (0, 16)
    assert out[0, 0, 0] == 114
    assert out[32, 32, 0] == 0


def test_onnx_detector_runs_a_real_model_on_onnxruntime(tmp_path: Path) -> None:
    size = 64
    prediction = head([(32, 32, 16, 32, 0, 0.95), (10, 10, 4, 4, 2, 0.2)]).T[None].copy()
    model = tmp_path / "tiny.onnx"
    model.write_bytes(constant_yolo_model(prediction, size))
    detector = OnnxDetector(model, LABELS, conf_threshold=0.5)
    assert detector.input_size == size
    frame = np.zeros((64, 128, 3), np.uint8)  # letterboxed: ratio 0.5, 16 px top padding
    found = detector.detect(frame, None)
    assert [(d.label, round(d.score, 2), d.box) for d in found] == [("person", 0.95, (48, 0, 32, 64))]


def test_hog_on_an_empty_scene_finds_nobody() -> None:
    frame = np.full((360, 480, 3), 90, np.uint8)
    assert HogPeopleDetector().detect(frame, [(100, 100, 30, 60)]) == []
    assert HogPeopleDetector().detect(frame, None) == []
