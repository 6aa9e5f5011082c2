"""Errors as RFC 9457 problem details (`application/problem+json`), never a traceback.

Validation errors name the field and the rule broken but never echo the value sent: it
may be a password or a phone number.
"""

from __future__ import annotations

from typing import Any

import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import JSONResponse

from khusela.core.errors import KhuselaError

log = structlog.get_logger(__name__)
PROBLEM = "application/problem+json"


def problem(status: int, title: str, detail: str = "", **extra: Any) -> JSONResponse:
    body: dict[str, Any] = {"type": "about:blank", "title": title, "status": status}
    if detail:
        body["detail"] = detail
    body.update(extra)
    headers = {"Retry-After": "60"} if status == 429 else None
    return JSONResponse(body, status_code=status, media_type=PROBLEM, headers=headers)


def _field_errors(exc: RequestValidationError) -> list[dict[str, Any]]:
    return [
        {
            "loc": [str(p) for p in err.get("loc", ())],
            "msg": err.get("msg", ""),
            "type": err.get("type", ""),
        }
        for err in exc.errors()
    ]


async def _validation(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = _field_errors(exc)
    if any(e["type"] == "json_invalid" for e in errors):
        return problem(400, "Malformed JSON", "the request body is not valid JSON", errors=errors)
    return problem(422, "Invalid input", "the request does not match the schema", errors=errors)


async def _http(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    response = problem(exc.status_code, _title(exc.status_code), str(exc.detail or ""))
    if exc.headers:
        response.headers.update(exc.headers)
    return response


async def _domain(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, KhuselaError)
    response = problem(exc.status, exc.title, exc.detail)
    if exc.status == 401:
        response.headers["WWW-Authenticate"] = "Bearer"
    return response


async def _unexpected(_request: Request, exc: Exception) -> JSONResponse:
    log.exception("api.unhandled_error", error_type=type(exc).__name__)
    return problem(500, "Internal error", "the server failed; the request id identifies it in the logs")


def _title(status: int) -> str:
    from http import HTTPStatus

    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


def install(app: FastAPI) -> None:
    app.add_exception_handler(RequestValidationError, _validation)
    app.add_exception_handler(StarletteHTTPException, _http)
    app.add_exception_handler(KhuselaError, _domain)
    app.add_exception_handler(Exception, _unexpected)
