"""Object detectors behind one small protocol, so the pipeline does not care which runs.

`HogPeopleDetector` needs nothing but OpenCV and is the CPU default; `OnnxDetector` runs
any YOLO-style ONNX export (v5 with objectness, v8 without) through onnxruntime for sites
that ship a model file. Both look only inside the regions they are given.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import cv2
import numpy as np
import numpy.typing as npt

from khusela.cctv.video.geometry import Box, merge, pad

Image = npt.NDArray[np.uint8]
Floats = npt.NDArray[np.float32]


@dataclass(frozen=True, slots=True)
class Detection:
    """One object found in one frame; `box` is (x, y, w, h) in that frame's pixels."""

    label: str
    score: float
    box: Box
    text: str | None = None  # what a plate reader read, when it is a plate


class Detector(Protocol):
    """Finds objects in `frame`, looking only inside `regions` (the whole frame when None)."""

    labels: frozenset[str]

    def detect(self, frame: Image, regions: Sequence[Box] | None) -> list[Detection]:
        """Detections in frame pixels, after non-maximum suppression."""
        ...


def nms(
    detections: Sequence[Detection], iou_threshold: float, score_threshold: float = 0.0
) -> list[Detection]:
    """Keep the best of every group of overlapping detections of the same label."""
    out: list[Detection] = []
    for label in sorted({d.label for d in detections}):
        group = [d for d in detections if d.label == label]
        keep = cv2.dnn.NMSBoxes(
            [list(d.box) for d in group], [d.score for d in group], score_threshold, iou_threshold
        )
        out.extend(group[int(i)] for i in np.array(keep).reshape(-1))
    return out


