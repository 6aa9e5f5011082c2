"""CCTV routes: the camera registry (list and filter, register, CSV import and export)."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response, status
from pydantic import Field
from starlette.concurrency import run_in_threadpool

from khusela.api.deps import PlatformDep, require
from khusela.api.schemas import Incoming, Outgoing
from khusela.cctv import cameras, csvio
from khusela.cctv.cameras import CameraFilter, CameraSpec, CameraStatus
from khusela.core.clock import SystemClock
from khusela.core.errors import InvalidInput
from khusela.identity.model import Principal
from khusela.identity.policy import Action

router = APIRouter(prefix="/api/cctv", tags=["cctv"])
Reader = Annotated[Principal, Depends(require(Action.CCTV_READ))]
Manager = Annotated[Principal, Depends(require(Action.CCTV_MANAGE))]
MAX_CSV_BYTES = 20 * 1024 * 1024
"""A province's whole camera list in one file (the body limit is raised for this route)."""
IMPORT_PATH = "/api/cctv/cameras/import"


class ZoneIO(Incoming):
    name: str = Field(min_length=1, max_length=80)
    polygon: list[tuple[float, float]] = Field(min_length=3, max_length=100)


class CameraIn(Incoming):
    owner_agency_id: str = Field(min_length=1, max_length=36)
    name: str = Field(min_length=1, max_length=200)
    external_ref: str | None = Field(None, max_length=80)
    lat: float = Field(ge=-90, le=90)
    lon: float = Field(ge=-180, le=180)
    bearing_deg: float | None = Field(None, ge=0, lt=360)
    fov_deg: float | None = Field(None, gt=0, le=360)
    main_stream_url: str = Field(min_length=8, max_length=500)
    sub_stream_url: str | None = Field(None, max_length=500)
    detect_fps: float = Field(5.0, ge=0.1, le=30)
    detect_width: int = Field(640, ge=64, le=3840)
    detect_height: int = Field(360, ge=64, le=2160)
    zones: list[ZoneIO] = Field(default_factory=list, max_length=50)
    masks: list[ZoneIO] = Field(default_factory=list, max_length=50)
    record: bool = True
    retention_days: int = Field(30, ge=1, le=3650)


class CameraOut(Outgoing):
    id: str
    owner_agency_id: str
    name: str
    external_ref: str | None
    lat: float
    lon: float
    municipality: str | None
    cell: str | None
    bearing_deg: float | None
    fov_deg: float | None
    main_stream_url: str = Field(description="Passwords in stream URLs are shown as ***.")
    sub_stream_url: str | None
    detect_fps: float
    detect_width: int
    detect_height: int
    zones: list[dict[str, Any]]
    masks: list[dict[str, Any]]
    record: bool
    retention_days: int
    status: CameraStatus
    status_reason: str | None
    last_frame_at: datetime | None


class ImportOut(Outgoing):
    created: int
    updated: int


LISTED = tuple(CameraOut.model_fields)


def _iso(value: object) -> str:
    if isinstance(value, datetime):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON")


def _listed(row: dict[str, Any]) -> dict[str, Any]:
    out = {key: row[key] for key in LISTED}
    out["main_stream_url"] = cameras.redact(row["main_stream_url"])
    out["sub_stream_url"] = cameras.redact(row["sub_stream_url"])
    return out


@router.get(
    "/cameras",
    response_model=list[CameraOut],
    response_class=Response,
    summary="Cameras the caller may see",
)
async def list_cameras(
    viewer: Reader,
    platform: PlatformDep,
    owner_agency_id: Annotated[str | None, Query(max_length=36)] = None,
    municipality: Annotated[str | None, Query(max_length=16)] = None,
    camera_status: Annotated[CameraStatus | None, Query(alias="status")] = None,
    q: Annotated[str | None, Query(min_length=1, max_length=100, description="Name or external ref")] = None,
) -> Response:
    where = CameraFilter(owner_agency_id, municipality, camera_status, q)

    def read() -> bytes:
        with platform.db.read() as conn:
            rows = cameras.list_cameras(conn, viewer, where)
        return json.dumps([_listed(r) for r in rows], separators=(",", ":"), default=_iso).encode()

    # Rows are built from the table and checked by the tests against CameraOut; validating
    # 5,000 of them again per request would double the time the console waits.
    return Response(await run_in_threadpool(read), media_type="application/json")


@router.get("/cameras/{camera_id}", response_model=CameraOut, summary="One camera")
async def get_camera(camera_id: str, viewer: Reader, platform: PlatformDep) -> dict[str, Any]:
    def read() -> dict[str, Any]:
        with platform.db.read() as conn:
            return _listed(cameras.get_camera(conn, viewer, camera_id))

    return await run_in_threadpool(read)


@router.post("/cameras", response_model=CameraOut, status_code=status.HTTP_201_CREATED, summary="Register")
async def register_camera(body: CameraIn, actor: Manager, platform: PlatformDep) -> dict[str, Any]:
    spec = CameraSpec(
        **body.model_dump(exclude={"zones", "masks"}),
        zones=cameras.zones_from([z.model_dump() for z in body.zones], "zone"),
        masks=cameras.zones_from([z.model_dump() for z in body.masks], "mask"),
    )

    def write() -> dict[str, Any]:
        with platform.db.write() as conn:
            return _listed(cameras.register(conn, actor, spec, platform.gazetteer))

    return await run_in_threadpool(write)


@router.get(
    "/cameras.csv",
    response_class=Response,
    responses={200: {"content": {"text/csv": {}}}},
    summary="Export the cameras the caller may see (stream passwords redacted)",
)
async def export_cameras(viewer: Reader, platform: PlatformDep) -> Response:
    def read() -> str:
        with platform.db.read() as conn:
            return csvio.export_csv(cameras.list_cameras(conn, viewer, CameraFilter()))

    body = await run_in_threadpool(read)
    return Response(
        body,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="khusela-cameras.csv"'},
    )


@router.post(
    IMPORT_PATH.removeprefix("/api/cctv"),
    response_model=ImportOut,
    summary="Import cameras from CSV (all rows or none; a known external_ref updates)",
    openapi_extra={"requestBody": {"content": {"text/csv": {"schema": {"type": "string"}}}}},
)
async def import_cameras(request: Request, actor: Manager, platform: PlatformDep) -> ImportOut:
    raw = await request.body()
    if len(raw) > MAX_CSV_BYTES:
        raise InvalidInput("the CSV is larger than 20 MiB: split it")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InvalidInput("the CSV must be UTF-8") from None

    def write() -> csvio.ImportResult:
        with platform.db.write() as conn:
            return csvio.import_csv(conn, actor, text, platform.gazetteer, SystemClock().now())

    result = await run_in_threadpool(write)
    return ImportOut(created=result.created, updated=result.updated)
