"""CCTV routes for what the workers produce: detection events and their snapshots, camera
uptime, the latest frame and the live view (MJPEG).

Every read goes through the one policy on the camera (`CCTV_READ`: owner agency and
locality); a camera the caller may not see answers 404, exactly like one that does not
exist. The live view takes its token from `Authorization: Bearer` or `?access_token=`
(an <img> tag sends no headers; the request log never carries query strings) and is
audited once per stream (`cctv.live_viewed`).
"""

from __future__ import annotations

import io
from dataclasses import asdict
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from fastapi.responses import Response, StreamingResponse
from pydantic import Field
from sqlalchemy import select
from starlette.concurrency import run_in_threadpool

from khusela.api.deps import PlatformDep, StreamCaller, require
from khusela.api.schemas import Incoming, Outgoing
from khusela.audit import log as audit
from khusela.bootstrap import Platform
from khusela.cctv import cameras
from khusela.cctv.cameras import camera_columns
from khusela.cctv.health import GroupBy, uptime
from khusela.cctv.live import BOUNDARY, mjpeg
from khusela.cctv.tables import cameras as cameras_table
from khusela.cctv.tables import cctv_events
from khusela.cctv.workers import CameraSupervisor, supervisor_of
from khusela.core.errors import InvalidInput, NotFound, ServiceUnavailable
from khusela.evidence import locker
from khusela.evidence.schemas import ItemOut
from khusela.evidence.storage import local_store
from khusela.identity.model import Principal
from khusela.identity.policy import Action, read_filter

router = APIRouter(prefix="/api/cctv", tags=["cctv"])
Reader = Annotated[Principal, Depends(require(Action.CCTV_READ))]
NO_STORE = {"Cache-Control": "no-store"}


class CctvEventOut(Outgoing):
    id: str
    camera_id: str
    camera_name: str
    at: datetime
    kind: str = Field(description="start: a tracked object appeared; end: it left (best sighting).")
    label: str
    score: float
    box: list[int] = Field(description="[x, y, width, height] in source pixels.")
    zone: str | None
    track_id: int
    duration_s: float
    plate: str | None
    watchlist: str | None
    snapshot_url: str | None


class UptimeRow(Outgoing):
    key: str = Field(description="Camera id, or owning agency id.")
    name: str
    cameras: int
    online_s: float
    offline_s: float
    unknown_s: float = Field(description="Not watched (no worker) or before the first report.")
    uptime: float | None = Field(description="online_s / (online_s + offline_s); null if never observed.")


class UptimeOut(Outgoing):
    since: datetime
    until: datetime
    group_by: GroupBy
    rows: list[UptimeRow]


class CameraHealthOut(Outgoing):
    camera_id: str
    status: str
    reason: str | None
    last_frame_at: datetime | None
    measured_fps: float
    frames: int
    reconnects: int
    restarts: int


def _utc(value: datetime | None) -> datetime | None:
    if value is not None and value.tzinfo is None:
        raise InvalidInput("give times with their offset, e.g. 2026-11-23T08:00:00+02:00")
    return value