class HogPeopleDetector:
    """OpenCV's HOG + linear SVM people detector, run on padded, upscaled motion regions.

    The default SVM wants people at least 128 px tall; in a 640-wide detect frame a
    pedestrian is often 50-80 px, so each region is scaled by `upscale` first. Scanning
    regions instead of the frame is what makes HOG affordable on many cameras.
    """

    labels = frozenset({"person"})

    def __init__(
        self,
        *,
        upscale: float = 2.0,
        min_score: float = 0.5,
        padding: int = 16,
        min_region: tuple[int, int] = (40, 72),
        win_stride: int = 8,
        pyramid_scale: float = 1.08,
    ) -> None:
        self.upscale = upscale
        self.min_score = min_score
        self.padding = padding
        self.min_region = min_region
        self.win_stride = win_stride
        self.pyramid_scale = pyramid_scale
        self._hog = cv2.HOGDescriptor()
        self._hog.setSVMDetector(np.asarray(cv2.HOGDescriptor.getDefaultPeopleDetector(), np.float32))

    def _grow(self, box: Box, width: int, height: int) -> Box:
        """Pad a region and make it at least as large as one person window."""
        x, y, w, h = pad(box, self.padding, width, height)
        min_w, min_h = self.min_region
        if w < min_w:
            x, w = max(x - (min_w - w) // 2, 0), min(min_w, width)
        if h < min_h:
            y, h = max(y - (min_h - h) // 2, 0), min(min_h, height)
        return x, y, min(w, width - x), min(h, height - y)

    def detect(self, frame: Image, regions: Sequence[Box] | None) -> list[Detection]:
        height, width = frame.shape[:2]
        areas = (
            [(0, 0, width, height)]
            if regions is None
            else merge([self._grow(r, width, height) for r in regions])
        )
        found: list[Detection] = []
        for x, y, w, h in areas:
            crop = frame[y : y + h, x : x + w]
            if self.upscale != 1.0:
                crop = np.asarray(
                    cv2.resize(crop, None, fx=self.upscale, fy=self.upscale, interpolation=cv2.INTER_LINEAR),
                    np.uint8,
                )
            if crop.shape[0] < 128 or crop.shape[1] < 64:
                continue
            rects, weights = self._hog.detectMultiScale(
                crop,
                winStride=(self.win_stride, self.win_stride),
                padding=(8, 8),
                scale=self.pyramid_scale,
            )
            for (rx, ry, rw, rh), weight in zip(rects, np.ravel(weights), strict=True):
                score = float(weight)
                if score < self.min_score:
                    continue
                box = (
                    x + round(rx / self.upscale),
                    y + round(ry / self.upscale),
                    round(rw / self.upscale),
                    round(rh / self.upscale),
                )
                found.append(Detection("person", score, box))
        return nms(found, 0.4)


# --- ONNX (YOLO-style) --------------------------------------------------------------------


def letterbox(image: Image, size: int) -> tuple[Image, float, tuple[int, int]]:
    """Resize keeping the aspect ratio and pad to `size`², as YOLO models were trained.

    Returns the square image, the scale applied and the (left, top) padding, which is what
    mapping boxes back to the original needs.
    """
    height, width = image.shape[:2]
    ratio = min(size / height, size / width)
    new_w, new_h = round(width * ratio), round(height * ratio)
    resized = cv2.resize(image, (new_w, new_h), interpolation=cv2.INTER_LINEAR)
    left, top = (size - new_w) // 2, (size - new_h) // 2
    out = np.full((size, size, 3), 114, np.uint8)
    out[top : top + new_h, left : left + new_w] = resized
    return out, ratio, (left, top)


def decode_yolo(
    output: npt.NDArray[Any],
    labels: Sequence[str],
    *,
    conf_threshold: float = 0.25,
    iou_threshold: float = 0.45,
    ratio: float = 1.0,
    offset: tuple[int, int] = (0, 0),
    wanted: frozenset[str] | None = None,
) -> list[Detection]:
    """Turn a YOLO head's output into detections in the original image's pixels.

    Accepts one image's predictions as [N, 4+C] or [4+C, N] (YOLOv8: cx, cy, w, h, class
    scores) and [N, 5+C] (YOLOv5: an objectness score before the class scores), with or
    without the leading batch axis. Coordinates are in the letterboxed input's pixels and
    are mapped back with `ratio` and `offset` from `letterbox`.
    """
    pred = np.asarray(output, np.float32)
    if pred.ndim == 3:
        pred = pred[0]
    n_classes = len(labels)
    if pred.shape[-1] not in (4 + n_classes, 5 + n_classes) and pred.shape[0] in (
        4 + n_classes,
        5 + n_classes,
    ):
        pred = pred.T
    if pred.shape[-1] == 5 + n_classes:
        scores = pred[:, 5:] * pred[:, 4:5]
    elif pred.shape[-1] == 4 + n_classes:
        scores = pred[:, 4:]
    else:
        raise ValueError(f"YOLO output of shape {tuple(np.shape(output))} does not fit {n_classes} labels")
    best = scores.argmax(axis=1)
    confidence = scores[np.arange(len(best)), best]
    keep = confidence >= conf_threshold
    if wanted is not None:
        keep &= np.isin(np.array(labels, dtype=object)[best], list(wanted))
    pred, best, confidence = pred[keep], best[keep], confidence[keep]
    detections: list[Detection] = []
    left, top = offset
    for (cx, cy, w, h), cls, conf in zip(pred[:, :4], best, confidence, strict=True):
        x = (float(cx) - float(w) / 2 - left) / ratio
        y = (float(cy) - float(h) / 2 - top) / ratio
        box = (round(x), round(y), round(float(w) / ratio), round(float(h) / ratio))
        detections.append(Detection(labels[int(cls)], float(conf), box))
    return nms(detections, iou_threshold, conf_threshold)


class OnnxDetector:
    """A YOLO-style ONNX model on onnxruntime's CPU provider.

    Runs once on the whole frame when motion touches it: a single letterboxed pass costs
    less than one pass per region for a network, unlike HOG.
    """

    def __init__(
        self,
        model_path: str | Path,
        labels: Sequence[str],
        input_size: int | None = None,
        *,
        conf_threshold: float = 0.35,
        iou_threshold: float = 0.45,
        wanted: Sequence[str] | None = None,
        threads: int = 1,
    ) -> None:
        import onnxruntime as ort  # type: ignore[import-untyped]  # lazy: only sites with a model pay for it

        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        self._session = ort.InferenceSession(str(model_path), options, providers=["CPUExecutionProvider"])
        model_input = self._session.get_inputs()[0]
        self._input_name: str = model_input.name
        shape = model_input.shape
        self.input_size = input_size or (int(shape[-1]) if isinstance(shape[-1], int) else 640)
        self.all_labels = tuple(labels)
        self.labels = frozenset(wanted or labels)
        self.conf_threshold = conf_threshold
        self.iou_threshold = iou_threshold

    def detect(self, frame: Image, regions: Sequence[Box] | None) -> list[Detection]:
        image, ratio, offset = letterbox(frame, self.input_size)
        blob = np.ascontiguousarray(image[:, :, ::-1].transpose(2, 0, 1)[None], np.float32) / 255.0
        output = self._session.run(None, {self._input_name: blob})[0]
        return decode_yolo(
            output,
            self.all_labels,
            conf_threshold=self.conf_threshold,
            iou_threshold=self.iou_threshold,
            ratio=ratio,
            offset=offset,
            wanted=self.labels,
        )
