"""Find plates in a whole frame and read them.

Two finders, because each misses plates the other finds (measured on the 25 EU photos):

- OpenCV's Haar cascade for plates (bundled with OpenCV): cheap, finds 22 of 25, but its
  boxes are loose, so the frame's edge is sometimes read as an extra letter;
- RapidOCR's text detector over the whole frame: ~200 ms, finds text lines tightly,
  including plates the cascade missed, but also every other word in view.

Both kinds of box are read, reads that do not look like a plate are dropped, and of
overlapping boxes the more confident read is kept.
"""

from __future__ import annotations

from functools import cache
from typing import Any

import cv2

from khusela.cctv.plates.normalise import clean, normalise
from khusela.cctv.plates.reader import Box, Image, PlateRead, PlateReader

# Plates carry 2-10 characters once noise is stripped; fewer is a fragment, more is a sign.
MIN_CHARS, MAX_CHARS = 4, 10
MIN_PLATE_CONFIDENCE = 0.7


@cache
def default_reader() -> PlateReader:
    """The process-wide reader, so the ONNX models are loaded once."""
    return PlateReader()


@cache
def _cascade() -> Any:
    path = cv2.data.haarcascades + "haarcascade_russian_plate_number.xml"  # type: ignore[attr-defined]
    return cv2.CascadeClassifier(path)


def cascade_boxes(image_bgr: Image) -> list[Box]:
    """Plate-shaped boxes from the Haar cascade, largest first."""
    gray = cv2.cvtColor(image_bgr, cv2.COLOR_BGR2GRAY)
    found = _cascade().detectMultiScale(gray, scaleFactor=1.1, minNeighbors=3, minSize=(40, 10))
    boxes = [(int(x), int(y), int(w), int(h)) for x, y, w, h in found]
    return sorted(boxes, key=lambda b: b[2] * b[3], reverse=True)


def plate_like(read: PlateRead) -> bool:
    """Enough characters, not too many, at least one digit or a known SA layout, and legible."""
    text = read.canonical
    if not MIN_CHARS <= len(text) <= MAX_CHARS or read.confidence < MIN_PLATE_CONFIDENCE:
        return False
    return read.plate.known or any(c.isdigit() for c in text) or len(clean(read.text)) >= 5


def overlap(a: Box, b: Box) -> float:
    """Intersection over the smaller box: a plate inside a larger candidate counts as the same."""
    ax, ay, aw, ah = a
    bx, by, bw, bh = b
    ix = max(0, min(ax + aw, bx + bw) - max(ax, bx))
    iy = max(0, min(ay + ah, by + bh) - max(ay, by))
    smaller = min(aw * ah, bw * bh)
    return ix * iy / smaller if smaller else 0.0


def find_and_read(
    image_bgr: Image, reader: PlateReader | None = None, use_text_detector: bool = True
) -> list[PlateRead]:
    """Every plate-like read in a BGR frame, most confident first, boxes in frame pixels.

    `use_text_detector=False` keeps only the cascade: about ten times cheaper per frame,
    for a pipeline that reads every frame and can afford to miss a plate in some of them.
    """
    reader = reader or default_reader()
    reads: list[PlateRead] = []
    for x, y, w, h in cascade_boxes(image_bgr):
        read = reader.read_crop(image_bgr[y : y + h, x : x + w], box=(x, y, w, h))
        if read is not None and plate_like(read):
            reads.append(read)
    if use_text_detector:
        for box, text, confidence in reader.detect_and_recognise(image_bgr):
            read = PlateRead(text=text, plate=normalise(text), confidence=confidence, box=box)
            if plate_like(read):
                reads.append(read)
    kept: list[PlateRead] = []
    for read in sorted(reads, key=lambda r: r.confidence, reverse=True):
        assert read.box is not None
        if all(k.box is None or overlap(read.box, k.box) < 0.5 for k in kept):
            kept.append(read)
    return kept