@router.get("/events", response_model=list[CctvEventOut], summary="Detection events the caller may see")
async def list_events(
    viewer: Reader,
    platform: PlatformDep,
    camera_id: Annotated[str | None, Query(max_length=36)] = None,
    label: Annotated[str | None, Query(max_length=16)] = None,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[dict[str, Any]]:
    _utc(since), _utc(until)
    query = (
        select(cctv_events, cameras_table.c.name.label("camera_name"))
        .join(cameras_table, cameras_table.c.id == cctv_events.c.camera_id)
        .where(read_filter(viewer, Action.CCTV_READ, camera_columns(viewer)))
    )
    if camera_id:
        query = query.where(cctv_events.c.camera_id == camera_id)
    if label:
        query = query.where(cctv_events.c.label == label)
    if since:
        query = query.where(cctv_events.c.at >= since)
    if until:
        query = query.where(cctv_events.c.at < until)
    query = query.order_by(cctv_events.c.at.desc(), cctv_events.c.id).limit(limit)

    def read() -> list[dict[str, Any]]:
        with platform.db.read() as conn:
            rows = [dict(r._mapping) for r in conn.execute(query)]
        for row in rows:
            sha = row.pop("snapshot_sha256")
            row["snapshot_url"] = f"/api/cctv/events/{row['id']}/snapshot.jpg" if sha else None
        return rows

    return await run_in_threadpool(read)


@router.get(
    "/events/{event_id}/snapshot.jpg",
    response_class=Response,
    responses={200: {"content": {"image/jpeg": {}}}, 404: {"description": "No such event or snapshot"}},
    summary="An event's snapshot (re-verified against its SHA-256)",
)
async def event_snapshot(event_id: str, viewer: Reader, platform: PlatformDep) -> Response:
    def read() -> bytes:
        with platform.db.read() as conn:
            sha = conn.execute(
                select(cctv_events.c.snapshot_sha256)
                .join(cameras_table, cameras_table.c.id == cctv_events.c.camera_id)
                .where(
                    cctv_events.c.id == event_id,
                    read_filter(viewer, Action.CCTV_READ, camera_columns(viewer)),
                )
            ).scalar_one_or_none()
        if not sha:
            raise NotFound("no such event snapshot")
        return b"".join(local_store(platform.settings.data_dir).chunks(sha))

    return Response(await run_in_threadpool(read), media_type="image/jpeg")


class SnapshotEvidenceIn(Incoming):
    case_id: str = Field(min_length=1, max_length=36)


@router.post(
    "/events/{event_id}/evidence",
    response_model=ItemOut,
    status_code=201,
    summary="Keep an event's snapshot as evidence in a case (write-once, with custody)",
)
async def event_snapshot_to_evidence(
    event_id: str,
    body: SnapshotEvidenceIn,
    viewer: Reader,
    writer: Annotated[Principal, Depends(require(Action.EVIDENCE_WRITE))],
    platform: PlatformDep,
) -> ItemOut:
    store = local_store(platform.settings.data_dir)

    def keep() -> locker.Item:
        with platform.db.write() as conn:
            row = conn.execute(
                select(cctv_events, cameras_table.c.name.label("camera_name"))
                .join(cameras_table, cameras_table.c.id == cctv_events.c.camera_id)
                .where(
                    cctv_events.c.id == event_id,
                    read_filter(viewer, Action.CCTV_READ, camera_columns(viewer)),
                )
            ).first()
            if row is None or not row.snapshot_sha256:
                raise NotFound("no such event snapshot")
            locker.visible_case(conn, writer, body.case_id, Action.EVIDENCE_WRITE)
            data = b"".join(store.chunks(row.snapshot_sha256))  # re-verified on the way
            source = {
                "camera_id": row.camera_id,
                "camera_name": row.camera_name,
                "event_id": row.id,
                "label": row.label,
                "score": row.score,
                "box": row.box,
                "track_id": row.track_id,
                "plate": row.plate,
            }
            stamp = row.at.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")
            return locker.add_item(
                conn,
                store,
                writer.username,
                body.case_id,
                io.BytesIO(data),
                locker.ItemKind.SNAPSHOT,
                "image/jpeg",
                f"camera-{row.camera_id}-{stamp}-{row.label}.jpg",
                source,
                row.at,
            )

    item = await run_in_threadpool(keep)
    return ItemOut.model_validate(asdict(item))


@router.get("/uptime", response_model=UptimeOut, summary="Share of time cameras were online")
async def camera_uptime(
    viewer: Reader,
    platform: PlatformDep,
    since: datetime | None = None,
    until: datetime | None = None,
    group_by: GroupBy = GroupBy.CAMERA,
) -> dict[str, Any]:
    end = _utc(until) or datetime.now(UTC)
    start = _utc(since) or end - timedelta(days=1)

    def read() -> list[dict[str, Any]]:
        with platform.db.read() as conn:
            return uptime(conn, viewer, start, end, group_by)

    return {"since": start, "until": end, "group_by": group_by, "rows": await run_in_threadpool(read)}


def _visible(platform: Platform, viewer: Principal, camera_id: str) -> dict[str, Any]:
    with platform.db.read() as conn:
        return cameras.get_camera(conn, viewer, camera_id)


def _supervisor(platform: Platform) -> CameraSupervisor:
    supervisor = supervisor_of(platform)
    if supervisor is None:
        raise ServiceUnavailable("camera workers do not run on this server (KHUSELA_CCTV_WORKERS)")
    return supervisor


@router.get("/cameras/{camera_id}/health", response_model=CameraHealthOut, summary="A camera's health card")
async def camera_health(camera_id: str, viewer: Reader, platform: PlatformDep) -> dict[str, Any]:
    await run_in_threadpool(_visible, platform, viewer, camera_id)
    card = _supervisor(platform).health_of(camera_id)
    if card is None:
        raise NotFound("this camera has no worker on this server")
    return {"camera_id": camera_id, **card}


@router.get(
    "/cameras/{camera_id}/snapshot.jpg",
    response_class=Response,
    responses={200: {"content": {"image/jpeg": {}}}, 404: {"description": "No such camera, or no frame yet"}},
    summary="The camera's latest frame (downscaled)",
)
async def camera_snapshot(camera_id: str, viewer: Reader, platform: PlatformDep) -> Response:
    await run_in_threadpool(_visible, platform, viewer, camera_id)
    frame = _supervisor(platform).live.latest(camera_id)
    if frame is None:
        raise NotFound("no frame from this camera yet")
    return Response(
        frame.jpeg, media_type="image/jpeg", headers={**NO_STORE, "X-Timestamp": frame.at.isoformat()}
    )


@router.get(
    "/cameras/{camera_id}/live.mjpeg",
    response_class=StreamingResponse,
    responses={
        200: {"content": {f"multipart/x-mixed-replace; boundary={BOUNDARY}": {}}, "description": "Endless"},
        401: {"description": "Missing, unknown, expired or revoked token"},
        404: {"description": "No such camera (or not one the caller may see)"},
        503: {"description": "Camera workers do not run on this server"},
    },
    summary="Live view: the latest frames as an MJPEG stream (at most 5 a second)",
)
async def live_view(camera_id: str, platform: PlatformDep, caller: StreamCaller) -> StreamingResponse:
    principal, token = caller
    await run_in_threadpool(_visible, platform, principal, camera_id)
    supervisor = _supervisor(platform)

    def audited() -> None:
        with platform.db.write() as conn:
            audit.record(
                conn, principal.username, "cctv.live_viewed", "camera", camera_id, {"camera_id": camera_id}
            )

    await run_in_threadpool(audited)

    async def still_allowed() -> bool:
        current = await platform.authenticator.authenticate(token)
        if current is None:
            return False
        try:
            await run_in_threadpool(_visible, platform, current, camera_id)
        except NotFound:
            return False
        return True

    return StreamingResponse(
        mjpeg(supervisor.live, camera_id, still_allowed=still_allowed),
        media_type=f"multipart/x-mixed-replace; boundary={BOUNDARY}",
        headers={**NO_STORE, "X-Accel-Buffering": "no"},
    )
