"""Recording routes: a camera's segments, clips cut from them, and clips into evidence.

Every route first reads the camera through `cameras.get_camera`, which applies the access
policy (`CCTV_READ`), so footage of a camera outside the caller's jurisdiction is "not
found", exactly like the camera itself. Downloads are audited; adding a clip to a case
also needs `EVIDENCE_WRITE` on that case.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import asdict
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, status
from fastapi.responses import StreamingResponse
from pydantic import Field
from sqlalchemy import select

from khusela.api.deps import PlatformDep, require
from khusela.api.schemas import Incoming, Outgoing
from khusela.audit import log as audit
from khusela.cctv import cameras
from khusela.cctv.recording import clips
from khusela.cctv.recording.recorder import recordings_root
from khusela.cctv.recording.tables import camera_segments
from khusela.core.errors import InvalidInput, NotFound
from khusela.core.ids import new_id
from khusela.evidence.schemas import ItemOut
from khusela.evidence.storage import local_store
from khusela.identity.model import Principal
from khusela.identity.policy import Action

router = APIRouter(prefix="/api/cctv", tags=["cctv"])
Reader = Annotated[Principal, Depends(require(Action.CCTV_READ))]
EvidenceWriter = Annotated[Principal, Depends(require(Action.EVIDENCE_WRITE))]
CHUNK = 1024 * 1024


class SegmentOut(Outgoing):
    id: str
    seq: int
    started_at: datetime
    ended_at: datetime
    size: int
    sha256: str
    chain_hash: str
    clock_offset_s: float
    held: bool
    deleted_at: datetime | None = Field(description="Set when retention deleted the file (the row stays).")


class ClipIn(Incoming):
    camera_id: str = Field(min_length=1, max_length=36)
    start: datetime
    end: datetime
    pre_roll_s: float = Field(10.0, ge=0, le=clips.MAX_ROLL_SECONDS)
    post_roll_s: float = Field(10.0, ge=0, le=clips.MAX_ROLL_SECONDS)


class ClipOut(Outgoing):
    id: str
    camera_id: str
    requested_start: datetime
    requested_end: datetime
    started_at: datetime = Field(description="The first keyframe at or before start minus pre-roll.")
    ended_at: datetime
    size: int
    sha256: str
    clock_offset_s: float = Field(description="Camera clock minus ours, seconds (0 when unknown).")
    segments: list[dict[str, Any]]
    created_by: str
    created_at: datetime
    case_id: str | None
    evidence_item_id: str | None
    download: str


class ClipEvidenceIn(Incoming):
    case_id: str = Field(min_length=1, max_length=36)


def _aware(value: datetime | None, what: str) -> datetime | None:
    if value is not None and value.tzinfo is None:
        raise InvalidInput(f"{what} needs a time zone (e.g. 2026-11-20T21:04:00+02:00)")
    return value


def _clip_out(row: dict[str, Any]) -> ClipOut:
    fields = {k: v for k, v in row.items() if k != "path"}
    return ClipOut(**fields, download=f"/api/cctv/clips/{row['id']}/content")


@router.get(
    "/cameras/{camera_id}/segments",
    response_model=list[SegmentOut],
    summary="A camera's recorded segments (deleted ones keep their row)",
)
def list_segments(
    camera_id: str,
    viewer: Reader,
    platform: PlatformDep,
    since: Annotated[datetime | None, Query(description="Segments ending after this time.")] = None,
    until: Annotated[datetime | None, Query(description="Segments starting before this time.")] = None,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 1000,
) -> list[SegmentOut]:
    _aware(since, "since")
    _aware(until, "until")
    with platform.db.read() as conn:
        cameras.get_camera(conn, viewer, camera_id)
        query = select(camera_segments).where(camera_segments.c.camera_id == camera_id)
        if since is not None:
            query = query.where(camera_segments.c.ended_at > since)
        if until is not None:
            query = query.where(camera_segments.c.started_at < until)
        rows = conn.execute(query.order_by(camera_segments.c.seq).limit(limit)).all()
    return [SegmentOut.model_validate(dict(r._mapping)) for r in rows]


@router.post("/clips", response_model=ClipOut, status_code=status.HTTP_201_CREATED, summary="Cut a clip")
def make_clip(body: ClipIn, viewer: Reader, platform: PlatformDep) -> ClipOut:
    """Remux the recorded segments covering [start - pre_roll, end + post_roll] into one MP4."""
    _aware(body.start, "start")
    _aware(body.end, "end")
    root = clips.clips_root(platform.settings.data_dir)
    out_path = root / f"{new_id()}.mp4"
    with platform.db.read() as conn:
        cameras.get_camera(conn, viewer, body.camera_id)
        clip = clips.make_clip(
            conn,
            recordings_root(platform.settings.data_dir),
            body.camera_id,
            body.start,
            body.end,
            body.pre_roll_s,
            body.post_roll_s,
            out_path=out_path,
        )
    try:
        with platform.db.write() as conn:
            row = clips.save_clip(conn, viewer, body.camera_id, clip, root, (body.start, body.end))
    except BaseException:
        out_path.unlink(missing_ok=True)
        raise
    return _clip_out(row)


def _visible_clip(conn: Any, viewer: Principal, clip_id: str) -> dict[str, Any]:
    clip = clips.get_clip(conn, clip_id)
    try:
        cameras.get_camera(conn, viewer, clip["camera_id"])
    except NotFound:
        raise NotFound("no such clip") from None
    return clip


@router.get("/clips/{clip_id}", response_model=ClipOut, summary="One clip's metadata")
def get_clip(clip_id: str, viewer: Reader, platform: PlatformDep) -> ClipOut:
    with platform.db.read() as conn:
        return _clip_out(_visible_clip(conn, viewer, clip_id))


@router.get(
    "/clips/{clip_id}/content",
    response_class=StreamingResponse,
    responses={200: {"content": {"video/mp4": {}}}},
    summary="Download a clip (recorded in the audit log)",
)
def clip_content(clip_id: str, viewer: Reader, platform: PlatformDep) -> StreamingResponse:
    with platform.db.write() as conn:
        clip = _visible_clip(conn, viewer, clip_id)
        path = clips.clips_root(platform.settings.data_dir) / clip["path"]
        if not path.is_file():
            raise NotFound("the clip's file is gone: make the clip again")
        audit.record(
            conn, viewer.username, "cctv.clip_viewed", "camera_clip", clip_id, {"sha256": clip["sha256"]}
        )
    headers = {
        "Content-Length": str(clip["size"]),
        "Digest": f"sha-256={clip['sha256']}",
        "Content-Disposition": f'attachment; filename="clip-{clip_id}.mp4"',
    }
    return StreamingResponse(_read(path), media_type="video/mp4", headers=headers)


def _read(path: Path) -> Iterator[bytes]:
    with path.open("rb") as f:
        while chunk := f.read(CHUNK):
            yield chunk


@router.post(
    "/clips/{clip_id}/evidence",
    response_model=ItemOut,
    status_code=status.HTTP_201_CREATED,
    summary="Add a clip to an evidence case (holds its source segments)",
)
def clip_evidence(
    clip_id: str, body: ClipEvidenceIn, writer: EvidenceWriter, platform: PlatformDep
) -> ItemOut:
    data_dir = platform.settings.data_dir
    with platform.db.write() as conn:
        clip = _visible_clip(conn, writer, clip_id)
        item = clips.clip_to_evidence(
            conn, writer, local_store(data_dir), body.case_id, clip, clips.clips_root(data_dir)
        )
    return ItemOut.model_validate(asdict(item))
