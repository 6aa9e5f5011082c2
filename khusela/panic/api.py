"""Panic's routes."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query

from khusela.api.deps import PlatformDep, require
from khusela.api.schemas import Outgoing
from khusela.identity.model import Principal
from khusela.identity.policy import Action
from khusela.panic.model import UnitKind, UnitStatus
from khusela.panic.units import list_units

router = APIRouter(prefix="/api/panic", tags=["panic"])


class UnitPublic(Outgoing):
    id: str
    agency_id: str
    callsign: str
    kind: UnitKind
    status: UnitStatus
    lat: float | None
    lon: float | None
    municipality: str | None


@router.get("/units", response_model=list[UnitPublic], summary="Units the caller may see")
def units(
    principal: Annotated[Principal, Depends(require(Action.UNIT_READ))],
    platform: PlatformDep,
    status: Annotated[UnitStatus | None, Query()] = None,
) -> list[UnitPublic]:
    with platform.db.read() as conn:
        rows = list_units(conn, principal, status)
    return [UnitPublic.model_validate(u) for u in rows]
