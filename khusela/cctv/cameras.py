"""The camera registry: every government and partner camera, where it looks, how to reach
its streams, what to detect and how long to keep its footage.

Registering is for those who may manage cameras of the owning agency (`CCTV_MANAGE`);
reading goes through the one policy (`CCTV_READ`: an operator sees the cameras of their
jurisdiction). Stream URLs may carry credentials: the API shows them redacted, and a
redacted URL sent back (an edited export) keeps the stored one.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from enum import StrEnum
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import Connection, func, insert, or_, select, update

from khusela.audit import log as audit
from khusela.cctv.tables import cameras
from khusela.core.clock import SystemClock
from khusela.core.errors import InvalidInput, NotFound
from khusela.core.gazetteer import Gazetteer, Locality
from khusela.core.ids import new_id
from khusela.identity import directory
from khusela.identity.model import Principal
from khusela.identity.policy import Action, Columns, Resource, can, read_filter

CAMERA_COLUMNS = Columns(
    agency=cameras.c.owner_agency_id,
    province=cameras.c.province,
    municipality=cameras.c.municipality,
    cell=cameras.c.cell,
)


def camera_columns(viewer: Principal) -> Columns:
    """The registry's policy columns for `viewer`: its own scope, widened to the cameras of
    agencies bound to the viewer's by an active CCTV-integration agreement (the partners
    tracker decides whose cameras a command centre may view)."""
    if viewer.agency_id is None:
        return CAMERA_COLUMNS
    from khusela.partners.rules import camera_owners_query  # partners reads cctv figures too

    return replace(
        CAMERA_COLUMNS, granted=cameras.c.owner_agency_id.in_(camera_owners_query(viewer.agency_id))
    )


STREAM_SCHEMES = frozenset({"rtsp", "rtsps", "http", "https", "file"})
REDACTED = "***"


class CameraStatus(StrEnum):
    UNKNOWN = "unknown"
    ONLINE = "online"
    OFFLINE = "offline"
    DISABLED = "disabled"


@dataclass(frozen=True, slots=True)
class Zone:
    """A named polygon in frame coordinates scaled to 0..1 (independent of resolution)."""

    name: str
    polygon: tuple[tuple[float, float], ...]


@dataclass(frozen=True, slots=True)
class CameraSpec:
    """What an administrator states about a camera (import row or API body)."""

    owner_agency_id: str
    name: str
    lat: float
    lon: float
    main_stream_url: str
    external_ref: str | None = None
    sub_stream_url: str | None = None
    bearing_deg: float | None = None
    fov_deg: float | None = None
    detect_fps: float = 5.0
    detect_width: int = 640
    detect_height: int = 360
    zones: tuple[Zone, ...] = field(default_factory=tuple)
    masks: tuple[Zone, ...] = field(default_factory=tuple)
    record: bool = True
    retention_days: int = 30


# --- validation --------------------------------------------------------------------------


def check_stream_url(url: str, what: str = "stream URL") -> str:
    parts = urlsplit(url.strip())
    if parts.scheme.lower() not in STREAM_SCHEMES:
        raise InvalidInput(
            f"{what}: use rtsp://, rtsps://, http(s):// or file:// (got {parts.scheme or 'none'})"
        )
    if parts.scheme != "file" and not parts.hostname:
        raise InvalidInput(f"{what}: the URL names no host")
    return url.strip()


_CREDENTIALS = re.compile(r"^(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*://)(?P<user>[^:/@]*):[^/]*@")


def redact(url: str | None) -> str | None:
    """The URL with its password replaced by ***: safe for the API, exports and logs.
    (A regular expression, not urlsplit: listing 5,000 cameras redacts 10,000 URLs.)"""
    if url is None or "@" not in url:
        return url
    return _CREDENTIALS.sub(lambda m: f"{m['scheme']}{m['user']}:{REDACTED}@", url, count=1)


def _polygon(raw: Any, what: str) -> Zone:
    if not isinstance(raw, Mapping) or not isinstance(raw.get("polygon"), list):
        raise InvalidInput(f"{what}: give {{name, polygon: [[x, y], …]}}")
    points = raw["polygon"]
    if len(points) < 3:
        raise InvalidInput(f"{what}: a polygon needs at least 3 points")
    out: list[tuple[float, float]] = []
    for point in points:
        if (
            not isinstance(point, list | tuple)
            or len(point) != 2
            or not all(isinstance(v, int | float) and 0.0 <= v <= 1.0 for v in point)
        ):
            raise InvalidInput(f"{what}: points are [x, y] with 0 <= x, y <= 1 (fractions of the frame)")
        out.append((float(point[0]), float(point[1])))
    return Zone(str(raw.get("name") or what), tuple(out))


def zones_from(raw: Any, what: str) -> tuple[Zone, ...]:
    if raw in (None, ""):
        return ()
    if not isinstance(raw, list):
        raise InvalidInput(f"{what}: give a list of polygons")
    return tuple(_polygon(item, f"{what} {n + 1}") for n, item in enumerate(raw))


def validate(spec: CameraSpec) -> None:
    if not spec.name.strip():
        raise InvalidInput("the camera needs a name")
    if not (-90 <= spec.lat <= 90 and -180 <= spec.lon <= 180):
        raise InvalidInput("the camera's position is not on the globe")
    check_stream_url(spec.main_stream_url, "main stream URL")
    if spec.sub_stream_url:
        check_stream_url(spec.sub_stream_url, "sub stream URL")
    if spec.bearing_deg is not None and not 0 <= spec.bearing_deg < 360:
        raise InvalidInput("bearing: degrees from north, 0 to 359")
    if spec.fov_deg is not None and not 0 < spec.fov_deg <= 360:
        raise InvalidInput("field of view: degrees, above 0 and at most 360")
    if not 0.1 <= spec.detect_fps <= 30:
        raise InvalidInput("detect fps: between 0.1 and 30")
    if not (64 <= spec.detect_width <= 3840 and 64 <= spec.detect_height <= 2160):
        raise InvalidInput("detect size: 64x64 to 3840x2160")
    if not 1 <= spec.retention_days <= 3650:
        raise InvalidInput("retention: 1 to 3650 days")


# --- writes ------------------------------------------------------------------------------


def _zones_json(zones: Sequence[Zone]) -> list[dict[str, Any]]:
    return [{"name": z.name, "polygon": [list(p) for p in z.polygon]} for z in zones]


def _values(spec: CameraSpec, place: Locality) -> dict[str, Any]:
    return {
        "owner_agency_id": spec.owner_agency_id,
        "name": spec.name.strip(),
        "external_ref": spec.external_ref or None,
        "lat": spec.lat,
        "lon": spec.lon,
        "province": place.province,
        "municipality": place.municipality,
        "cell": place.cell,
        "bearing_deg": spec.bearing_deg,
        "fov_deg": spec.fov_deg,
        "main_stream_url": spec.main_stream_url.strip(),
        "sub_stream_url": (spec.sub_stream_url or "").strip() or None,
        "detect_fps": spec.detect_fps,
        "detect_width": spec.detect_width,
        "detect_height": spec.detect_height,
        "zones": _zones_json(spec.zones),
        "masks": _zones_json(spec.masks),
        "record": spec.record,
        "retention_days": spec.retention_days,
    }


def _authorise(conn: Connection, actor: Principal, spec: CameraSpec, place: Locality) -> None:
    try:
        directory.get_agency(conn, spec.owner_agency_id)
    except NotFound:
        raise InvalidInput("owner: no such agency") from None
    where = Resource(agency_id=spec.owner_agency_id, province=place.province, municipality=place.municipality)
    if not can(actor, Action.CCTV_MANAGE, where):
        raise NotFound("no such agency")


def register(
    conn: Connection, actor: Principal, spec: CameraSpec, gazetteer: Gazetteer, now: datetime | None = None
) -> dict[str, Any]:
    """Add a camera (status unknown until its worker reports)."""
    validate(spec)
    place = gazetteer.locate(spec.lat, spec.lon)
    _authorise(conn, actor, spec, place)
    now = now or SystemClock().now()
    row = {
        "id": new_id(),
        **_values(spec, place),
        "status": CameraStatus.UNKNOWN.value,
        "status_reason": None,
        "last_frame_at": None,
        "created_at": now,
        "updated_at": now,
    }
    if spec.external_ref and _by_ref(conn, spec.external_ref) is not None:
        raise InvalidInput(f"external ref {spec.external_ref} is taken")
    conn.execute(insert(cameras).values(**row))
    audit.record(conn, actor.username, "cctv.camera_registered", "camera", row["id"], {"name": row["name"]})
    return row


def _by_ref(conn: Connection, ref: str) -> dict[str, Any] | None:
    found = conn.execute(select(cameras).where(cameras.c.external_ref == ref)).first()
    return None if found is None else dict(found._mapping)


def upsert_by_ref(
    conn: Connection, actor: Principal, spec: CameraSpec, gazetteer: Gazetteer, now: datetime
) -> tuple[str, str]:
    """Create the camera, or update the one with the same external ref. A redacted stream
    URL (password ***) keeps the stored URL: exports can be edited and imported back.
    Returns (camera id, "created" | "updated")."""
    existing = _by_ref(conn, spec.external_ref) if spec.external_ref else None
    if existing is None:
        return str(register(conn, actor, spec, gazetteer, now)["id"]), "created"
    validate(spec)
    place = gazetteer.locate(spec.lat, spec.lon)
    _authorise(conn, actor, spec, place)
    old = Resource(
        agency_id=existing["owner_agency_id"],
        province=existing["province"],
        municipality=existing["municipality"],
    )
    if not can(actor, Action.CCTV_MANAGE, old):
        raise InvalidInput(f"external ref {spec.external_ref} belongs to a camera you may not manage")
    values = _values(spec, place)
    for key in ("main_stream_url", "sub_stream_url"):
        if values[key] and values[key] == redact(existing[key]):
            values[key] = existing[key]
    conn.execute(update(cameras).where(cameras.c.id == existing["id"]).values(**values, updated_at=now))
    audit.record(
        conn, actor.username, "cctv.camera_updated", "camera", existing["id"], {"name": values["name"]}
    )
    return str(existing["id"]), "updated"


# --- reads -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CameraFilter:
    owner_agency_id: str | None = None
    municipality: str | None = None
    status: CameraStatus | None = None
    text: str | None = None
    limit: int = 10_000


def list_cameras(conn: Connection, viewer: Principal, where: CameraFilter) -> list[dict[str, Any]]:
    query = select(cameras).where(read_filter(viewer, Action.CCTV_READ, camera_columns(viewer)))
    if where.owner_agency_id:
        query = query.where(cameras.c.owner_agency_id == where.owner_agency_id)
    if where.municipality:
        query = query.where(cameras.c.municipality == where.municipality)
    if where.status:
        query = query.where(cameras.c.status == where.status.value)
    if where.text:
        pattern = f"%{where.text.lower()}%"
        query = query.where(
            or_(func.lower(cameras.c.name).like(pattern), cameras.c.external_ref == where.text)
        )
    query = query.order_by(cameras.c.name, cameras.c.id).limit(where.limit)
    return [dict(r._mapping) for r in conn.execute(query)]


def get_camera(conn: Connection, viewer: Principal, camera_id: str) -> dict[str, Any]:
    row = conn.execute(
        select(cameras).where(
            cameras.c.id == camera_id, read_filter(viewer, Action.CCTV_READ, camera_columns(viewer))
        )
    ).first()
    if row is None:
        raise NotFound("no such camera")
    return dict(row._mapping)
