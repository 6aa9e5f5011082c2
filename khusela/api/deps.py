"""Named FastAPI dependencies: the platform, a database connection, the current user."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from khusela.bootstrap import Platform
from khusela.core.errors import AuthenticationFailed, Forbidden
from khusela.identity.model import Principal
from khusela.identity.policy import Action, can

_bearer = HTTPBearer(auto_error=False, description="Token from POST /api/auth/login")


async def get_platform(request: Request) -> Platform:
    platform: Platform = request.app.state.platform
    return platform


PlatformDep = Annotated[Platform, Depends(get_platform)]


BearerToken = Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]


async def current_principal(request: Request, platform: PlatformDep, credentials: BearerToken) -> Principal:
    if credentials is None or not credentials.credentials:
        raise AuthenticationFailed("sign in first: send Authorization: Bearer <token>")
    token = credentials.credentials
    principal = await platform.authenticator.authenticate(token)
    if principal is None:
        raise AuthenticationFailed("the token is unknown, expired or revoked")
    request.scope.setdefault("state", {})["user_id"] = principal.user_id
    return principal


CurrentUser = Annotated[Principal, Depends(current_principal)]


def require(action: Action) -> Callable[[Principal], Awaitable[Principal]]:
    """A dependency that lets through only callers whose roles grant `action`.

    Handlers open their own database connection (`with platform.db.read()`) inside their
    worker thread: a connection held by a dependency across the switch to the handler's
    thread can exhaust the pool under load and deadlock the server.
    """

    async def check(principal: CurrentUser) -> Principal:
        if not can(principal, action):
            raise Forbidden(f"your roles do not allow {action.value}")
        return principal

    return check
