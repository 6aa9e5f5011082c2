"""Panic routes for units: the map's unit list, registering units (administrators) and
crews signing on to a unit for their shift (responders)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Response, status
from starlette.concurrency import run_in_threadpool

from khusela.api.deps import PlatformDep, require
from khusela.core.errors import InvalidInput, NotFound
from khusela.identity import directory
from khusela.identity.model import Principal
from khusela.identity.policy import Action, Resource, can
from khusela.panic import crews
from khusela.panic.model import UnitStatus
from khusela.panic.schemas import CrewIn, CrewOut, UnitCreate, UnitPublic
from khusela.panic.units import Unit, list_units, register_unit

router = APIRouter(prefix="/api/panic", tags=["panic"])
UnitReader = Annotated[Principal, Depends(require(Action.UNIT_READ))]
UnitManager = Annotated[Principal, Depends(require(Action.UNIT_MANAGE))]
Crew = Annotated[Principal, Depends(require(Action.UNIT_UPDATE))]


@router.get("/units", response_model=list[UnitPublic], summary="Units the caller may see")
async def list_unit_positions(
    principal: UnitReader,
    platform: PlatformDep,
    unit_status: Annotated[UnitStatus | None, Query(alias="status")] = None,
) -> list[UnitPublic]:
    def read() -> list[Unit]:
        with platform.db.read() as conn:
            return list_units(conn, principal, unit_status)

    return [UnitPublic.model_validate(u) for u in await run_in_threadpool(read)]


@router.post(
    "/units", response_model=UnitPublic, status_code=status.HTTP_201_CREATED, summary="Register a unit"
)
async def create_unit(body: UnitCreate, principal: UnitManager, platform: PlatformDep) -> UnitPublic:
    place = platform.gazetteer.locate(body.lat, body.lon)

    def register() -> Unit:
        with platform.db.write() as conn:
            try:
                directory.get_agency(conn, body.agency_id)
            except NotFound:
                raise InvalidInput("agency_id names no agency") from None
            resource = Resource(
                agency_id=body.agency_id, province=place.province, municipality=place.municipality
            )
            if not can(principal, Action.UNIT_MANAGE, resource):
                raise NotFound("no such agency")
            return register_unit(
                conn,
                principal,
                agency_id=body.agency_id,
                callsign=body.callsign,
                kind=body.kind,
                lat=body.lat,
                lon=body.lon,
                province=place.province,
                municipality=place.municipality,
            )

    unit = await run_in_threadpool(register)
    return UnitPublic.model_validate(unit)


def _crew_out(crewing: crews.Crewing | None) -> CrewOut:
    if crewing is None:
        return CrewOut(unit=None, signed_on_at=None)
    return CrewOut(unit=UnitPublic.model_validate(crewing.unit), signed_on_at=crewing.signed_on_at)


@router.get("/crew", response_model=CrewOut, summary="The unit I crew this shift")
async def my_unit(principal: Crew, platform: PlatformDep) -> CrewOut:
    def read() -> crews.Crewing | None:
        with platform.db.read() as conn:
            return crews.current(conn, principal)

    return _crew_out(await run_in_threadpool(read))


@router.post("/crew", response_model=CrewOut, summary="Sign on to a unit for the shift")
async def sign_on(body: CrewIn, principal: Crew, platform: PlatformDep) -> CrewOut:
    def write() -> crews.Crewing:
        with platform.db.write() as conn:
            return crews.sign_on(conn, principal, body.unit_id)

    return _crew_out(await run_in_threadpool(write))


@router.delete("/crew", status_code=status.HTTP_204_NO_CONTENT, summary="Sign off the unit")
async def sign_off(principal: Crew, platform: PlatformDep) -> Response:
    def write() -> None:
        with platform.db.write() as conn:
            crews.sign_off(conn, principal)

    await run_in_threadpool(write)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
