"""Analyse a video or image file once: the engine of `khusela cctv analyze`.

An investigator drops a clip or a still from a phone or an NVR export and gets the people
and plates in it, each with where and when; an image is treated as a one-frame video.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import av
import cv2
import numpy as np

from khusela.cctv.video.pipeline import LABELS, CameraConfig, CameraPipeline, CctvEvent
from khusela.cctv.video.source import Frame, VideoSource, fit_size
from khusela.core.errors import InvalidInput

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".webp"}


def parse_detect(value: str) -> tuple[str, ...]:
    """`person,plate` → ("person", "plate"); anything else is refused by name."""
    labels = tuple(dict.fromkeys(v.strip().lower() for v in value.split(",") if v.strip()))
    bad = [v for v in labels if v not in LABELS]
    if not labels or bad:
        raise InvalidInput(f"--detect takes a comma list of {', '.join(LABELS)}; got {value!r}")
    return labels


def analyze(
    path: str | Path,
    *,
    fps: float = 5.0,
    detect: tuple[str, ...] = ("person",),
    watchlist: str | Path | None = None,
) -> Iterator[CctvEvent]:
    """Events found in the file, in the order the tracks start and end."""
    file = Path(path)
    if not file.is_file():
        raise InvalidInput(f"no such file: {file.name}")
    if fps <= 0 or fps > 60:
        raise InvalidInput("--fps must be between 0 and 60")
    if watchlist is not None and not Path(watchlist).is_file():
        raise InvalidInput(f"no such watchlist: {Path(watchlist).name}")
    is_image = file.suffix.lower() in IMAGE_SUFFIXES
    config = CameraConfig(
        camera_id=file.name,
        url=str(file),
        detect_fps=fps,
        detect=detect,
        watchlist_path=str(watchlist) if watchlist else None,
        min_hits=1 if is_image else 2,
    )
    pending: list[CctvEvent] = []
    pipeline = CameraPipeline(config, pending.append)
    if is_image:
        pipeline.process(_image_frame(file))
    else:
        source = VideoSource(str(file), detect_fps=fps, detect_size=config.detect_size, live=False)
        try:
            for frame in source.frames():
                pipeline.process(frame)
                yield from pending
                pending.clear()
        except av.error.FFmpegError as exc:
            raise InvalidInput(f"cannot decode {file.name}: not a readable video or image") from exc
        if source.health().frames == 0:
            raise InvalidInput(f"cannot decode {file.name}: no video frames")
    pipeline.finish()
    yield from pending


def _image_frame(file: Path) -> Frame:
    read = cv2.imread(str(file), cv2.IMREAD_COLOR)
    if read is None:
        raise InvalidInput(f"cannot decode {file.name}: not a readable image")
    image = np.asarray(read, np.uint8)
    height, width = image.shape[:2]
    size = fit_size(width, height, (640, 360))
    small = image
    if size != (width, height):
        small = np.asarray(cv2.resize(image, size, interpolation=cv2.INTER_AREA), np.uint8)

    class Still:
        """Stands in for a PyAV frame so plates can read the full-resolution image."""

        def to_ndarray(self, **_: Any) -> Any:
            return image

    return Frame(small, 0.0, datetime.now(UTC), 0, width / size[0], Still())


def event_json(event: CctvEvent) -> dict[str, Any]:
    """The JSON line of one event (no snapshot bytes)."""
    out: dict[str, Any] = {
        "kind": event.kind,
        "offset_s": event.offset_s,
        "label": event.label,
        "score": event.score,
        "box": list(event.box),
        "track_id": event.track_id,
        "duration_s": event.duration_s,
    }
    if event.zone:
        out["zone"] = event.zone
    if event.plate:
        out["plate"] = event.plate
    if event.watchlist:
        out["watchlist"] = event.watchlist
    return out
