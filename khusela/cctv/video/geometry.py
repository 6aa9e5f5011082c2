"""Boxes and polygons as plain tuples: the one vocabulary every stage shares.

A box is `(x, y, w, h)` in pixels of the frame it was found in; a polygon is a sequence of
`(x, y)` points normalised to 0..1 so that zones and masks survive a change of resolution.
"""

from __future__ import annotations

from collections.abc import Sequence

Box = tuple[int, int, int, int]
Polygon = Sequence[tuple[float, float]]


def iou(a: Box, b: Box) -> float:
    """Intersection over union of two boxes; 0 when they do not touch."""
    ax2, ay2, bx2, by2 = a[0] + a[2], a[1] + a[3], b[0] + b[2], b[1] + b[3]
    iw = min(ax2, bx2) - max(a[0], b[0])
    ih = min(ay2, by2) - max(a[1], b[1])
    if iw <= 0 or ih <= 0:
        return 0.0
    inter = iw * ih
    return inter / float(a[2] * a[3] + b[2] * b[3] - inter)


def overlaps(a: Box, b: Box) -> bool:
    """Whether two boxes share any area."""
    return a[0] < b[0] + b[2] and b[0] < a[0] + a[2] and a[1] < b[1] + b[3] and b[1] < a[1] + a[3]


def pad(box: Box, margin: int, width: int, height: int) -> Box:
    """The box grown by `margin` on every side, clipped to the frame."""
    x0, y0 = max(box[0] - margin, 0), max(box[1] - margin, 0)
    x1, y1 = min(box[0] + box[2] + margin, width), min(box[1] + box[3] + margin, height)
    return x0, y0, max(x1 - x0, 0), max(y1 - y0, 0)


def union(a: Box, b: Box) -> Box:
    x0, y0 = min(a[0], b[0]), min(a[1], b[1])
    x1, y1 = max(a[0] + a[2], b[0] + b[2]), max(a[1] + a[3], b[1] + b[3])
    return x0, y0, x1 - x0, y1 - y0


def merge(boxes: Sequence[Box]) -> list[Box]:
    """Merge overlapping boxes until none overlap, so a detector never scans a pixel twice."""
    out = list(boxes)
    changed = True
    while changed:
        changed = False
        merged: list[Box] = []
        for box in out:
            for i, other in enumerate(merged):
                if overlaps(box, other):
                    merged[i] = union(box, other)
                    changed = True
                    break
            else:
                merged.append(box)
        out = merged
    return out


def scale(box: Box, factor: float) -> Box:
    return (
        round(box[0] * factor),
        round(box[1] * factor),
        round(box[2] * factor),
        round(box[3] * factor),
    )


def contains(polygon: Polygon, x: float, y: float) -> bool:
    """Ray casting: whether the normalised point (x, y) lies inside the polygon."""
    inside = False
    n = len(polygon)
    for i in range(n):
        x1, y1 = polygon[i]
        x2, y2 = polygon[(i + 1) % n]
        if (y1 > y) != (y2 > y) and x < (x2 - x1) * (y - y1) / (y2 - y1) + x1:
            inside = not inside
    return inside
