"""Pure ASGI middleware (cheaper than `BaseHTTPMiddleware` on every request).

- `RequestContext`: request id, one JSON access-log line, Prometheus metrics;
- `BodyLimit`: refuses bodies over the limit with 413 before the app reads them;
- `RateLimit`: per-client limits (token when given, else client address).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import re
import time
import uuid
from collections.abc import Callable, Mapping
from typing import Any

import structlog
from prometheus_client import Counter, Histogram
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from khusela.api.ratelimit import MemoryRateLimiter, RateLimiter

log = structlog.get_logger("khusela.access")

REQUESTS = Counter("khusela_http_requests_total", "HTTP requests", ["method", "route", "status"])
LATENCY = Histogram(
    "khusela_http_request_seconds",
    "HTTP request latency",
    ["method", "route"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
)


async def _send_problem(
    send: Send,
    status: int,
    title: str,
    detail: str,
    headers: list[tuple[bytes, bytes]] | None = None,
) -> None:
    body = json.dumps({"type": "about:blank", "title": title, "status": status, "detail": detail}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/problem+json"),
                (b"content-length", str(len(body)).encode()),
                *(headers or []),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


class RequestContext:
    """Request ids, metrics, the access log and the browser-hardening headers.

    `image_origins` are hosts the pages may load images from besides their own (the
    console's tile server, when one is configured)."""

    def __init__(self, app: ASGIApp, image_origins: tuple[str, ...] = ()) -> None:
        self.app = app
        self.csp = _csp(image_origins)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = _header(scope, b"x-request-id") or uuid.uuid4().hex
        request_id = request_id[:64]
        scope.setdefault("state", {})["request_id"] = request_id
        status = 500
        started = time.perf_counter()

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message.setdefault("headers", [])
                message["headers"] = [
                    *message["headers"],
                    (b"x-request-id", request_id.encode()),
                    *_security_headers(scope["path"], self.csp),
                ]
            await send(message)

        structlog.contextvars.bind_contextvars(request_id=request_id)
        try:
            await self.app(scope, receive, send_with_id)
        finally:
            elapsed = time.perf_counter() - started
            route = scope.get("route")
            template = getattr(route, "path", "unmatched")
            LATENCY.labels(scope["method"], template).observe(elapsed)
            REQUESTS.labels(scope["method"], template, str(status)).inc()
            user = scope["state"].get("user_id")
            # Probes and scrapes arrive every few seconds; logging each would drown the rest.
            emit = log.debug if template in _QUIET_ROUTES else log.info
            emit(
                "http.request",
                method=scope["method"],
                route=template,
                status=status,
                ms=round(elapsed * 1000, 2),
                user_id=user,
            )
            structlog.contextvars.clear_contextvars()


_BASE_HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
]


def _csp(image_origins: tuple[str, ...]) -> tuple[bytes, bytes]:
    images = " ".join(("'self'", "data:", "blob:", *image_origins))
    policy = f"default-src 'self'; img-src {images}; frame-ancestors 'none'"
    return (b"content-security-policy", policy.encode())


def _security_headers(path: str, csp: tuple[bytes, bytes]) -> list[tuple[bytes, bytes]]:
    """Browser hardening. /docs is exempt from the CSP: FastAPI's Swagger page loads its own assets."""
    if path.startswith(("/docs", "/redoc")):
        return _BASE_HEADERS
    return [*_BASE_HEADERS, csp]


_QUIET_ROUTES = frozenset({"/healthz", "/readyz", "/metrics"})


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", ()):
        if key == name:
            return str(value.decode("latin-1"))
    return None


