"""Commitment health for the oversight dashboard, and calendar quarters in SAST."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from khusela.partners.model import CommitmentStatus, Direction, Health, LatestProgress, Quarter, health, meets

TODAY = date(2026, 8, 15)


def progress(percent: int, on_track: bool = True, at: datetime | None = None) -> LatestProgress:
    return LatestProgress(at or datetime(2026, 8, 1, tzinfo=UTC), percent, on_track)


@pytest.mark.parametrize(
    ("status", "due", "latest", "expected"),
    [
        (CommitmentStatus.IN_PROGRESS, date(2026, 8, 1), progress(90), Health.OVERDUE),
        (CommitmentStatus.DELIVERED, date(2026, 8, 1), None, Health.DELIVERED),
        (CommitmentStatus.IN_PROGRESS, date(2026, 12, 1), progress(10, on_track=False), Health.AT_RISK),
        (CommitmentStatus.IN_PROGRESS, date(2026, 9, 1), progress(40), Health.AT_RISK),
        (CommitmentStatus.IN_PROGRESS, date(2026, 9, 1), progress(80), Health.ON_TRACK),
        (CommitmentStatus.PLANNED, date(2026, 9, 1), None, Health.AT_RISK),
        (CommitmentStatus.PLANNED, date(2027, 3, 1), None, Health.ON_TRACK),
        (
            CommitmentStatus.IN_PROGRESS,
            date(2027, 3, 1),
            progress(50, at=datetime(2026, 1, 5, tzinfo=UTC)),
            Health.AT_RISK,
        ),
    ],
)
def test_health(status: CommitmentStatus, due: date, latest: LatestProgress | None, expected: Health) -> None:
    assert health(status, due, latest, TODAY) is expected


def test_quarter_bounds_are_sast_midnights() -> None:
    q = Quarter.parse("2026q3")
    assert (q.first_day, q.last_day) == (date(2026, 7, 1), date(2026, 9, 30))
    assert q.since == datetime(2026, 6, 30, 22, tzinfo=UTC)
    assert q.until == datetime(2026, 9, 30, 22, tzinfo=UTC)
    assert Quarter.parse("2026-Q4").last_day == date(2026, 12, 31)


def test_a_malformed_quarter_is_refused() -> None:
    with pytest.raises(ValueError, match="2026Q3"):
        Quarter.parse("2026Q5")


def test_targets_in_both_directions() -> None:
    assert meets(600, 900, Direction.AT_MOST) is True
    assert meets(0.93, 0.95, Direction.AT_LEAST) is False
    assert meets(None, 1, Direction.AT_LEAST) is None
