"""Read the characters on a cropped plate with RapidOCR (PP-OCR ONNX models in the wheel).

Measured on the 25 labelled EU crops in ../shared/data/plates (see bench/cctv_plates.py):

- The recogniser alone on the crop reads 21/25 exactly in ~11 ms; running text detection
  first (the library default) reads 4/25 in ~2 s, because it upscales a small crop to 736
  px and then splits it into fragments ("M5-", "XSX") or finds nothing. So a crop goes
  straight to the recogniser, and detection is only the fall-back for two-line plates.
- Cutting off the blue EU country band on the left removes the stray "D", "GB", "CZ"
  prefixes: 22/25 (the other three differ from their labels only by O against 0).
- Upscaling, grey-scale with CLAHE and padding changed nothing or made reads worse, and
  reading two variants and keeping the more confident doubles the time for no gain.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np
import numpy.typing as npt

from khusela.cctv.plates.normalise import Plate, clean, normalise

Image = npt.NDArray[Any]  # BGR, uint8; typed loosely because cv2 returns its own alias
Box = tuple[int, int, int, int]  # x, y, width, height in image pixels

# Below this width-to-height ratio a crop is probably a square, two-line plate.
TWO_LINE_ASPECT = 2.2
# Recognised text whose mean character confidence is lower than this is not reported.
MIN_CONFIDENCE = 0.5


@dataclass(frozen=True, slots=True)
class PlateRead:
    """What was read: raw OCR `text`, the normalised `plate`, `confidence` 0-1, and where."""

    text: str
    plate: Plate
    confidence: float
    box: Box | None = None

    @property
    def canonical(self) -> str:
        return self.plate.canonical


def trim_country_band(crop: Image) -> Image:
    """Cut off a blue band at the plate's left edge (the EU country strip), if there is one.

    The band must start within the first 5 % of the width and be 3-25 % wide, so a blue
    car behind a loose crop or a plate with a blue border is left alone.
    """
    height, width = crop.shape[:2]
    if width < 20 or height < 8:
        return crop
    hsv = cv2.cvtColor(crop, cv2.COLOR_BGR2HSV)
    hue, sat, val = hsv[..., 0], hsv[..., 1], hsv[..., 2]
    blue = (hue >= 95) & (hue <= 135) & (sat > 90) & (val > 40)
    columns = blue.mean(axis=0) > 0.4
    start: int | None = None
    for i in range(int(width * 0.25)):
        if columns[i] and start is None:
            if i > width * 0.05:
                return crop
            start = i
        elif start is not None and not columns[i]:
            return crop[:, i:] if i - start >= max(2, width * 0.03) else crop
    return crop


class PlateReader:
    """One RapidOCR engine, built on first use (it takes seconds) and shared by all callers."""

    def __init__(self, params: dict[str, Any] | None = None) -> None:
        self._params = {"Global.log_level": "critical", **(params or {})}
        self._engine: Any = None
        self._lock = threading.RLock()

    @property
    def engine(self) -> Any:
        """The RapidOCR object; building it loads three ONNX models from the wheel."""
        if self._engine is None:
            with self._lock:
                if self._engine is None:
                    from rapidocr import RapidOCR  # imported late: the import itself is slow

                    logging.getLogger("RapidOCR").setLevel(logging.WARNING)
                    self._engine = RapidOCR(params=self._params)
        return self._engine

    def recognise(self, image: Image) -> tuple[str, float]:
        """The recogniser alone on a one-line image: (text, mean confidence)."""
        engine = self.engine
        with self._lock:  # every call sets the engine's options, so calls must not interleave
            out = engine(image, use_det=False, use_cls=False, use_rec=True)
        texts = tuple(out.txts or ())
        if not texts:
            return "", 0.0
        return "".join(texts), float(np.mean(out.scores))

    def detect_and_recognise(self, image: Image) -> list[tuple[Box, str, float]]:
        """Text lines found anywhere in `image`, each with its box, text and confidence."""
        engine = self.engine
        with self._lock:
            out = engine(image, use_det=True, use_cls=False, use_rec=True)
        if out.txts is None or out.boxes is None:
            return []
        found: list[tuple[Box, str, float]] = []
        for quad, text, score in zip(out.boxes, out.txts, out.scores, strict=True):
            xs, ys = quad[:, 0], quad[:, 1]
            x, y = int(xs.min()), int(ys.min())
            found.append(((x, y, int(xs.max()) - x, int(ys.max()) - y), str(text), float(score)))
        return found

    def read_lines(self, image: Image) -> tuple[str, float]:
        """Detect the lines of a (two-line) crop and join them top to bottom, left to right."""
        height = image.shape[0]
        border = max(4, height // 4)
        padded = cv2.copyMakeBorder(image, border, border, border, border, cv2.BORDER_REPLICATE)
        lines = [line for line in self.detect_and_recognise(padded) if clean(line[1])]
        if not lines:
            return "", 0.0
        row = max(1, height // 3)
        lines.sort(key=lambda line: (line[0][1] // row, line[0][0]))
        text = "".join(line[1] for line in lines)
        weights = [len(clean(line[1])) for line in lines]
        confidence = sum(w * line[2] for w, line in zip(weights, lines, strict=True)) / sum(weights)
        return text, confidence

    def read_crop(self, image_bgr: Image, box: Box | None = None) -> PlateRead | None:
        """Read a plate crop (BGR); None when nothing plate-like is legible."""
        if image_bgr.size == 0 or image_bgr.shape[0] < 6 or image_bgr.shape[1] < 12:
            return None
        crop = trim_country_band(image_bgr)
        height, width = crop.shape[:2]
        if width / height < TWO_LINE_ASPECT:
            text, confidence = self.read_lines(crop)
        else:
            text, confidence = self.recognise(crop)
        plate = normalise(text)
        if not plate.canonical or confidence < MIN_CONFIDENCE:
            return None
        return PlateRead(text=text, plate=plate, confidence=confidence, box=box)
