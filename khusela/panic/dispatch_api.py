"""Panic routes for dispatch: recommendations, dispatch, assignments, unit locations, KPIs."""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Response, status
from pydantic import AwareDatetime, Field
from starlette.concurrency import run_in_threadpool

from khusela.api.deps import PlatformDep, require
from khusela.api.schemas import Incoming, Outgoing
from khusela.core.clock import SystemClock, as_utc
from khusela.identity.model import Principal
from khusela.identity.policy import Action
from khusela.panic import avl, dispatch, kpis
from khusela.panic.avl import Freshness
from khusela.panic.dispatch import AssignmentStatus, AssignmentView
from khusela.panic.model import Outcome, UnitKind
from khusela.panic.recommend import Recommendations, live_index, recommend_for_alert

router = APIRouter(prefix="/api/panic", tags=["panic"])

Dispatcher = Annotated[Principal, Depends(require(Action.PANIC_DISPATCH))]
UnitReader = Annotated[Principal, Depends(require(Action.UNIT_READ))]
UnitUpdater = Annotated[Principal, Depends(require(Action.UNIT_UPDATE))]
KpiReader = Annotated[Principal, Depends(require(Action.KPI_READ))]
Id = Annotated[str, Path(min_length=1, max_length=36)]


# --- schemas ------------------------------------------------------------------------------


class RecommendedUnit(Outgoing):
    unit_id: str
    callsign: str
    kind: UnitKind
    agency_id: str
    agency_name: str
    need: str = Field(description="Which need of the alert the unit meets: police, medical, fire or any.")
    lat: float
    lon: float
    distance_m: float = Field(description="Straight-line distance to the alert.")
    eta_seconds: float
    eta_source: str = Field(description="straight_line, or the routing service's name (osrm).")
    location_at: datetime
    location_age_seconds: float
    freshness: Freshness = Field(description="fresh (< 60 s) or stale (60-300 s); older are never shown.")


class RecommendationsPublic(Outgoing):
    alert_id: str
    alert_type: str
    router: str
    routing_fallback: bool = Field(
        description="True when the routing service failed: ETAs are straight-line."
    )
    units: list[RecommendedUnit]


class DispatchIn(Incoming):
    unit_id: str = Field(min_length=1, max_length=36)
    redispatch: bool = Field(False, description="Take the unit off the alert it is on now.")


class AssignmentPublic(Outgoing):
    id: str
    alert_id: str
    unit_id: str
    status: AssignmentStatus
    eta_seconds: int | None
    assigned_at: datetime
    acknowledged_at: datetime | None
    en_route_at: datetime | None
    on_scene_at: datetime | None
    cleared_at: datetime | None
    outcome: Outcome | None


class AssignmentStatusIn(Incoming):
    status: AssignmentStatus
    outcome: Outcome | None = Field(None, description="Required with status resolved, refused otherwise.")


class AssignmentBoardItem(Outgoing):
    id: str
    status: AssignmentStatus
    alert_id: str
    alert_type: str
    alert_status: str
    priority: int
    silent: bool = Field(description="A silent alarm: approach without sirens.")
    lat: float | None
    lon: float | None
    accuracy_m: float | None
    location_text: str | None
    unit_id: str
    callsign: str
    unit_kind: str
    agency_id: str
    eta_seconds: int | None
    assigned_at: datetime
    acknowledged_at: datetime | None
    en_route_at: datetime | None
    on_scene_at: datetime | None
    navigation_uri: str | None = Field(description="geo: URI (RFC 5870): opens the phone's navigation app.")
    map_url: str | None = Field(description="The destination on OpenStreetMap, with directions.")


class LocationIn(Incoming):
    lat: float = Field(ge=-90, le=90)
    lon: float = Field(ge=-180, le=180)
    accuracy_m: float | None = Field(None, ge=0, le=avl.MAX_ACCURACY_M)
    at: AwareDatetime | None = Field(None, description="When the fix was taken; default: now.")


