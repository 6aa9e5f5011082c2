"""Identity's routes: sign in and out, who am I, agencies and users."""

from __future__ import annotations

from typing import Annotated

import segno
from fastapi import APIRouter, Depends, Query, Request, Response, status
from starlette.concurrency import run_in_threadpool

from khusela.api.deps import CurrentUser, PlatformDep, require
from khusela.bootstrap import Platform
from khusela.identity import directory, sessions
from khusela.identity.model import Clearance, Jurisdiction, Principal
from khusela.identity.policy import GRANTS, Action
from khusela.identity.schemas import (
    AgencyCreate,
    AgencyPublic,
    AgencyRef,
    LoginIn,
    MeOut,
    ResidentCodeIn,
    ResidentTokenIn,
    TokenOut,
    UserCreate,
    UserCreated,
    UserPublic,
)

router = APIRouter(prefix="/api", tags=["identity"])


def _login(platform: Platform, body: LoginIn) -> sessions.IssuedToken:
    failure: sessions.LoginFailure | None = None
    with platform.db.write() as conn:
        try:
            issued = sessions.login(conn, body.username, body.password, body.totp, platform.login_policy)
        except sessions.LoginFailure as exc:
            failure = exc
    if failure is not None:  # raised only now, so the failed attempt was committed
        raise failure.error
    return issued


@router.post("/auth/login", response_model=TokenOut, summary="Sign in with password (and TOTP)")
async def login(body: LoginIn, platform: PlatformDep) -> TokenOut:
    issued = await run_in_threadpool(_login, platform, body)
    return TokenOut(access_token=issued.access_token, expires_at=issued.expires_at)


@router.post("/auth/logout", status_code=status.HTTP_204_NO_CONTENT, summary="Revoke this token")
async def logout(request: Request, principal: CurrentUser, platform: PlatformDep) -> Response:
    token = request.headers["authorization"][7:].strip()

    def revoke() -> None:
        with platform.db.write() as conn:
            sessions.logout(conn, token, principal, platform.login_policy.pepper)

    await run_in_threadpool(revoke)
    platform.authenticator.forget(token)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post(
    "/auth/resident/code",
    status_code=status.HTTP_202_ACCEPTED,
    summary="Text a one-time sign-in code to a resident's phone",
)
async def resident_code(body: ResidentCodeIn, platform: PlatformDep) -> dict[str, str]:
    def send() -> None:
        with platform.db.write() as conn:
            sessions.request_resident_code(conn, body.phone, platform.sms)

    await run_in_threadpool(send)
    return {"status": "if the number is registered, a code is on its way"}


@router.post("/auth/resident/token", response_model=TokenOut, summary="Exchange a one-time code for a token")
async def resident_token(body: ResidentTokenIn, platform: PlatformDep) -> TokenOut:
    def exchange() -> sessions.IssuedToken:
        failure: sessions.LoginFailure | None = None
        with platform.db.write() as conn:
            try:
                return sessions.verify_resident_code(conn, body.phone, body.code, platform.login_policy)
            except sessions.LoginFailure as exc:
                failure = exc
        assert failure is not None
        raise failure.error

    issued = await run_in_threadpool(exchange)
    return TokenOut(access_token=issued.access_token, expires_at=issued.expires_at)


def _permissions(principal: Principal) -> list[str]:
    return sorted({a.value for role in principal.roles for a in GRANTS[role]})


@router.get("/me", response_model=MeOut, summary="The signed-in user")
async def me(principal: CurrentUser) -> MeOut:
    return MeOut(
        id=principal.user_id,
        username=principal.username,
        roles=sorted(principal.roles),
        clearance=principal.clearance.label,
        agency=AgencyRef(id=principal.agency_id, name=principal.agency_name, type=principal.agency_type)
        if principal.agency_id and principal.agency_type and principal.agency_name
        else None,
        sharing_groups=sorted(principal.sharing_groups),
        permissions=_permissions(principal),
    )


@router.get("/agencies", response_model=list[AgencyPublic], summary="Agencies")
def list_agencies(
    principal: Annotated[Principal, Depends(require(Action.AGENCY_READ))], platform: PlatformDep
) -> list[AgencyPublic]:
    with platform.db.read() as conn:
        return [AgencyPublic.model_validate(a) for a in directory.list_agencies(conn, principal)]


@router.post("/agencies", response_model=AgencyPublic, status_code=201, summary="Create an agency")
def create_agency(
    body: AgencyCreate,
    principal: Annotated[Principal, Depends(require(Action.AGENCY_MANAGE))],
    platform: PlatformDep,
) -> AgencyPublic:
    where = Jurisdiction(
        frozenset(body.jurisdiction.provinces),
        frozenset(body.jurisdiction.municipalities),
        frozenset(body.jurisdiction.cells),
    )
    with platform.db.write() as conn:
        agency = directory.create_agency(conn, principal, body.name, body.type, where)
    return AgencyPublic(
        id=agency.id,
        name=agency.name,
        type=agency.type,
        provinces=sorted(where.provinces),
        municipalities=sorted(where.municipalities),
        cell_count=len(where.cells),
    )


@router.get("/users", response_model=list[UserPublic], summary="Users")
def list_users(
    principal: Annotated[Principal, Depends(require(Action.USER_READ))],
    platform: PlatformDep,
    agency_id: Annotated[str | None, Query(max_length=36)] = None,
) -> list[UserPublic]:
    with platform.db.read() as conn:
        rows = directory.list_users(conn, principal, agency_id)
    return [UserPublic.model_validate(u) for u in rows]


@router.post("/users", response_model=UserCreated, status_code=201, summary="Create a user")
def create_user(
    body: UserCreate,
    principal: Annotated[Principal, Depends(require(Action.USER_MANAGE))],
    platform: PlatformDep,
) -> UserCreated:
    with platform.db.write() as conn:
        created = directory.create_user(
            conn,
            principal,
            username=body.username,
            roles=body.roles,
            password=body.password,
            display_name=body.display_name,
            agency_id=body.agency_id,
            clearance=Clearance.parse(body.clearance),
            phone=body.phone,
            sealer=platform.login_policy.totp_sealer,
        )
    return UserCreated(
        id=created.user.user_id,
        username=created.user.username,
        totp_provisioning_uri=created.provisioning_uri,
        totp_qr_data_uri=_qr(created.provisioning_uri) if created.provisioning_uri else None,
    )


def _qr(uri: str) -> str:
    """The enrolment QR code, drawn here so the secret never goes to a third-party QR service."""
    return str(segno.make(uri, error="m").svg_data_uri(scale=5, dark="#000", light="#fff"))
