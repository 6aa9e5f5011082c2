"""Boxes, zones and the IoU tracker: ids that persist, misses counted only where we looked."""

from __future__ import annotations

from khusela.cctv.video.detectors import Detection
from khusela.cctv.video.geometry import contains, iou, merge, pad
from khusela.cctv.video.tracker import IouTracker


def person(x: int, y: int, score: float = 1.0) -> Detection:
    return Detection("person", score, (x, y, 20, 40))


def test_iou_merge_pad_contains() -> None:
    assert iou((0, 0, 10, 10), (0, 0, 10, 10)) == 1.0
    assert iou((0, 0, 10, 10), (20, 20, 5, 5)) == 0.0
    assert abs(iou((0, 0, 10, 10), (5, 0, 10, 10)) - 50 / 150) < 1e-9
    assert merge([(0, 0, 10, 10), (5, 5, 10, 10), (40, 40, 5, 5)]) == [(0, 0, 15, 15), (40, 40, 5, 5)]
    assert pad((2, 2, 10, 10), 5, 14, 100) == (0, 0, 14, 17)
    square = [(0.0, 0.0), (0.5, 0.0), (0.5, 0.5), (0.0, 0.5)]
    assert contains(square, 0.25, 0.25)
    assert not contains(square, 0.75, 0.25)


def test_tracker_follows_a_walker_and_ends_the_track_after_misses() -> None:
    tracker = IouTracker(min_hits=2, max_missed=2)
    assert tracker.update([person(10, 10)], 0.0, None).started == []
    started = tracker.update([person(14, 10, 2.0)], 0.2, None).started
    assert [t.id for t in started] == [1]
    tracker.update([person(18, 10, 1.5)], 0.4, None)
    assert tracker.update([], 0.6, None).ended == []
    assert tracker.update([], 0.8, None).ended == []
    ended = tracker.update([], 1.0, None).ended
    assert len(ended) == 1
    track = ended[0]
    assert (track.started_s, track.last_seen_s, track.best_score, track.best_box) == (
        0.0,
        0.4,
        2.0,
        (14, 10, 20, 40),
    )


def test_two_people_keep_their_ids() -> None:
    tracker = IouTracker(min_hits=1)
    first = tracker.update([person(0, 0), person(100, 0)], 0.0, None).started
    tracker.update([person(104, 0), person(4, 0)], 0.2, None)
    by_x = {t.box[0]: t.id for t in tracker.tracks}
    assert by_x == {4: first[0].id, 104: first[1].id}


def test_a_still_object_outside_what_was_looked_at_is_not_forgotten() -> None:
    tracker = IouTracker(min_hits=1, max_missed=1)
    tracker.update([person(0, 0)], 0.0, None)
    for i in range(10):
        assert tracker.update([], 0.2 * i, [(200, 200, 50, 50)]).ended == []
    assert tracker.update([], 3.0, [(0, 0, 30, 30)]).ended == []
    assert len(tracker.update([], 3.2, [(0, 0, 30, 30)]).ended) == 1


def test_plate_text_kept_from_the_most_confident_read() -> None:
    tracker = IouTracker(min_hits=1)
    tracker.update([Detection("plate", 0.6, (0, 0, 40, 10), "CA123456")], 0.0, None)
    tracker.update([Detection("plate", 0.9, (1, 0, 40, 10), "CA123458")], 0.2, None)
    tracker.update([Detection("plate", 0.5, (2, 0, 40, 10), "CA12345")], 0.4, None)
    assert tracker.finish()[0].text == "CA123458"