class FiguresPublic(Outgoing):
    count: int
    p50_s: float | None
    p90_s: float | None


class GroupPublic(Outgoing):
    key: str | None
    label: str
    count: int
    to_acknowledge: FiguresPublic
    to_dispatch: FiguresPublic
    to_on_scene: FiguresPublic
    answerable: int
    answered_within_target: int
    answered_share: float | None
    meets_target: bool | None


class KpiPublic(Outgoing):
    group_by: kpis.GroupBy
    since: datetime
    until: datetime
    target_seconds: float
    target_share: float
    groups: list[GroupPublic]
    overall: GroupPublic


# --- routes -------------------------------------------------------------------------------


@router.get(
    "/alerts/{alert_id}/recommendations",
    response_model=RecommendationsPublic,
    summary="The best available units for an alert, by estimated travel time",
)
async def recommendations(
    alert_id: Id,
    principal: Dispatcher,
    platform: PlatformDep,
    limit: Annotated[int, Query(ge=1, le=20)] = 5,
) -> RecommendationsPublic:
    def find() -> Recommendations:
        with platform.db.read() as conn:
            return recommend_for_alert(conn, principal, alert_id, live_index(platform.db), k=limit)

    found = await run_in_threadpool(find)
    return RecommendationsPublic(
        alert_id=alert_id,
        alert_type=found.scene.type.value,
        router=found.router,
        routing_fallback=found.routing_fallback,
        units=[
            RecommendedUnit(
                unit_id=r.unit.id,
                callsign=r.unit.callsign,
                kind=r.unit.kind,
                agency_id=r.unit.agency_id,
                agency_name=r.agency_name,
                need=r.need,
                lat=r.unit.lat,
                lon=r.unit.lon,
                distance_m=round(r.distance_m, 1),
                eta_seconds=round(r.eta_seconds, 1),
                eta_source=r.eta_source,
                location_at=r.unit.location_at,
                location_age_seconds=round(r.location_age_seconds, 1),
                freshness=r.freshness,
            )
            for r in found.units
        ],
    )


@router.post(
    "/alerts/{alert_id}/dispatch",
    response_model=AssignmentPublic,
    status_code=status.HTTP_201_CREATED,
    summary="Dispatch a unit to an alert",
)
async def dispatch_unit(
    alert_id: Id, body: DispatchIn, principal: Dispatcher, platform: PlatformDep
) -> AssignmentPublic:
    def send() -> dispatch.Assignment:
        with platform.db.write() as conn:
            return dispatch.dispatch(conn, principal, alert_id, body.unit_id, redispatch=body.redispatch)

    assignment = await run_in_threadpool(send)
    platform.relay.notify()
    return AssignmentPublic.model_validate(assignment)


@router.post(
    "/assignments/{assignment_id}/status",
    response_model=AssignmentPublic,
    summary="Report an assignment's progress (responder) or stand the unit down (operator)",
)
async def assignment_status(
    assignment_id: Id,
    body: AssignmentStatusIn,
    principal: Annotated[Principal, Depends(require(Action.ME_READ))],
    platform: PlatformDep,
) -> AssignmentPublic:
    def move() -> dispatch.Assignment:
        with platform.db.write() as conn:
            return dispatch.move_assignment(conn, principal, assignment_id, body.status, body.outcome)

    assignment = await run_in_threadpool(move)
    platform.relay.notify()
    return AssignmentPublic.model_validate(assignment)


@router.get(
    "/assignments",
    response_model=list[AssignmentBoardItem],
    summary="Open assignments: mine=true for the caller's own agency's units",
)
async def assignment_board(
    principal: UnitReader,
    platform: PlatformDep,
    mine: Annotated[bool, Query(description="Only assignments of my agency's units.")] = False,
    unit_id: Annotated[str | None, Query(max_length=36, description="Only this unit's.")] = None,
) -> list[AssignmentBoardItem]:
    def read() -> list[AssignmentView]:
        with platform.db.read() as conn:
            return dispatch.list_assignments(conn, principal, mine=mine, unit_id=unit_id)

    return [_board_item(view) for view in await run_in_threadpool(read)]


