"""Named FastAPI dependencies: the platform, a database connection, the current user."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import Depends, Query, Request
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


async def streaming_principal(
    request: Request,
    platform: PlatformDep,
    credentials: BearerToken,
    access_token: Annotated[
        str | None, Query(description="The token, for EventSource and <img> clients that cannot send headers")
    ] = None,
) -> tuple[Principal, str]:
    """The caller of a long-lived stream (SSE feed, MJPEG live view) and their token.

    Browsers' `EventSource` and `<img>` cannot send headers, so the token may come as
    `?access_token=`; the access log records route templates, never query strings."""
    token = credentials.credentials if credentials is not None and credentials.credentials else access_token
    if not token:
        raise AuthenticationFailed("sign in first: send Authorization: Bearer <token> or ?access_token=")
    principal = await platform.authenticator.authenticate(token)
    if principal is None:
        raise AuthenticationFailed("the token is unknown, expired or revoked")
    request.scope.setdefault("state", {})["user_id"] = principal.user_id
    return principal, token


StreamCaller = Annotated[tuple[Principal, str], Depends(streaming_principal)]


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
