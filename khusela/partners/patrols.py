"""Patrol reports from community partners: route, time, observations, photos.

Observations are screened for personal information of third parties (`partners.screening`)
before they are stored: a report with findings is refused until the submitter either edits
them out or confirms they are needed; only the *kinds* confirmed are kept with the report.
Photos are stored write-once, addressed by their SHA-256 (`partners.media`).

A group's reports are read by its own members and by police and officials whose
jurisdiction covers where the patrol went (PARTNERS_READ).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, insert, select

from khusela.audit import log as audit
from khusela.core.errors import Forbidden, InvalidInput, NotFound
from khusela.core.gazetteer import Gazetteer
from khusela.core.geo import cell_of, valid_lat_lon
from khusela.core.ids import new_id
from khusela.identity.model import Principal
from khusela.identity.policy import Action, Columns, can, read_filter
from khusela.partners import screening
from khusela.partners.access import COMMUNITY_AGENCIES
from khusela.partners.tables import patrol_photos, patrol_reports

MAX_POINTS = 5000
MAX_PATROL = timedelta(hours=24)
COLUMNS = Columns(
    agency=patrol_reports.c.agency_id,
    province=patrol_reports.c.province,
    municipality=patrol_reports.c.municipality,
    cell=patrol_reports.c.cell,
)


class NeedsConfirmation(InvalidInput):
    """Personal information was found; the submitter must edit it out or confirm it."""

    def __init__(self, findings: list[screening.Finding]) -> None:
        listed = "; ".join(f"{f.kind.value.replace('_', ' ')} {f.masked} at {f.start}" for f in findings)
        super().__init__(
            f"the observations contain personal information of others ({listed}): "
            "remove it, or resubmit with confirm_personal_information=true if it is needed"
        )
        self.findings = findings


@dataclass(frozen=True, slots=True)
class PatrolDraft:
    started_at: datetime
    ended_at: datetime
    route: dict[str, Any]
    """GeoJSON LineString or MultiPoint, coordinates [lon, lat] as GeoJSON orders them."""
    observations: str
    confirm_personal_information: bool = False


def route_points(route: dict[str, Any]) -> list[tuple[float, float]]:
    """(lat, lon) of a GeoJSON LineString, MultiPoint or Point; refuses anything else."""
    kind, coords = route.get("type"), route.get("coordinates")
    if kind == "Point":
        coords = [coords]
    elif kind not in ("LineString", "MultiPoint"):
        raise InvalidInput("a route is a GeoJSON LineString, MultiPoint or Point")
    if not isinstance(coords, list) or not coords or len(coords) > MAX_POINTS:
        raise InvalidInput(f"a route has between 1 and {MAX_POINTS} points")
    points = []
    for pair in coords:
        if not (
            isinstance(pair, list | tuple)
            and len(pair) >= 2
            and all(isinstance(v, int | float) for v in pair[:2])
        ):
            raise InvalidInput("route coordinates are [longitude, latitude] pairs")
        lon, lat = float(pair[0]), float(pair[1])
        if not valid_lat_lon(lat, lon):
            raise InvalidInput(f"route point {lon},{lat} is not a valid position")
        points.append((lat, lon))
    return points


def submit(
    conn: Connection, actor: Principal, draft: PatrolDraft, gazetteer: Gazetteer, now: datetime
) -> dict[str, Any]:
    if (
        not can(actor, Action.PARTNERS_WRITE)
        or actor.agency_id is None
        or actor.agency_type not in COMMUNITY_AGENCIES
    ):
        raise Forbidden("patrol reports come from members of a CPF or neighbourhood watch")
    if not draft.started_at < draft.ended_at <= now + timedelta(minutes=5):
        raise InvalidInput("a patrol ends after it starts, and not in the future")
    if draft.ended_at - draft.started_at > MAX_PATROL:
        raise InvalidInput("a patrol report covers at most 24 hours")
    points = route_points(draft.route)
    findings = screening.screen(draft.observations)
    if findings and not draft.confirm_personal_information:
        raise NeedsConfirmation(findings)
    lat, lon = points[0]
    place = gazetteer.locate(lat, lon)
    report_id = new_id()
    conn.execute(
        insert(patrol_reports).values(
            id=report_id,
            agency_id=actor.agency_id,
            submitted_by=actor.user_id,
            started_at=draft.started_at,
            ended_at=draft.ended_at,
            route=draft.route,
            observations=draft.observations,
            flags=screening.kinds(findings),
            province=place.province,
            municipality=place.municipality,
            cell=cell_of(lat, lon),
            created_at=now,
        )
    )
    audit.record(
        conn,
        actor.username,
        "partners.patrol_report",
        "patrol_report",
        report_id,
        {"flags": screening.kinds(findings)},
    )
    return get(conn, actor, report_id)


def get(conn: Connection, viewer: Principal, report_id: str) -> dict[str, Any]:
    row = conn.execute(
        select(patrol_reports).where(
            patrol_reports.c.id == report_id, read_filter(viewer, Action.PARTNERS_READ, COLUMNS)
        )
    ).first()
    if row is None:
        raise NotFound("no such patrol report that you may see")
    report = dict(row._mapping)
    report["photos"] = [
        dict(r._mapping)
        for r in conn.execute(
            select(patrol_photos.c.sha256, patrol_photos.c.content_type, patrol_photos.c.size).where(
                patrol_photos.c.report_id == report_id
            )
        )
    ]
    return report


def list_reports(
    conn: Connection, viewer: Principal, agency_id: str | None = None, limit: int = 200
) -> list[dict[str, Any]]:
    query = select(patrol_reports.c.id).where(read_filter(viewer, Action.PARTNERS_READ, COLUMNS))
    if agency_id:
        query = query.where(patrol_reports.c.agency_id == agency_id)
    ids = conn.execute(query.order_by(patrol_reports.c.started_at.desc()).limit(limit)).scalars().all()
    return [get(conn, viewer, i) for i in ids]


def add_photo(
    conn: Connection,
    actor: Principal,
    report_id: str,
    sha256: str,
    content_type: str,
    size: int,
    now: datetime,
) -> dict[str, Any]:
    report = get(conn, actor, report_id)
    if report["submitted_by"] != actor.user_id:
        raise Forbidden("only the patrol's reporter adds its photos")
    exists = conn.execute(
        select(patrol_photos.c.sha256).where(
            patrol_photos.c.report_id == report_id, patrol_photos.c.sha256 == sha256
        )
    ).first()
    if exists is None:
        conn.execute(
            insert(patrol_photos).values(
                report_id=report_id, sha256=sha256, content_type=content_type, size=size, added_at=now
            )
        )
        audit.record(
            conn, actor.username, "partners.patrol_photo", "patrol_report", report_id, {"sha256": sha256}
        )
    return get(conn, actor, report_id)


def photo_of(conn: Connection, viewer: Principal, report_id: str, sha256: str) -> str:
    report = get(conn, viewer, report_id)
    for photo in report["photos"]:
        if photo["sha256"] == sha256:
            return str(photo["content_type"])
    raise NotFound("no such photo on this report")