def _board_item(view: AssignmentView) -> AssignmentBoardItem:
    links: dict[str, str | None] = {"navigation_uri": None, "map_url": None}
    if view.lat is not None and view.lon is not None:
        where = f"{view.lat:.6f},{view.lon:.6f}"
        links["navigation_uri"] = f"geo:{where}"
        links["map_url"] = f"https://www.openstreetmap.org/directions?route=%3B{where.replace(',', '%2C')}"
    return AssignmentBoardItem.model_validate({**asdict(view), **links})


@router.post(
    "/units/{unit_id}/location",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Report a unit's position (older reports than the stored one are ignored)",
)
async def unit_location(
    unit_id: Id, body: LocationIn, principal: UnitUpdater, platform: PlatformDep
) -> Response:
    def report() -> None:
        with platform.db.write() as conn:
            avl.report_location_as(
                conn,
                principal,
                unit_id,
                body.lat,
                body.lon,
                body.accuracy_m,
                body.at,
                gazetteer=platform.gazetteer,
            )

    await run_in_threadpool(report)
    platform.relay.notify()
    return Response(status_code=status.HTTP_204_NO_CONTENT)


Since = Annotated[datetime | None, Query(description="Start (inclusive); default: 30 days before `until`.")]
Until = Annotated[datetime | None, Query(description="End (exclusive); default: now.")]
GroupByQuery = Annotated[kpis.GroupBy, Query()]


def _report(
    platform: PlatformDep,
    principal: Principal,
    since: datetime | None,
    until: datetime | None,
    by: kpis.GroupBy,
) -> kpis.KpiReport:
    now = SystemClock().now()
    end = as_utc(until) if until else now
    start = as_utc(since) if since else end - timedelta(days=30)
    with platform.db.read() as conn:
        return kpis.response_times(conn, principal, since=start, until=end, group_by=by, now=now)


@router.get("/kpis", response_model=KpiPublic, summary="Response times per station, municipality or partner")
async def kpi_figures(
    principal: KpiReader,
    platform: PlatformDep,
    since: Since = None,
    until: Until = None,
    group_by: GroupByQuery = kpis.GroupBy.STATION,
) -> KpiPublic:
    report = await run_in_threadpool(_report, platform, principal, since, until, group_by)
    return KpiPublic.model_validate(report)


class HourPublic(Outgoing):
    hour: datetime
    alerts: int


class HourlyPublic(Outgoing):
    since: datetime
    until: datetime
    hours: list[HourPublic]


@router.get("/kpis/hourly", response_model=HourlyPublic, summary="Alerts raised per hour")
async def kpi_hourly(
    principal: KpiReader, platform: PlatformDep, since: Since = None, until: Until = None
) -> HourlyPublic:
    end = as_utc(until) if until else SystemClock().now()
    start = as_utc(since) if since else end - timedelta(days=7)

    def read() -> list[tuple[datetime, int]]:
        with platform.db.read() as conn:
            return kpis.alerts_per_hour(conn, principal, since=start, until=end)

    hours = await run_in_threadpool(read)
    return HourlyPublic(since=start, until=end, hours=[HourPublic(hour=h, alerts=n) for h, n in hours])


@router.get(
    "/kpis.csv",
    summary="Response times as CSV",
    response_class=Response,
    responses={200: {"content": {"text/csv": {}}}},
)
async def kpi_csv(
    principal: KpiReader,
    platform: PlatformDep,
    since: Since = None,
    until: Until = None,
    group_by: GroupByQuery = kpis.GroupBy.STATION,
) -> Response:
    report = await run_in_threadpool(_report, platform, principal, since, until, group_by)
    name = f"khusela-response-times-{group_by.value}-{report.since:%Y%m%d}-{report.until:%Y%m%d}.csv"
    return Response(
        kpis.to_csv(report),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )
