"""An IoU tracker: the same object over consecutive frames gets one id and one event.

Greedy matching on IoU (highest first, same label) is enough at 5 fps for people and
vehicles; Hungarian assignment would change little and needs SciPy. A track only counts
a miss where the detector actually looked: a person standing still outside every motion
region is not forgotten just because nothing moved around them.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass, field

from khusela.cctv.video.detectors import Detection
from khusela.cctv.video.geometry import Box, iou, overlaps


@dataclass(slots=True)
class Track:
    """One object followed through time; `best_*` is its most confident sighting."""

    id: int
    label: str
    box: Box
    score: float
    started_s: float
    last_seen_s: float
    best_box: Box
    best_score: float
    best_s: float
    hits: int = 1
    misses: int = 0
    confirmed: bool = False
    text: str | None = None
    text_score: float = 0.0
    extra: dict[str, object] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class TrackChanges:
    """What one update did: tracks just confirmed, and tracks that ended."""

    started: list[Track]
    ended: list[Track]


class IouTracker:
    """Greedy IoU matching; a track is confirmed after `min_hits` sightings and ends after
    `max_missed` looks that did not find it."""

    def __init__(self, *, iou_threshold: float = 0.2, min_hits: int = 2, max_missed: int = 5) -> None:
        self.iou_threshold = iou_threshold
        self.min_hits = min_hits
        self.max_missed = max_missed
        self.tracks: list[Track] = []
        self._ids = itertools.count(1)

    def update(
        self, detections: Sequence[Detection], at_s: float, looked_at: Sequence[Box] | None
    ) -> TrackChanges:
        """Match detections found at `at_s` in `looked_at` (None: the whole frame)."""
        pairs = sorted(
            (
                (iou(t.box, d.box), ti, di)
                for ti, t in enumerate(self.tracks)
                for di, d in enumerate(detections)
                if t.label == d.label
            ),
            reverse=True,
        )
        used_t: set[int] = set()
        used_d: set[int] = set()
        started: list[Track] = []
        for overlap, ti, di in pairs:
            if overlap < self.iou_threshold:
                break
            if ti in used_t or di in used_d:
                continue
            used_t.add(ti)
            used_d.add(di)
            if self._seen(self.tracks[ti], detections[di], at_s):
                started.append(self.tracks[ti])
        for ti, track in enumerate(self.tracks):
            if ti in used_t:
                continue
            if looked_at is None or any(overlaps(track.box, r) for r in looked_at):
                track.misses += 1
        for di, det in enumerate(detections):
            if di in used_d:
                continue
            track = Track(
                id=next(self._ids),
                label=det.label,
                box=det.box,
                score=det.score,
                started_s=at_s,
                last_seen_s=at_s,
                best_box=det.box,
                best_score=det.score,
                best_s=at_s,
            )
            self._read(track, det)
            if self.min_hits <= 1:
                track.confirmed = True
                started.append(track)
            self.tracks.append(track)
        ended = [t for t in self.tracks if t.misses > self.max_missed and t.confirmed]
        self.tracks = [t for t in self.tracks if t.misses <= self.max_missed]
        return TrackChanges(started, ended)

    def _seen(self, track: Track, det: Detection, at_s: float) -> bool:
        """Update a track with its new sighting; True when this sighting confirms it."""
        track.box, track.score, track.last_seen_s = det.box, det.score, at_s
        track.hits += 1
        track.misses = 0
        if det.score > track.best_score:
            track.best_box, track.best_score, track.best_s = det.box, det.score, at_s
        self._read(track, det)
        if not track.confirmed and track.hits >= self.min_hits:
            track.confirmed = True
            return True
        return False

    @staticmethod
    def _read(track: Track, det: Detection) -> None:
        """Keep the most confident text read for the track (a plate is read many times)."""
        if det.text and det.score >= track.text_score:
            track.text, track.text_score = det.text, det.score

    def finish(self) -> list[Track]:
        """End every confirmed track (the video ended or the camera is being stopped)."""
        ended = [t for t in self.tracks if t.confirmed]
        self.tracks = []
        return ended
