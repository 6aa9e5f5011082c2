"""Routes that export one alert in a standard format: CAP 1.2 (XML) and EIDO-style JSON.

Only staff who work alerts (operators, responders) may export, and only alerts the access
policy lets them read (`queries.visible_alert`: 404 otherwise, never a hint). A resident
may not export even their own alert: the export shows whether a duress PIN was used.
Every export is audited, in the same transaction that read the alert.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Response

from khusela.api.deps import PlatformDep, require
from khusela.audit import log as audit
from khusela.bootstrap import Platform
from khusela.core.errors import Forbidden
from khusela.identity.model import Principal, Role
from khusela.identity.policy import Action
from khusela.panic import queries
from khusela.panic.exchange import cap, eido
from khusela.panic.exchange.view import load_view

router = APIRouter(prefix="/api/panic", tags=["panic"])
Reader = Annotated[Principal, Depends(require(Action.PANIC_READ))]


def _staff_only(viewer: Principal) -> None:
    if not viewer.has_role(Role.OPERATOR, Role.RESPONDER):
        raise Forbidden("alert exports are for operators and responders")


def sender_for(platform: Platform, alert: dict[str, Any]) -> str:
    """The CAP sender: the `cap_sender` setting when there is one, else khusela@<province>.gov.za."""
    configured = getattr(platform.settings, "cap_sender", None)
    return str(configured) if configured else cap.default_sender(alert.get("province"))


@router.get(
    "/alerts/{alert_id}/cap",
    response_class=Response,
    summary="The alert as a CAP 1.2 message (scope Restricted)",
    responses={200: {"content": {"application/xml": {"schema": {"type": "string"}}}}},
)
def export_cap(alert_id: str, viewer: Reader, platform: PlatformDep) -> Response:
    _staff_only(viewer)
    with platform.db.write() as conn:
        alert = queries.visible_alert(conn, viewer, alert_id)
        body = cap.render(alert, sender_for(platform, alert))
        audit.record(conn, viewer.username, "panic.export", "alert", alert_id, {"format": "cap-1.2"})
    return Response(content=body, media_type="application/xml")


@router.get(
    "/alerts/{alert_id}/eido",
    summary="The alert as an EIDO-style JSON incident",
    response_model=dict[str, Any],
)
def export_eido(alert_id: str, viewer: Reader, platform: PlatformDep) -> dict[str, Any]:
    _staff_only(viewer)
    with platform.db.write() as conn:
        alert = queries.visible_alert(conn, viewer, alert_id)
        view = load_view(conn, alert)
        audit.record(conn, viewer.username, "panic.export", "alert", alert_id, {"format": eido.PROFILE})
    return eido.build(view, eido.element_id_of(sender_for(platform, alert)))
