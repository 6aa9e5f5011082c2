"""The segment chain hash and the clip window rules: pure, no I/O."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from khusela.audit.chain import GENESIS
from khusela.cctv.recording.chain import RecordingCheck, segment_hash
from khusela.cctv.recording.clips import _check_window
from khusela.core.errors import InvalidInput

T0 = datetime(2026, 11, 20, 21, 0, tzinfo=UTC)
BASE = (GENESIS, "cam-1", 1, "cam-1/a.mp4", T0, T0 + timedelta(seconds=2), 80_000, "ab" * 32, 0.0)


def test_the_hash_is_stable_and_ignores_the_time_zone_spelling() -> None:
    again = list(BASE)
    again[4] = T0.astimezone(datetime.now().astimezone().tzinfo)
    assert segment_hash(*BASE) == segment_hash(*again)  # type: ignore[arg-type]
    assert len(segment_hash(*BASE)) == 64


@pytest.mark.parametrize(
    ("index", "value"),
    [
        (0, "1" * 64),
        (1, "cam-2"),
        (2, 2),
        (3, "cam-1/b.mp4"),
        (4, T0 + timedelta(microseconds=1)),
        (5, T0 + timedelta(seconds=3)),
        (6, 80_001),
        (7, "cd" * 32),
        (8, -1.5),
    ],
)
def test_every_field_is_in_the_hash(index: int, value: object) -> None:
    changed = list(BASE)
    changed[index] = value
    assert segment_hash(*changed) != segment_hash(*BASE)  # type: ignore[arg-type]


def test_the_summary_names_the_first_problem() -> None:
    assert RecordingCheck("c", segments=3, files_checked=3).summary() == "OK: 3 segments (3 files re-hashed)"
    bad = RecordingCheck("c", problems=["segment 2 altered", "segment 5 removed"])
    assert bad.summary() == "FAILED: segment 2 altered (and 1 more problems)"


@pytest.mark.parametrize(
    ("start", "end", "pre", "post", "message"),
    [
        (T0.replace(tzinfo=None), T0, 0, 0, "time zone"),
        (T0, T0, 0, 0, "after its start"),
        (T0, T0 + timedelta(seconds=5), -1, 0, "pre- and post-roll"),
        (T0, T0 + timedelta(hours=1), 10, 10, "at most an hour"),
    ],
)
def test_bad_clip_windows_are_refused(
    start: datetime, end: datetime, pre: float, post: float, message: str
) -> None:
    with pytest.raises(InvalidInput, match=message):
        _check_window(start, end, pre, post)
