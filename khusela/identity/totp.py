"""Time-based one-time passwords (RFC 6238) for staff sign-in."""

from __future__ import annotations

import hmac
import time

import pyotp

from khusela.core.sealed import SealedColumn

ISSUER = "Khusela"
STEP_SECONDS = 30
SEALED = SealedColumn(purpose="totp", table="users", column="totp_secret")
"""Where TOTP secrets are stored, sealed (`khusela.core.sealed`): whoever reads the
database alone cannot mint codes. The row id is the user's id."""


def new_secret() -> str:
    return str(pyotp.random_base32())


def provisioning_uri(secret: str, username: str) -> str:
    """The otpauth:// URI an authenticator app scans (shown as a QR code in the console)."""
    return str(pyotp.TOTP(secret).provisioning_uri(name=username, issuer_name=ISSUER))


def current_code(secret: str) -> str:
    return str(pyotp.TOTP(secret).now())


def matching_step(secret: str, code: str, at: float | None = None) -> int | None:
    """The time step `code` belongs to (current, or one either side for drifting phone clocks).

    Callers refuse a step at or before the last one used, so an overheard code cannot be
    replayed within its validity window.
    """
    generator = pyotp.TOTP(secret)
    now = time.time() if at is None else at
    current = int(now // STEP_SECONDS)
    for step in (current, current - 1, current + 1):
        if hmac.compare_digest(str(generator.at(step * STEP_SECONDS)), code.strip()):
            return step
    return None
