"""Domain errors. Each maps to one HTTP status and one CLI message; none leaks internals."""

from __future__ import annotations


class KhuselaError(Exception):
    """Base of every error a user may be shown."""

    status = 400
    title = "Bad request"

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class InvalidInput(KhuselaError):
    status = 422
    title = "Invalid input"


class NotFound(KhuselaError):
    status = 404
    title = "Not found"


class Conflict(KhuselaError):
    status = 409
    title = "Conflict"


class AuthenticationFailed(KhuselaError):
    status = 401
    title = "Authentication failed"


class AccountLocked(KhuselaError):
    status = 423
    title = "Account locked"


class Forbidden(KhuselaError):
    status = 403
    title = "Forbidden"


class RateLimited(KhuselaError):
    status = 429
    title = "Too many requests"


class ServiceUnavailable(KhuselaError):
    status = 503
    title = "Service unavailable"
