"""Clips: the recorded segments overlapping a window, remuxed (stream copy) into one MP4.

A clip starts at the last keyframe at or before the window's start (stream copy cannot
begin elsewhere) and ends before the first keyframe at or after its end, so it always
covers the window it was asked for when the footage exists. It carries the source
segments' hashes and clock offset, so evidence made from it can be traced back to the
hash-chained recording; turning it into evidence holds those segments from retention.
"""

from __future__ import annotations

import hashlib
import io
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
from sqlalchemy import Connection, insert, select, update

from khusela.audit import log as audit
from khusela.cctv.recording.recorder import file_sha256
from khusela.cctv.recording.retention import hold_segments
from khusela.cctv.recording.tables import camera_clips, camera_segments
from khusela.core.clock import SystemClock
from khusela.core.errors import InvalidInput, NotFound
from khusela.core.ids import new_id
from khusela.evidence import locker
from khusela.evidence.storage import MediaStore
from khusela.identity.model import Principal
from khusela.identity.policy import Action

MAX_CLIP_SECONDS = 3600.0
"""An hour: longer footage is exported from the recordings, not cut as one clip."""
MAX_ROLL_SECONDS = 300.0


@dataclass(frozen=True, slots=True)
class Clip:
    path: Path
    sha256: str
    size: int
    started_at: datetime
    ended_at: datetime
    clock_offset_s: float
    segments: list[dict[str, Any]]


def _check_window(start: datetime, end: datetime, pre_roll_s: float, post_roll_s: float) -> None:
    if start.tzinfo is None or end.tzinfo is None:
        raise InvalidInput("clip times need a time zone")
    if end <= start:
        raise InvalidInput("a clip's end comes after its start")
    if not (0 <= pre_roll_s <= MAX_ROLL_SECONDS and 0 <= post_roll_s <= MAX_ROLL_SECONDS):
        raise InvalidInput(f"pre- and post-roll are 0 to {MAX_ROLL_SECONDS:.0f} seconds")
    if (end - start).total_seconds() + pre_roll_s + post_roll_s > MAX_CLIP_SECONDS:
        raise InvalidInput("a clip is at most an hour long")


def overlapping(conn: Connection, camera_id: str, start: datetime, end: datetime) -> list[Any]:
    """The present segments of a camera that overlap [start, end], in recording order."""
    return list(
        conn.execute(
            select(camera_segments)
            .where(
                camera_segments.c.camera_id == camera_id,
                camera_segments.c.deleted_at.is_(None),
                camera_segments.c.ended_at > start,
                camera_segments.c.started_at < end,
            )
            .order_by(camera_segments.c.seq)
        ).all()
    )


class _ClipWriter:
    """Writes whole GOPs to one MP4, with timestamps relative to the first written keyframe."""

    def __init__(self, out_path: Path) -> None:
        self.out_path = out_path
        self.output: Any = None
        self.stream: Any = None
        self.signature: tuple[Any, ...] | None = None
        self.origin: datetime | None = None
        self.end: datetime | None = None
        self.last_dts: int | None = None

    def accepts(self, in_stream: Any) -> bool:
        ctx = in_stream.codec_context
        signature = (ctx.name, ctx.width, ctx.height, bytes(ctx.extradata or b""))
        if self.signature is None:
            self.signature = signature
            self.output = av.open(str(self.out_path), "w", format="mp4")
            self.stream = self.output.add_stream_from_template(in_stream)
        return signature == self.signature

    def write_gop(self, packets: Sequence[Any], seg_start: datetime, tb: Fraction) -> None:
        if self.origin is None:
            first = packets[0].pts if packets[0].pts is not None else packets[0].dts
            self.origin = seg_start + timedelta(seconds=float(first * tb))
        shift = round((seg_start - self.origin).total_seconds() / tb)
        for packet in packets:
            pts = packet.pts
            dts = packet.dts if packet.dts is not None else pts
            ends = seg_start + timedelta(
                seconds=float(((pts if pts is not None else dts) + (packet.duration or 0)) * tb)
            )
            self.end = ends if self.end is None else max(self.end, ends)
            dts += shift
            if self.last_dts is not None and dts <= self.last_dts:
                dts = self.last_dts + 1  # rounding across segments must not step back
            packet.dts = self.last_dts = dts
            packet.pts = None if pts is None else max(pts + shift, dts)
            packet.stream = self.stream
            self.output.mux(packet)

    def close(self) -> None:
        if self.output is not None:
            self.output.close()


