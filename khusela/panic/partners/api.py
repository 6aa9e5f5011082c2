"""Partner-link routes: register a partner's webhook (admin), offer an alert to a partner
(operator), and the partners' own signed status reports (see `link` for the format)."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime
from typing import Annotated

import structlog
from fastapi import APIRouter, Depends, Request, status
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError

from khusela.api.deps import PlatformDep, require
from khusela.bootstrap import Platform
from khusela.core.errors import AuthenticationFailed
from khusela.core.sealed import Sealer, SealError, sealer
from khusela.core.settings import Environment
from khusela.identity.model import Principal
from khusela.identity.policy import Action
from khusela.panic.partners import updates
from khusela.panic.partners.delivery import PartnerDelivery
from khusela.panic.partners.link import (
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    BadSignature,
    PartnerStatus,
    verify,
)
from khusela.panic.partners.repository import PartnerLink, PartnerRepository
from khusela.panic.partners.schemas import (
    OfferIn,
    OfferOut,
    PartnerLinkCreated,
    PartnerLinkIn,
    PartnerLinkOut,
    PartnerUpdateIn,
    PartnerUpdateOut,
)
from khusela.panic.partners.tables import SEALED

log = structlog.get_logger(__name__)
router = APIRouter(prefix="/api/panic", tags=["panic"])
Admin = Annotated[Principal, Depends(require(Action.AGENCY_MANAGE))]
Dispatcher = Annotated[Principal, Depends(require(Action.PANIC_DISPATCH))]


def _wake_delivery(platform: Platform) -> None:
    platform.relay.notify()
    for service in platform.background:
        if isinstance(service, PartnerDelivery):
            service.wake()


@router.put(
    "/partners/{agency_id}/link",
    response_model=PartnerLinkCreated,
    summary="Register or replace a partner's webhook and shared secret",
)
def put_link(agency_id: str, body: PartnerLinkIn, admin: Admin, platform: PlatformDep) -> PartnerLinkCreated:
    secret = body.secret or secrets.token_urlsafe(32)
    production = platform.settings.environment is Environment.PRODUCTION
    with platform.db.write() as conn:
        link = updates.set_link(
            conn,
            admin,
            agency_id,
            body.url,
            secret,
            body.active,
            datetime.now(UTC),
            require_https=production,
            sealer=_sealer(platform),
        )
    return PartnerLinkCreated(
        agency_id=link.agency_id,
        agency_name=link.agency_name,
        url=link.url,
        active=link.active,
        secret=secret,
    )


@router.get("/partners", response_model=list[PartnerLinkOut], summary="Partner links (no secrets)")
def list_links(admin: Admin, platform: PlatformDep) -> list[PartnerLinkOut]:
    with platform.db.read() as conn:
        links = PartnerRepository(conn).links()
    return [
        PartnerLinkOut(agency_id=k.agency_id, agency_name=k.agency_name, url=k.url, active=k.active)
        for k in links
    ]


@router.post(
    "/alerts/{alert_id}/offer",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=OfferOut,
    summary="Offer the alert to a private security or EMS partner (sent over its webhook)",
)
def offer_alert(alert_id: str, body: OfferIn, operator: Dispatcher, platform: PlatformDep) -> OfferOut:
    with platform.db.write() as conn:
        made = updates.offer(conn, operator, alert_id, body.agency_id, datetime.now(UTC))
    _wake_delivery(platform)
    return OfferOut(alert_id=made.alert_id, agency_id=made.agency_id, status=made.status.value)


def _sealer(platform: Platform) -> Sealer:
    return sealer(platform.settings.secret_key, SEALED)


def _shared_secret(platform: Platform, link: PartnerLink) -> str:
    """The link's secret, opened; a secret that does not open (the server secret was
    changed) refuses the message like a wrong signature, with a log line for the operator."""
    try:
        return _sealer(platform).open(link.sealed_secret, link.agency_id)
    except SealError as exc:
        log.error("partner_link.secret_unreadable", agency=link.agency_id, reason=str(exc))
        raise AuthenticationFailed("the message is not signed by a known partner") from None


def _find_link(platform: Platform, agency_id: str) -> PartnerLink | None:
    with platform.db.read() as conn:
        return PartnerRepository(conn).link(agency_id)


def _apply(
    platform: Platform, agency_id: str, report: updates.PartnerReport, now: datetime
) -> PartnerUpdateOut:
    with platform.db.write() as conn:
        offer, alert = updates.report(conn, agency_id, report, now)
    return PartnerUpdateOut(alert_id=offer.alert_id, status=offer.status.value, alert_status=alert["status"])


@router.post(
    "/partners/{agency_id}/updates",
    response_model=PartnerUpdateOut,
    summary="A partner's signed report: accepted, rejected, dispatched, on scene or closed",
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": PartnerUpdateIn.model_json_schema()}},
        },
        "parameters": [
            {"name": TIMESTAMP_HEADER, "in": "header", "required": True, "schema": {"type": "string"}},
            {"name": SIGNATURE_HEADER, "in": "header", "required": True, "schema": {"type": "string"}},
        ],
    },
)
async def partner_update(agency_id: str, request: Request, platform: PlatformDep) -> PartnerUpdateOut:
    """Authenticated by the HMAC signature alone (no bearer token): the raw body is checked
    before it is parsed."""
    body = await request.body()
    now = datetime.now(UTC)
    link = await run_in_threadpool(_find_link, platform, agency_id)
    if link is None or not link.active:
        raise AuthenticationFailed("the message is not signed by a known partner")
    secret = _shared_secret(platform, link)
    try:
        verify(
            secret,
            body,
            request.headers.get(TIMESTAMP_HEADER),
            request.headers.get(SIGNATURE_HEADER),
            now,
        )
    except BadSignature as exc:
        raise AuthenticationFailed(str(exc)) from None
    try:
        update = PartnerUpdateIn.model_validate_json(body)
    except ValidationError as exc:
        raise RequestValidationError(exc.errors()) from None
    report = updates.PartnerReport(
        alert_id=update.alert_id,
        status=PartnerStatus(update.status),
        at=update.at,
        unit_ref=update.unit_ref,
        eta_seconds=update.eta_seconds,
        outcome=update.outcome,
        reason=update.reason,
    )
    out = await run_in_threadpool(_apply, platform, agency_id, report, now)
    _wake_delivery(platform)
    return out
