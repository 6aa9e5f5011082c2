"""The motion gate: find where something moved, so detectors only look there.

Most CCTV frames show an unchanged scene; a HOG or neural detector costs 10-100x what
background subtraction does. The gate runs MOG2 on a small grey copy of the frame, drops
masked areas (trees, a road outside the property, the timestamp overlay), cleans the mask
and returns merged boxes in the detect frame's pixels.
"""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np
import numpy.typing as npt

from khusela.cctv.video.geometry import Box, Polygon, merge, pad

Image = npt.NDArray[np.uint8]


class MotionGate:
    """Background subtraction on a downscaled grey frame, with masks.

    `regions(frame)` returns boxes (x, y, w, h) in the pixels of `frame`. The first frame
    only seeds the background and returns no regions; the pipeline looks at the whole of
    the first frame anyway.
    """

    def __init__(
        self,
        *,
        work_width: int = 192,
        mask: Sequence[Polygon] = (),
        min_area_fraction: float = 0.0004,
        margin_fraction: float = 0.02,
        history: int = 300,
        var_threshold: float = 25.0,
    ) -> None:
        self.work_width = work_width
        self.mask_polygons = list(mask)
        self.min_area_fraction = min_area_fraction
        self.margin_fraction = margin_fraction
        self._mog = cv2.createBackgroundSubtractorMOG2(
            history=history, varThreshold=var_threshold, detectShadows=True
        )
        self._keep: Image | None = None
        self._seeded = False
        self._kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (3, 3))

    def _keep_mask(self, width: int, height: int) -> Image:
        """255 where motion counts, 0 inside masked polygons (built once per size)."""
        if self._keep is None or self._keep.shape != (height, width):
            keep = np.full((height, width), 255, np.uint8)
            for polygon in self.mask_polygons:
                points = np.array([[x * width, y * height] for x, y in polygon], np.int32)
                cv2.fillPoly(keep, [points], 0)
            self._keep = keep
        return self._keep

    def regions(self, frame: Image) -> list[Box]:
        """Boxes around everything that moved since the background was learnt."""
        height, width = frame.shape[:2]
        factor = width / self.work_width
        small_h = max(round(height / factor), 1)
        small = cv2.resize(frame, (self.work_width, small_h), interpolation=cv2.INTER_AREA)
        grey = cv2.cvtColor(small, cv2.COLOR_BGR2GRAY) if small.ndim == 3 else small
        grey = cv2.GaussianBlur(grey, (5, 5), 0)
        fg = self._mog.apply(grey)
        if not self._seeded:
            self._seeded = True
            return []
        _, fg = cv2.threshold(fg, 200, 255, cv2.THRESH_BINARY)  # shadows (127) are not motion
        fg = cv2.bitwise_and(fg, self._keep_mask(self.work_width, small_h))
        fg = cv2.morphologyEx(fg, cv2.MORPH_OPEN, self._kernel)
        fg = cv2.dilate(fg, self._kernel, iterations=3)
        contours, _ = cv2.findContours(fg, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
        min_area = self.min_area_fraction * self.work_width * small_h
        boxes: list[Box] = []
        for contour in contours:
            if cv2.contourArea(contour) >= min_area:
                bx, by, bw, bh = cv2.boundingRect(contour)
                boxes.append((int(bx), int(by), int(bw), int(bh)))
        margin = max(round(self.margin_fraction * self.work_width), 1)
        small_boxes = merge([pad(b, margin, self.work_width, small_h) for b in boxes])
        return [
            (
                round(x * factor),
                round(y * factor),
                min(round(w * factor), width),
                min(round(h * factor), height),
            )
            for x, y, w, h in small_boxes
        ]