def _gops(container: Any) -> Any:
    """The segment's packets grouped by keyframe (a GOP can be dropped or kept whole)."""
    stream = container.streams.video[0]
    gop: list[Any] = []
    for packet in container.demux(stream):
        if packet.size == 0:
            continue
        if packet.is_keyframe and gop:
            yield gop
            gop = []
        gop.append(packet)
    if gop:
        yield gop


def _gop_start(gop: Sequence[Any], seg_start: datetime, tb: Fraction) -> datetime:
    first = gop[0].pts if gop[0].pts is not None else gop[0].dts
    return seg_start + timedelta(seconds=float(first * tb))


def make_clip(
    conn: Connection,
    root: Path,
    camera_id: str,
    start: datetime,
    end: datetime,
    pre_roll_s: float = 10.0,
    post_roll_s: float = 10.0,
    *,
    out_path: Path,
) -> Clip:
    """Remux the segments overlapping [start - pre_roll, end + post_roll] into `out_path`."""
    _check_window(start, end, pre_roll_s, post_roll_s)
    window_start = start - timedelta(seconds=pre_roll_s)
    window_end = end + timedelta(seconds=post_roll_s)
    rows = overlapping(conn, camera_id, window_start, window_end)
    if not rows:
        raise NotFound(
            "no recording of this camera covers that time (never recorded, or deleted by retention)"
        )
    out_path.parent.mkdir(parents=True, exist_ok=True)
    writer = _ClipWriter(out_path)
    used: list[Any] = []
    try:
        for row in rows:
            wrote, go_on = _copy_segment(writer, root, row, window_start, window_end)
            if wrote:
                used.append(row)
            if not go_on:
                break
    except FileNotFoundError:
        raise NotFound(f"segment {row.seq} of this camera is missing from the recordings") from None
    finally:
        writer.close()
    if writer.origin is None or writer.end is None:
        out_path.unlink(missing_ok=True)
        raise NotFound("no recording of this camera covers that time")
    sha, size = file_sha256(out_path)
    sources = [{"id": r.id, "seq": int(r.seq), "sha256": r.sha256, "chain_hash": r.chain_hash} for r in used]
    offset = float(used[0].clock_offset_s) if used else 0.0
    return Clip(out_path, sha, size, writer.origin, writer.end, offset, sources)


def _copy_segment(
    writer: _ClipWriter, root: Path, row: Any, window_start: datetime, window_end: datetime
) -> tuple[bool, bool]:
    """Copy the segment's GOPs that overlap the window. Returns (wrote any, go on): stop
    once the window is done or the camera's stream changed (a new resolution cannot share
    one MP4 track). A GOP runs until the next keyframe, the last one to the segment's end."""
    path = root / row.path
    if not path.is_file():
        raise FileNotFoundError(path)
    seg_start: datetime = row.started_at
    wrote = False
    with av.open(str(path)) as container:
        in_stream = container.streams.video[0]
        if not writer.accepts(in_stream):
            return False, False
        tb = in_stream.time_base
        if tb is None:
            raise InvalidInput(f"segment {row.seq} has no time base: it is not a recording")
        pending: list[Any] | None = None
        for gop in _gops(container):
            begins = _gop_start(gop, seg_start, tb)
            if pending is not None and begins > window_start:
                writer.write_gop(pending, seg_start, tb)
                wrote = True
            pending = None
            if begins >= window_end:
                return wrote, False
            pending = gop
        if pending is not None and row.ended_at > window_start:
            writer.write_gop(pending, seg_start, tb)
            wrote = True
    return wrote, True


