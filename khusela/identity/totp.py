"""Time-based one-time passwords (RFC 6238) for staff sign-in."""

from __future__ import annotations

import pyotp

ISSUER = "Khusela"


def new_secret() -> str:
    return str(pyotp.random_base32())


def provisioning_uri(secret: str, username: str) -> str:
    """The otpauth:// URI an authenticator app scans (shown as a QR code in the console)."""
    return str(pyotp.TOTP(secret).provisioning_uri(name=username, issuer_name=ISSUER))


def current_code(secret: str) -> str:
    return str(pyotp.TOTP(secret).now())


def verify_code(secret: str, code: str) -> bool:
    """Accept the current code and one step either side, for phone clocks that drift."""
    return bool(pyotp.TOTP(secret).verify(code.strip(), valid_window=1))
