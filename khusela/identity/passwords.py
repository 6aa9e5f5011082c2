"""Password hashing with argon2id at RFC 9106's low-memory profile (argon2-cffi's default).

The work factors are named here rather than left to the library's defaults, so that an
upgrade of argon2-cffi cannot silently change what production pays per sign-in. `use_profile`
changes them for the whole process; only the test suite does that, because half a second
per hash, paid for every user it creates and every sign-in, would cost minutes. Each hash
records its own parameters, so hashes made under one profile verify under any other.
"""

from __future__ import annotations

from argon2 import Parameters, PasswordHasher, profiles
from argon2.exceptions import InvalidHashError, VerificationError

PRODUCTION_PROFILE: Parameters = profiles.RFC_9106_LOW_MEMORY

MIN_LENGTH = 10


class _Hashing:
    """The process's hasher, and the stand-in hash that unknown users are checked against."""

    def __init__(self, parameters: Parameters) -> None:
        self.use(parameters)

    def use(self, parameters: Parameters) -> None:
        self.profile = parameters
        self.hasher = PasswordHasher.from_parameters(parameters)
        self.stand_in = self.hasher.hash("an unused secret that makes unknown users cost the same")


_current = _Hashing(PRODUCTION_PROFILE)


def use_profile(parameters: Parameters) -> None:
    """Hash from now on with `parameters`; the stand-in hash follows, so that signing in as
    an unknown user keeps costing the same as signing in as a known one."""
    _current.use(parameters)


def current_profile() -> Parameters:
    """The work factors new hashes are made with."""
    return _current.profile


def hash_password(password: str) -> str:
    if len(password) < MIN_LENGTH:
        raise ValueError(f"password must be at least {MIN_LENGTH} characters")
    return _current.hasher.hash(password)


def hash_pin(pin: str) -> str:
    """PINs are short, so they get the same slow hash as passwords; guessing is limited by
    the caller (a wrong PIN is audited)."""
    if not (pin.isdigit() and 4 <= len(pin) <= 8):
        raise ValueError("a PIN is 4 to 8 digits")
    return _current.hasher.hash(pin)


def verify_password(stored: str | None, password: str) -> bool:
    """Constant-ish time whether or not the user exists, so timing does not reveal accounts."""
    try:
        return _current.hasher.verify(stored or _current.stand_in, password) and stored is not None
    except (VerificationError, InvalidHashError):
        return False
