"""Retention: delete footage past each camera's `retention_days`, then the oldest footage
while the recordings exceed the disk budget — never a held segment (legal hold, evidence).

Files are deleted and their rows marked `deleted_at` in the caller's transaction; rows are
kept so the hash chain still verifies. A crash between unlinking and commit leaves a row
without `deleted_at` whose file is gone, which `verify_recordings` reports rather than hides.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, and_, func, select, update

from khusela.cctv.recording.tables import camera_segments
from khusela.cctv.tables import cameras
from khusela.core.errors import InvalidInput

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class RetentionResult:
    """What one pass freed, and what it could not because the footage is held."""

    expired_segments: int
    expired_bytes: int
    budget_segments: int
    budget_bytes: int
    total_bytes_after: int
    held_bytes: int
    budget_met: bool

    @property
    def freed_bytes(self) -> int:
        return self.expired_bytes + self.budget_bytes

    @property
    def freed_segments(self) -> int:
        return self.expired_segments + self.budget_segments


def _delete(conn: Connection, root: Path, rows: list[Any], now: datetime) -> int:
    if not rows:
        return 0
    ids = [r.id for r in rows]
    for start in range(0, len(ids), 500):
        conn.execute(
            update(camera_segments)
            .where(camera_segments.c.id.in_(ids[start : start + 500]))
            .values(deleted_at=now)
        )
    freed = 0
    for row in rows:
        (root / row.path).unlink(missing_ok=True)
        freed += int(row.size)
    return freed


def enforce_retention(conn: Connection, root: Path, now: datetime, disk_budget_bytes: int) -> RetentionResult:
    """One retention pass over every camera's recordings under `root`."""
    if disk_budget_bytes < 0:
        raise InvalidInput("the disk budget cannot be negative")
    live = and_(camera_segments.c.deleted_at.is_(None), camera_segments.c.held.is_(False))
    expired: list[Any] = []
    for camera in conn.execute(select(cameras.c.id, cameras.c.retention_days)):
        cutoff = now - timedelta(days=int(camera.retention_days))
        expired += conn.execute(
            select(camera_segments.c.id, camera_segments.c.path, camera_segments.c.size).where(
                live, camera_segments.c.camera_id == camera.id, camera_segments.c.ended_at < cutoff
            )
        ).all()
    expired_bytes = _delete(conn, root, expired, now)

    present = camera_segments.c.deleted_at.is_(None)
    total = int(
        conn.execute(select(func.coalesce(func.sum(camera_segments.c.size), 0)).where(present)).scalar_one()
    )
    over: list[Any] = []
    if total > disk_budget_bytes:
        oldest = conn.execute(
            select(camera_segments.c.id, camera_segments.c.path, camera_segments.c.size)
            .where(live)
            .order_by(camera_segments.c.started_at, camera_segments.c.id)
            .execution_options(yield_per=1000)
        )
        excess = total - disk_budget_bytes
        for row in oldest:
            if excess <= 0:
                break
            over.append(row)
            excess -= int(row.size)
        oldest.close()
    budget_bytes = _delete(conn, root, over, now)
    total -= budget_bytes
    held = int(
        conn.execute(
            select(func.coalesce(func.sum(camera_segments.c.size), 0)).where(
                present, camera_segments.c.held.is_(True)
            )
        ).scalar_one()
    )
    met = total <= disk_budget_bytes
    if not met:
        log.warning(
            "recordings use %d bytes, over the budget of %d: %d bytes are held (legal hold or evidence)",
            total,
            disk_budget_bytes,
            held,
        )
    return RetentionResult(len(expired), expired_bytes, len(over), budget_bytes, total, held, met)


def hold_range(conn: Connection, camera_id: str, start: datetime, end: datetime) -> int:
    """Hold every present segment of the camera overlapping [start, end]; returns how many."""
    if end < start:
        raise InvalidInput("the end of a hold comes after its start")
    result = conn.execute(
        update(camera_segments)
        .where(
            camera_segments.c.camera_id == camera_id,
            camera_segments.c.deleted_at.is_(None),
            camera_segments.c.started_at <= end,
            camera_segments.c.ended_at >= start,
        )
        .values(held=True)
    )
    return int(result.rowcount)


def hold_segments(conn: Connection, segment_ids: list[str]) -> None:
    """Hold the given segments (the sources of a clip that became evidence)."""
    if segment_ids:
        conn.execute(update(camera_segments).where(camera_segments.c.id.in_(segment_ids)).values(held=True))
