"""The pipeline with a fake detector: the first frame is examined whole, still frames spare
the detector, tracks become start and end events in source pixels with their zone."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

import numpy as np
import pytest

from khusela.cctv.video.analyze import parse_detect
from khusela.cctv.video.detectors import Detection
from khusela.cctv.video.geometry import Box
from khusela.cctv.video.pipeline import CameraConfig, CameraPipeline, CctvEvent
from khusela.cctv.video.source import Frame
from khusela.core.errors import InvalidInput


class FakeDetector:
    """Reports a person wherever the white square is, and remembers what it was shown."""

    labels = frozenset({"person"})

    def __init__(self) -> None:
        self.calls: list[Sequence[Box] | None] = []

    def detect(self, frame: np.ndarray, regions: Sequence[Box] | None) -> list[Detection]:
        self.calls.append(regions)
        ys, xs = np.nonzero(frame[:, :, 0] == 255)
        if not len(xs):
            return []
        return [
            Detection("person", 0.9, (int(xs.min()), int(ys.min()), int(np.ptp(xs)) + 1, int(np.ptp(ys)) + 1))
        ]


def frame(i: int, square_x: int | None) -> Frame:
    image = np.full((120, 160, 3), 80, np.uint8)
    if square_x is not None:
        image[60:100, square_x : square_x + 20] = 255
    return Frame(image, i * 0.2, datetime.now(UTC), i, scale=2.0)


def test_events_and_sparing() -> None:
    events: list[CctvEvent] = []
    detector = FakeDetector()
    config = CameraConfig("gate-1", "test", zones={"left": [(0.0, 0.0), (0.5, 0.0), (0.5, 1.0), (0.0, 1.0)]})
    pipeline = CameraPipeline(config, events.append, detectors=[detector])
    for i in range(10):
        pipeline.process(frame(i, None))
    for i in range(10, 16):
        pipeline.process(frame(i, 10 + 4 * (i - 10)))
    for i in range(16, 40):
        pipeline.process(frame(i, None))
    pipeline.finish()
    assert detector.calls[0] is None  # the first frame is looked at whole
    assert pipeline.stats.frames == 40
    assert pipeline.stats.spared >= 0.7, pipeline.stats
    assert [(e.kind, e.label, e.track_id, e.zone) for e in events] == [
        ("start", "person", 1, "left"),
        ("end", "person", 1, "left"),
    ]
    start = events[0]
    assert start.camera_id == "gate-1"
    assert start.box[3] == 80


def test_unknown_labels_are_refused() -> None:
    with pytest.raises(ValueError, match="unknown detect"):
        CameraPipeline(CameraConfig("c", "x", detect=("car",)), lambda e: None)
    with pytest.raises(InvalidInput):
        parse_detect("person,car")
    assert parse_detect(" Person , plate,person") == ("person", "plate")
