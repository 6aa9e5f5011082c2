"""Anonymous tip routes (no sign-in) and the staff inbox.

The tip routes read no token and no header, store nothing about the caller (see
`partners.tips`), and are rate-limited in memory under an irreversible key
(`api.middleware.RateLimit.ANONYMOUS_PREFIXES`). Everything under ``/api/partners/tips`` is
anonymous; the staff inbox lives at ``/api/partners/inbox/tips``.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from fastapi.responses import JSONResponse

from khusela.api.deps import PlatformDep, require
from khusela.core.clock import SystemClock
from khusela.identity.model import Principal
from khusela.identity.policy import Action
from khusela.partners import tips
from khusela.partners.model import TipStatus
from khusela.partners.schemas import TipCodeOut, TipIn, TipMessageIn, TipPublicOut, TipReplyIn, TipStaffOut

router = APIRouter(prefix="/api/partners", tags=["partners: tips"])
Reader = Annotated[Principal, Depends(require(Action.PARTNERS_READ))]
Writer = Annotated[Principal, Depends(require(Action.PARTNERS_WRITE))]
_NO_STORE = {"Cache-Control": "no-store"}


@router.post("/tips", response_model=TipCodeOut, status_code=201, summary="Submit an anonymous tip")
def submit_tip(body: TipIn, platform: PlatformDep) -> JSONResponse:
    """No account, and nothing about you is kept: not your address, browser or device. The
    tracking code is shown once — keep it to read replies and add information."""
    with platform.db.write() as conn:
        code = tips.submit(conn, **body.model_dump(), now=SystemClock().now())
    return JSONResponse({"tracking_code": code}, status_code=201, headers=_NO_STORE)


@router.get("/tips/{code}", response_model=TipPublicOut, summary="A tip's status and replies, by its code")
def read_tip(code: str, platform: PlatformDep) -> Any:
    with platform.db.read() as conn:
        return tips.read(conn, code)


@router.post(
    "/tips/{code}/messages", response_model=TipPublicOut, status_code=201, summary="Add information to a tip"
)
def add_tip_message(code: str, body: TipMessageIn, platform: PlatformDep) -> Any:
    with platform.db.write() as conn:
        return tips.add_message(conn, code, body.body, SystemClock().now())


@router.get("/inbox/tips", response_model=list[TipStaffOut], summary="Tips inbox (staff)")
def inbox(
    viewer: Reader,
    platform: PlatformDep,
    tip_status: Annotated[TipStatus | None, Query(alias="status")] = None,
) -> list[dict[str, Any]]:
    """Tips about places in the caller's jurisdiction (tips naming no place: oversight only)."""
    with platform.db.read() as conn:
        return tips.inbox(conn, viewer, tip_status)


@router.post(
    "/inbox/tips/{tip_id}/reply", response_model=TipStaffOut, summary="Reply to a tip and/or set its status"
)
def reply(tip_id: str, body: TipReplyIn, actor: Writer, platform: PlatformDep) -> dict[str, Any]:
    """The tipster reads the reply, signed with your agency's name (never yours)."""
    with platform.db.write() as conn:
        return tips.reply(conn, actor, tip_id, body.body, body.status, SystemClock().now())