class BodyLimit:
    """Refuse bodies over `max_bytes` with 413, whether declared or streamed (chunked).

    The body is read here, up to the limit, and replayed to the app: a request that grows
    past the limit is refused before any handler sees a byte of it.
    """

    def __init__(
        self,
        app: ASGIApp,
        max_bytes: int,
        larger: Mapping[str, int] | None = None,
        streamed: tuple[str, ...] = (),
    ) -> None:
        self.app, self.max_bytes = app, max_bytes
        self.larger = [(re.compile(pattern), limit) for pattern, limit in (larger or {}).items()]
        """Paths (regular expressions, matched whole) allowed a larger body: a bulk CSV
        import. The body is still buffered, so these stay bounded."""
        self.streamed = [re.compile(pattern) for pattern in streamed]
        """Paths passed through unbuffered: their handler streams the body to disk and
        enforces its own limit as it reads (an evidence upload, gigabytes of CCTV export)."""

    def _limit(self, path: str) -> int:
        return next((limit for pattern, limit in self.larger if pattern.fullmatch(path)), self.max_bytes)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] != "http"
            or scope["method"] in ("GET", "HEAD", "OPTIONS", "DELETE")
            or any(pattern.fullmatch(scope["path"]) for pattern in self.streamed)
        ):
            await self.app(scope, receive, send)
            return
        limit = self._limit(scope["path"])
        declared = _header(scope, b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > limit):
            await self._refuse(send, limit)
            return
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                await self._refuse(send, limit)
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)

    async def _refuse(self, send: Send, limit: int) -> None:
        await _send_problem(send, 413, "Request too large", f"bodies are limited to {limit} bytes")


class RateLimit:
    """Per-client limits. A caller is known by its token only once the token proved valid
    (it is in the authenticator's cache); anything else counts against its address, so
    inventing a new token per request buys no fresh allowance."""

    EXEMPT = ("/healthz", "/readyz", "/metrics")
    # SMS/USSD gateways carry many callers behind one address: a distress call must never
    # meet a 429. Repeat presses per number join the open alert instead (panic.intake).
    EXEMPT_PREFIXES = ("/api/panic/channels/",)
    # A resident's press is never refused: many phones share one carrier address, and a
    # resident's repeat presses join the open alert anyway.
    PANIC_PRESS = "/api/panic/alerts"

    # Anonymous tips (khusela.partners.tips): the shared limiter would write the tipster's
    # address into Redis. These routes are counted in this process's memory instead, under a
    # keyed hash whose key is random per process and never stored, so no bucket name can be
    # turned back into an address, and every bucket is forgotten on restart.
    ANONYMOUS_PREFIXES = ("/api/partners/tips",)
    ANONYMOUS_PER_MINUTE = 20

    def __init__(self, app: ASGIApp, limiter: RateLimiter, known_token: Callable[[str], bool]) -> None:
        self.app, self.limiter, self.known_token = app, limiter, known_token
        self.anonymous = MemoryRateLimiter(self.ANONYMOUS_PER_MINUTE)
        self._anonymous_key = os.urandom(32)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] != "http"
            or scope["path"] in self.EXEMPT
            or scope["path"].startswith(self.EXEMPT_PREFIXES)
            or (scope["method"] == "POST" and scope["path"] == self.PANIC_PRESS)
        ):
            await self.app(scope, receive, send)
            return
        if scope["path"].startswith(self.ANONYMOUS_PREFIXES):
            allowed = await self.anonymous.allow(anonymous_key(scope, self._anonymous_key))
        else:
            allowed = await self.limiter.allow(client_key(scope, self.known_token))
        if not allowed:
            await _send_problem(
                send,
                429,
                "Too many requests",
                "slow down and retry later",
                [(b"retry-after", b"60")],
            )
            return
        await self.app(scope, receive, send)


def client_key(scope: Scope, known_token: Callable[[str], bool]) -> str:
    """The caller's token (hashed) when it is a known live token, otherwise its address."""
    auth = _header(scope, b"authorization")
    if auth and auth.lower().startswith("bearer "):
        token = auth[7:].strip()
        if known_token(token):
            return "t:" + hashlib.sha256(token.encode()).hexdigest()[:32]
    client: Any = scope.get("client")
    return "a:" + (str(client[0]) if client else "unknown")


def anonymous_key(scope: Scope, key: bytes) -> str:
    """A bucket name for an anonymous caller that cannot be reversed to its address."""
    client: Any = scope.get("client")
    address = str(client[0]) if client else "unknown"
    return "x:" + hmac.new(key, address.encode(), hashlib.sha256).hexdigest()[:32]