# --- keeping clips ---------------------------------------------------------------------------


def save_clip(
    conn: Connection,
    actor: Principal,
    camera_id: str,
    clip: Clip,
    clips_root: Path,
    requested: tuple[datetime, datetime],
) -> dict[str, Any]:
    """Record a made clip (its file is already under `clips_root`) and audit it."""
    row = {
        "id": new_id(),
        "camera_id": camera_id,
        "path": clip.path.relative_to(clips_root).as_posix(),
        "requested_start": requested[0],
        "requested_end": requested[1],
        "started_at": clip.started_at,
        "ended_at": clip.ended_at,
        "size": clip.size,
        "sha256": clip.sha256,
        "clock_offset_s": clip.clock_offset_s,
        "segments": clip.segments,
        "created_by": actor.username,
        "created_at": SystemClock().now(),
        "case_id": None,
        "evidence_item_id": None,
    }
    conn.execute(insert(camera_clips).values(**row))
    audit.record(
        conn,
        actor.username,
        "cctv.clip_made",
        "camera_clip",
        str(row["id"]),
        {"camera_id": camera_id, "sha256": clip.sha256, "segments": len(clip.segments)},
    )
    return row


def get_clip(conn: Connection, clip_id: str) -> dict[str, Any]:
    row = conn.execute(select(camera_clips).where(camera_clips.c.id == clip_id)).first()
    if row is None:
        raise NotFound("no such clip")
    return dict(row._mapping)


def clip_to_evidence(
    conn: Connection,
    actor: Principal,
    store: MediaStore,
    case_id: str,
    clip: dict[str, Any],
    clips_root: Path,
) -> locker.Item:
    """Add a kept clip to an evidence case (write-once, custody, audit) with its source
    metadata, and hold the source segments so retention never deletes them."""
    locker.visible_case(conn, actor, case_id, Action.EVIDENCE_WRITE)
    source = {
        "camera_id": clip["camera_id"],
        "clip_id": clip["id"],
        "start": _iso(clip["started_at"]),
        "end": _iso(clip["ended_at"]),
        "requested_start": _iso(clip["requested_start"]),
        "requested_end": _iso(clip["requested_end"]),
        "clock_offset_s": clip["clock_offset_s"],
        "segments": clip["segments"],
    }
    path = clips_root / clip["path"]
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise NotFound("the clip's file is gone: make the clip again") from None
    stamp = clip["started_at"].astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")
    item = locker.add_item(
        conn,
        store,
        actor.username,
        case_id,
        _Expected(data, clip["sha256"]),
        locker.ItemKind.CLIP,
        "video/mp4",
        f"camera-{clip['camera_id']}-{stamp}.mp4",
        source,
        clip["started_at"],
    )
    hold_segments(conn, [s["id"] for s in clip["segments"]])
    conn.execute(
        update(camera_clips)
        .where(camera_clips.c.id == clip["id"])
        .values(case_id=case_id, evidence_item_id=item.id)
    )
    return item


class _Expected(io.BytesIO):
    """The clip's bytes, refused if they no longer hash to what was recorded when it was made."""

    def __init__(self, data: bytes, sha256: str) -> None:
        if hashlib.sha256(data).hexdigest() != sha256:
            raise InvalidInput("the clip's file no longer matches its SHA-256: make the clip again")
        super().__init__(data)


def _iso(at: datetime) -> str:
    return at.astimezone(UTC).isoformat(timespec="microseconds")


def clips_root(data_dir: Path) -> Path:
    """Where kept clips live: `<data_dir>/clips/<clip id>.mp4`."""
    return data_dir / "clips"
