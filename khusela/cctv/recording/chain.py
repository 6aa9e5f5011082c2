"""The per-camera hash chain over recorded segments, and its verification.

Each segment row carries the SHA-256 of its file and a chain hash over the previous chain
hash and the segment's identity (camera, seq, path, times, size, file hash, clock offset),
so a court can be shown that footage was neither altered, removed nor reordered since it
was recorded. Retention deletes files but keeps rows (`deleted_at`), so the chain still
verifies after old footage is gone. Appends lock the camera's head row, as the audit log
does, so the chain has one order even if two recorders ever ran for one camera.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, insert, select, update

from khusela.audit.chain import GENESIS, canonical
from khusela.cctv.recording.recorder import RecordedSegment, file_sha256
from khusela.cctv.recording.tables import camera_segment_heads, camera_segments
from khusela.core.errors import InvalidInput
from khusela.core.ids import new_id
from khusela.store.database import Database

log = logging.getLogger(__name__)


def _iso(at: datetime) -> str:
    return at.astimezone(UTC).isoformat(timespec="microseconds")


def segment_hash(
    prev_hash: str,
    camera_id: str,
    seq: int,
    path: str,
    started_at: datetime,
    ended_at: datetime,
    size: int,
    sha256: str,
    clock_offset_s: float,
) -> str:
    """SHA-256 over the previous link and every immutable field: any edit breaks this link."""
    body = canonical(
        {
            "camera_id": camera_id,
            "seq": seq,
            "path": path,
            "started_at": _iso(started_at),
            "ended_at": _iso(ended_at),
            "size": size,
            "sha256": sha256,
            "clock_offset_s": clock_offset_s,
        }
    )
    return hashlib.sha256(f"{prev_hash}\n{body}".encode()).hexdigest()


def _recompute(row: Any) -> str:
    return segment_hash(
        row.prev_hash,
        row.camera_id,
        int(row.seq),
        row.path,
        row.started_at,
        row.ended_at,
        int(row.size),
        row.sha256,
        float(row.clock_offset_s),
    )


def _lock_head(conn: Connection, camera_id: str) -> tuple[int, str]:
    row = conn.execute(
        select(camera_segment_heads.c.seq, camera_segment_heads.c.chain_hash)
        .where(camera_segment_heads.c.camera_id == camera_id)
        .with_for_update()
    ).first()
    if row is None:
        conn.execute(insert(camera_segment_heads).values(camera_id=camera_id, seq=0, chain_hash=GENESIS))
        return 0, GENESIS
    return int(row.seq), str(row.chain_hash)


def append_segment(
    conn: Connection,
    camera_id: str,
    path: str,
    started_at: datetime,
    ended_at: datetime,
    size: int,
    sha256: str,
    clock_offset_s: float = 0.0,
) -> dict[str, Any]:
    """Chain one finished segment onto its camera's recording; `path` is relative to the
    recordings root. Returns the inserted row."""
    if Path(path).is_absolute() or ".." in Path(path).parts:
        raise InvalidInput("a segment path is relative to the recordings root")
    if ended_at < started_at:
        raise InvalidInput("a segment cannot end before it starts")
    seq, prev = _lock_head(conn, camera_id)
    seq += 1
    clock_offset_s = float(clock_offset_s)
    digest = segment_hash(prev, camera_id, seq, path, started_at, ended_at, size, sha256, clock_offset_s)
    row = {
        "id": new_id(),
        "camera_id": camera_id,
        "seq": seq,
        "path": path,
        "started_at": started_at,
        "ended_at": ended_at,
        "size": size,
        "sha256": sha256,
        "prev_hash": prev,
        "chain_hash": digest,
        "clock_offset_s": clock_offset_s,
        "held": False,
        "deleted_at": None,
    }
    conn.execute(insert(camera_segments).values(**row))
    conn.execute(
        update(camera_segment_heads)
        .where(camera_segment_heads.c.camera_id == camera_id)
        .values(seq=seq, chain_hash=digest)
    )
    return row


def recorder_sink(db: Database, root: Path) -> Callable[[RecordedSegment], None]:
    """The `on_segment` callback that chains each finished segment in its own transaction."""

    def sink(segment: RecordedSegment) -> None:
        with db.write() as conn:
            append_segment(
                conn,
                segment.camera_id,
                segment.path.relative_to(root).as_posix(),
                segment.started_at,
                segment.ended_at,
                segment.size,
                segment.sha256,
                segment.clock_offset_s,
            )

    return sink


@dataclass(slots=True)
class RecordingCheck:
    """What `verify_recordings` found: the number of segments checked and each problem."""

    camera_id: str
    segments: int = 0
    files_checked: int = 0
    bytes_hashed: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def summary(self) -> str:
        if self.ok:
            return f"OK: {self.segments} segments ({self.files_checked} files re-hashed)"
        return f"FAILED: {self.problems[0]}" + (
            f" (and {len(self.problems) - 1} more problems)" if len(self.problems) > 1 else ""
        )


def verify_recordings(conn: Connection, camera_id: str, root: Path) -> RecordingCheck:
    """Re-hash every file still present and walk the chain up to the head.

    Names, in seq order: a segment whose file was altered (hash differs) or removed
    (missing without `deleted_at`), a removed row (seq gap or newest rows gone), an edited
    or reordered row (its hash no longer matches its fields or its link). Run it in a
    snapshot (`Database.snapshot()`), so an append meanwhile is not mistaken for tampering.
    """
    check = RecordingCheck(camera_id)
    head = conn.execute(
        select(camera_segment_heads.c.seq, camera_segment_heads.c.chain_hash).where(
            camera_segment_heads.c.camera_id == camera_id
        )
    ).first()
    head_seq, head_hash = (int(head.seq), str(head.chain_hash)) if head else (0, GENESIS)
    rows = conn.execute(
        select(camera_segments)
        .where(camera_segments.c.camera_id == camera_id)
        .order_by(camera_segments.c.seq)
    ).all()
    expected, prev = 1, GENESIS
    for row in rows:
        seq = int(row.seq)
        if seq > head_seq:
            check.problems.append(f"segment {seq} was added outside the recorder (beyond the chain's head)")
            continue
        if seq != expected:
            missing = f"{expected}" if seq == expected + 1 else f"{expected} to {seq - 1}"
            check.problems.append(f"segment {missing} removed: its row is missing from the chain")
        elif row.prev_hash != prev:
            check.problems.append(
                f"segment {seq} ({row.path}): link to the previous segment broke (rows reordered or replaced)"
            )
        if _recompute(row) != row.chain_hash:
            check.problems.append(
                f"segment {seq} ({row.path}): its row was edited or reordered (chain hash does not match)"
            )
        _check_file(check, row, root)
        prev, expected = str(row.chain_hash), seq + 1
        check.segments += 1
    if expected - 1 < head_seq:
        check.problems.append(f"segment {expected} to {head_seq} removed: the newest rows are missing")
    elif rows and prev != head_hash and check.ok:
        check.problems.append("the chain's head does not match its last segment")
    return check


def _check_file(check: RecordingCheck, row: Any, root: Path) -> None:
    path = root / row.path
    if row.deleted_at is not None:
        return  # retention removed the file; the row keeps the chain
    try:
        actual, size = file_sha256(path)
    except FileNotFoundError:
        check.problems.append(f"segment {row.seq} ({row.path}) removed: the file is missing")
        return
    check.files_checked += 1
    check.bytes_hashed += size
    if actual != row.sha256:
        check.problems.append(f"segment {row.seq} ({row.path}) altered: the file's SHA-256 differs")
