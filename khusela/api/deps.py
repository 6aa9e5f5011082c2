"""Named FastAPI dependencies: the platform, a database connection, the current user."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy import Connection
from starlette.concurrency import run_in_threadpool

from khusela.bootstrap import Platform
from khusela.core.errors import AuthenticationFailed, Forbidden
from khusela.identity.model import Principal
from khusela.identity.policy import Action, can

_bearer = HTTPBearer(auto_error=False, description="Token from POST /api/auth/login")


def get_platform(request: Request) -> Platform:
    platform: Platform = request.app.state.platform
    return platform


PlatformDep = Annotated[Platform, Depends(get_platform)]


def read_conn(platform: PlatformDep) -> Iterator[Connection]:
    with platform.db.read() as conn:
        yield conn


ReadConn = Annotated[Connection, Depends(read_conn)]

BearerToken = Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]


async def current_principal(request: Request, platform: PlatformDep, credentials: BearerToken) -> Principal:
    if credentials is None or not credentials.credentials:
        raise AuthenticationFailed("sign in first: send Authorization: Bearer <token>")
    token = credentials.credentials
    principal = platform.authenticator.cached(token)
    if principal is None:
        principal = await run_in_threadpool(platform.authenticator.resolve, token)
    if principal is None:
        raise AuthenticationFailed("the token is unknown, expired or revoked")
    request.scope.setdefault("state", {})["user_id"] = principal.user_id
    return principal


CurrentUser = Annotated[Principal, Depends(current_principal)]


def require(action: Action) -> Callable[[Principal], Principal]:
    """A dependency that lets through only callers whose roles grant `action`."""

    def check(principal: CurrentUser) -> Principal:
        if not can(principal, action):
            raise Forbidden(f"your roles do not allow {action.value}")
        return principal

    return check
