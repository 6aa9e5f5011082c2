"""Community routes: community alerts (and their public CAP feed), the areas a person follows,
patrol areas, and patrol reports with their POPIA screening and photos."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.responses import StreamingResponse
from starlette.concurrency import run_in_threadpool

from khusela.api.deps import CurrentUser, PlatformDep, require
from khusela.core.clock import SystemClock
from khusela.core.errors import NotFound
from khusela.identity.model import Principal
from khusela.identity.policy import Action
from khusela.partners import cap_feed, community, delivery, media, patrols, screening
from khusela.partners.api import read_upload, store
from khusela.partners.community import AlertDraft
from khusela.partners.patrols import PatrolDraft
from khusela.partners.schemas import (
    CommunityAlertDetailOut,
    CommunityAlertIn,
    CommunityAlertOut,
    FindingOut,
    IssuedOut,
    PatrolAreaIn,
    PatrolIn,
    PatrolOut,
    ScreenIn,
    SubscriptionIn,
    SubscriptionOut,
)

router = APIRouter(prefix="/api/partners", tags=["partners: community"])
Reader = Annotated[Principal, Depends(require(Action.PARTNERS_READ))]
Writer = Annotated[Principal, Depends(require(Action.PARTNERS_WRITE))]
Community = Annotated[Principal, Depends(require(Action.COMMUNITY_READ))]
_CAP: dict[int | str, dict[str, Any]] = {
    200: {"content": {"application/cap+xml": {"schema": {"type": "string"}}}}
}
_ATOM: dict[int | str, dict[str, Any]] = {
    200: {"content": {"application/atom+xml": {"schema": {"type": "string"}}}}
}


FEED_LIMIT = 2000
"""Community alerts in force listed by the public feed; far above what a province issues."""


def _now() -> Any:
    return SystemClock().now()


# --- community alerts ------------------------------------------------------------------------


@router.post(
    "/community-alerts", response_model=IssuedOut, status_code=201, summary="Broadcast a community alert"
)
def issue_alert(body: CommunityAlertIn, actor: Writer, platform: PlatformDep) -> dict[str, Any]:
    """Published in the CAP feed at once; texts and pushes to everyone following the area
    (residents' subscriptions, and CPF / neighbourhood-watch members whose patrol area it
    touches) go out in the background: GET the alert for how many were told so far."""
    draft = AlertDraft(
        **body.model_dump(exclude={"cells", "valid_hours"}),
        cells=tuple(body.cells),
        valid_for=timedelta(hours=body.valid_hours),
    )
    with platform.db.write() as conn:
        alert = community.issue(conn, actor, draft, _now())
    platform.relay.notify()
    return {**alert, "delivery": "pending"}


@router.post(
    "/community-alerts/{alert_id}/cancel", response_model=IssuedOut, summary="Cancel a community alert"
)
def cancel_alert(alert_id: str, actor: Writer, platform: PlatformDep) -> dict[str, Any]:
    """Publishes a CAP Cancel at once; the same people are told in the background that the
    warning no longer stands."""
    with platform.db.write() as conn:
        alert = community.cancel(conn, actor, alert_id, _now())
    platform.relay.notify()
    return {**alert, "delivery": "pending"}


@router.get("/community-alerts", response_model=list[CommunityAlertOut], summary="Community alerts in force")
def list_alerts(
    viewer: CurrentUser, platform: PlatformDep, include_expired: bool = False
) -> list[dict[str, Any]]:
    """Any signed-in person (community alerts are public warnings)."""
    with platform.db.read() as conn:
        return community.recent(conn, _now(), include_expired)


@router.get(
    "/community-alerts.cap",
    response_class=Response,
    responses=_ATOM,
    summary="Public feed of community alerts in force: Atom with each CAP 1.2 message inline",
)
def cap_feed_route(request: Request, platform: PlatformDep) -> Response:
    """No sign-in: community alerts are public (CAP scope Public), meant for alert hubs and apps.
    Every alert in force is listed (an aggregator must not miss a warning because newer ones
    pushed it out), up to `FEED_LIMIT`."""
    with platform.db.read() as conn:
        alerts = community.recent(conn, _now(), limit=FEED_LIMIT)
    body = cap_feed.feed(alerts, str(request.url_for("cap_feed_route")), _now())
    return Response(body, media_type="application/atom+xml")


@router.get(
    "/community-alerts/{alert_id}.cap",
    response_class=Response,
    responses=_CAP,
    summary="One community alert as a CAP 1.2 message",
)
def cap_one(alert_id: str, platform: PlatformDep) -> Response:
    with platform.db.read() as conn:
        alert = community.get(conn, alert_id)
    return Response(cap_feed.render(alert), media_type="application/cap+xml")


@router.get(
    "/community-alerts/{alert_id}",
    response_model=CommunityAlertDetailOut,
    summary="One community alert, with how many people were told about its current version",
)
def get_alert(alert_id: str, viewer: CurrentUser, platform: PlatformDep) -> dict[str, Any]:
    """Any signed-in person, like the list: the counts are totals, never who was told.
    Declared after `{alert_id}.cap` so that route keeps its path."""
    with platform.db.read() as conn:
        alert = community.get(conn, alert_id)
        return {**alert, **delivery.progress(conn, alert)}


# --- following areas -------------------------------------------------------------------------


@router.get("/subscriptions", response_model=list[SubscriptionOut], summary="The areas I follow")
def my_subscriptions(person: CurrentUser, platform: PlatformDep) -> list[dict[str, Any]]:
    with platform.db.read() as conn:
        return community.subscriptions(conn, person)


@router.post(
    "/subscriptions", response_model=list[SubscriptionOut], status_code=201, summary="Follow an area"
)
def subscribe(body: SubscriptionIn, person: CurrentUser, platform: PlatformDep) -> list[dict[str, Any]]:
    """An H3 cell (kept at resolution 7, ~5 km²: a finer cell is stored as its parent) or a municipality."""
    with platform.db.write() as conn:
        return community.subscribe(conn, person, body.kind, body.value, _now())


@router.delete("/subscriptions/{subscription_id}", status_code=204, summary="Stop following an area")
def unsubscribe(subscription_id: int, person: CurrentUser, platform: PlatformDep) -> Response:
    with platform.db.write() as conn:
        community.unsubscribe(conn, person, subscription_id)
    return Response(status_code=204)


@router.get(
    "/groups/{agency_id}/patrol-area", response_model=list[str], summary="A community group's patrol area"
)
def get_patrol_area(agency_id: str, viewer: Community, platform: PlatformDep) -> list[str]:
    with platform.db.read() as conn:
        return community.patrol_area(conn, agency_id)


@router.put(
    "/groups/{agency_id}/patrol-area", response_model=list[str], summary="Set a community group's patrol area"
)
def put_patrol_area(agency_id: str, body: PatrolAreaIn, actor: Writer, platform: PlatformDep) -> list[str]:
    with platform.db.write() as conn:
        return community.set_patrol_area(conn, actor, agency_id, body.cells)


# --- patrol reports --------------------------------------------------------------------------


@router.post(
    "/patrols/screen", response_model=list[FindingOut], summary="Check text for personal information"
)
def screen(body: ScreenIn, actor: Writer) -> list[dict[str, Any]]:
    """ID numbers and phone numbers of other people, flagged before a report is submitted."""
    return [
        {"kind": f.kind.value, "start": f.start, "end": f.end, "masked": f.masked}
        for f in screening.screen(body.text)
    ]


@router.post("/patrols", response_model=PatrolOut, status_code=201, summary="Submit a patrol report")
def submit_patrol(body: PatrolIn, actor: Writer, platform: PlatformDep) -> dict[str, Any]:
    """Refused with 422 while the observations hold flagged personal information, until it is
    edited out or `confirm_personal_information` is set."""
    with platform.db.write() as conn:
        return patrols.submit(conn, actor, PatrolDraft(**body.model_dump()), platform.gazetteer, _now())


@router.get("/patrols", response_model=list[PatrolOut], summary="Patrol reports the caller may see")
def list_patrols(
    viewer: Reader, platform: PlatformDep, agency_id: Annotated[str | None, Query(max_length=36)] = None
) -> list[dict[str, Any]]:
    with platform.db.read() as conn:
        return patrols.list_reports(conn, viewer, agency_id)


@router.get("/patrols/{report_id}", response_model=PatrolOut, summary="One patrol report")
def get_patrol(report_id: str, viewer: Reader, platform: PlatformDep) -> dict[str, Any]:
    with platform.db.read() as conn:
        return patrols.get(conn, viewer, report_id)


@router.post(
    "/patrols/{report_id}/photos",
    response_model=PatrolOut,
    status_code=201,
    summary="Add a photo (JPEG, PNG or WebP; write-once)",
    openapi_extra={
        "requestBody": {"content": {"image/jpeg": {"schema": {"type": "string", "format": "binary"}}}}
    },
)
async def add_photo(report_id: str, request: Request, actor: Writer, platform: PlatformDep) -> dict[str, Any]:
    body, content_type = await read_upload(request, media.PHOTO_TYPES, media.MAX_PHOTO_BYTES)

    def write() -> dict[str, Any]:
        with platform.db.read() as conn:
            patrols.get(conn, actor, report_id)
        stored = store(platform, body)
        with platform.db.write() as conn:
            return patrols.add_photo(conn, actor, report_id, stored.sha256, content_type, stored.size, _now())

    return await run_in_threadpool(write)


@router.get(
    "/patrols/{report_id}/photos/{sha256}",
    response_class=StreamingResponse,
    responses={200: {"content": {"image/jpeg": {}}}},
    summary="A patrol photo (verified against its SHA-256)",
)
def get_photo(report_id: str, sha256: str, viewer: Reader, platform: PlatformDep) -> StreamingResponse:
    with platform.db.read() as conn:
        content_type = patrols.photo_of(conn, viewer, report_id, sha256)
    store_ = media.partners_store(platform.settings.data_dir)
    if not store_.exists(sha256):
        raise NotFound("the photo is missing from the store")
    return StreamingResponse(store_.chunks(sha256), media_type=content_type)
