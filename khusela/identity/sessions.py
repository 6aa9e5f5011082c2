"""Signing in and out: passwords with TOTP for staff, one-time SMS codes for residents.

Tokens are opaque random strings; only their HMAC (keyed with the server secret) is
stored, so neither a database leak nor a guessed hash hands out sessions. Five failed
attempts within 15 minutes lock an account for the rest of that window, whatever the
password; wrong SMS codes count towards the same lockout. A TOTP code is accepted once.
TOTP secrets are stored sealed under the server secret; one that does not open (the key
was changed) fails the sign-in, with a log line naming the user, never the secret.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

import structlog
from sqlalchemy import Connection, delete, func, insert, select, update

from khusela.audit import log as audit
from khusela.core.clock import Clock, SystemClock
from khusela.core.errors import AccountLocked, AuthenticationFailed, ServiceUnavailable
from khusela.core.sealed import Sealer, SealError, sealer
from khusela.identity import passwords, totp
from khusela.identity.directory import load_principal, normalise_phone
from khusela.identity.model import Principal, Role
from khusela.identity.ports import SmsSender
from khusela.identity.tables import access_tokens, login_attempts, one_time_codes, user_roles, users

log = structlog.get_logger(__name__)

MAX_FAILURES = 5
LOCKOUT_WINDOW = timedelta(minutes=15)
CODE_TTL = timedelta(minutes=5)
MAX_CODE_ATTEMPTS = 3
UNKNOWN_ACTOR = "unknown"
"""Audit actor for failed sign-ins with an unknown name: what was typed may be a password."""


@dataclass(frozen=True, slots=True)
class LoginPolicy:
    require_totp: bool = True
    token_ttl: timedelta = timedelta(hours=12)
    resident_token_ttl: timedelta = timedelta(days=30)
    pepper: str = "development-pepper"

    @property
    def totp_sealer(self) -> Sealer:
        """Opens (and seals) TOTP secrets: the pepper is the server secret, and the sealing
        key is derived from it for the "totp" purpose alone."""
        return sealer(self.pepper, totp.SEALED)


def token_digest(token: str, pepper: str) -> str:
    return hmac.new(pepper.encode(), token.encode(), hashlib.sha256).hexdigest()


def _code_digest(code: str) -> str:
    return hashlib.sha256(code.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class IssuedToken:
    access_token: str
    expires_at: datetime
    principal: Principal


class LoginFailure(Exception):
    """Raised after the failed attempt is recorded: the caller commits, then reports `error`."""

    def __init__(self, error: AuthenticationFailed | AccountLocked) -> None:
        self.error = error


def _failures(conn: Connection, username: str, now: datetime) -> int:
    """Failed attempts inside the window since the last success."""
    since = now - LOCKOUT_WINDOW
    last_ok = conn.execute(
        select(func.max(login_attempts.c.at)).where(
            login_attempts.c.username == username, login_attempts.c.success, login_attempts.c.at >= since
        )
    ).scalar()
    start = max(since, last_ok) if last_ok else since
    count = conn.execute(
        select(func.count()).where(
            login_attempts.c.username == username, ~login_attempts.c.success, login_attempts.c.at >= start
        )
    ).scalar()
    return int(count or 0)


def _note_attempt(conn: Connection, username: str, success: bool, now: datetime) -> None:
    conn.execute(insert(login_attempts).values(username=username, at=now, success=success))


def _refuse_if_locked(conn: Connection, username: str, user_id: str, now: datetime) -> None:
    if _failures(conn, username, now) >= MAX_FAILURES:
        audit.record(conn, username, "auth.login_locked", "user", user_id)
        raise LoginFailure(AccountLocked("too many failed attempts; try again in 15 minutes"))


def _issue(
    conn: Connection, principal: Principal, policy: LoginPolicy, now: datetime, *, resident: bool = False
) -> IssuedToken:
    token = secrets.token_urlsafe(32)
    expires = now + (policy.resident_token_ttl if resident else policy.token_ttl)
    conn.execute(
        insert(access_tokens).values(
            token_hash=token_digest(token, policy.pepper),
            user_id=principal.user_id,
            created_at=now,
            expires_at=expires,
        )
    )
    return IssuedToken(token, expires, principal)


def login(
    conn: Connection,
    username: str,
    password: str,
    totp_code: str | None,
    policy: LoginPolicy,
    clock: Clock | None = None,
) -> IssuedToken:
    """Check password (and TOTP for staff) and issue a token, or raise `LoginFailure`."""
    now = (clock or SystemClock()).now()
    username = username.strip().lower()
    row = conn.execute(select(users).where(users.c.username == username, users.c.is_active)).first()
    if row is not None:
        _refuse_if_locked(conn, username, row.id, now)
    ok = passwords.verify_password(row.password_hash if row else None, password)
    principal = load_principal(conn, row.id) if (ok and row) else None
    if principal is not None and row is not None and principal.needs_totp and policy.require_totp:
        secret = _totp_secret(row.id, row.totp_secret, policy.totp_sealer) if totp_code else None
        step = totp.matching_step(secret, totp_code) if (totp_code and secret) else None
        # Conditional update: of two sign-ins racing with one code, only one moves the step.
        ok = step is not None and _spend_totp_step(conn, row.id, step)
    if row is None:
        audit.record(conn, UNKNOWN_ACTOR, "auth.login_failed", "user", UNKNOWN_ACTOR)
        raise LoginFailure(AuthenticationFailed("wrong username, password or one-time code"))
    if not ok or principal is None:
        _note_attempt(conn, username, False, now)
        audit.record(conn, username, "auth.login_failed", "user", row.id)
        raise LoginFailure(AuthenticationFailed("wrong username, password or one-time code"))
    _note_attempt(conn, username, True, now)
    audit.record(conn, username, "auth.login", "user", principal.user_id)
    return _issue(conn, principal, policy, now)


def _totp_secret(user_id: str, stored: str | None, opener: Sealer) -> str | None:
    """The user's TOTP secret, or None when there is none or it does not open (fail closed)."""
    if not stored:
        return None
    try:
        return opener.open(stored, user_id)
    except SealError as exc:
        log.error("identity.totp_secret_unreadable", user_id=user_id, reason=str(exc))
        return None


def _spend_totp_step(conn: Connection, user_id: str, step: int) -> bool:
    result = conn.execute(
        update(users)
        .where(
            users.c.id == user_id,
            (users.c.totp_last_step.is_(None)) | (users.c.totp_last_step < step),
        )
        .values(totp_last_step=step)
    )
    return bool(result.rowcount == 1)


def _resident_by_phone(conn: Connection, phone: str) -> tuple[str, str] | None:
    row = conn.execute(
        select(users.c.id, users.c.username)
        .join(user_roles, user_roles.c.user_id == users.c.id)
        .where(users.c.phone == phone, users.c.is_active, user_roles.c.role == Role.RESIDENT.value)
    ).first()
    return None if row is None else (str(row.id), str(row.username))


def request_resident_code(conn: Connection, phone: str, sms: SmsSender, clock: Clock | None = None) -> None:
    """Text a one-time code to a registered resident; unknown numbers get the same answer.

    A locked account gets no new code, so codes cannot be requested again and again to
    reset the guess counter.
    """
    now = (clock or SystemClock()).now()
    phone = normalise_phone(phone)
    if not sms.available():
        # Answer the same for every number, so the outage does not reveal who is registered.
        raise ServiceUnavailable("no SMS gateway is configured; residents cannot get sign-in codes")
    resident = _resident_by_phone(conn, phone)
    if resident is None or _failures(conn, resident[1], now) >= MAX_FAILURES:
        return
    code = f"{secrets.randbelow(1_000_000):06d}"
    conn.execute(delete(one_time_codes).where(one_time_codes.c.phone == phone))
    conn.execute(
        insert(one_time_codes).values(
            phone=phone, code_hash=_code_digest(code), expires_at=now + CODE_TTL, attempts=0
        )
    )
    sms.send(phone, f"Your Khusela sign-in code is {code}. It expires in 5 minutes.")


def verify_resident_code(
    conn: Connection, phone: str, code: str, policy: LoginPolicy, clock: Clock | None = None
) -> IssuedToken:
    """Exchange a valid one-time code for a token; three wrong codes spend it."""
    now = (clock or SystemClock()).now()
    phone = normalise_phone(phone)
    failure = LoginFailure(AuthenticationFailed("wrong or expired code"))
    resident = _resident_by_phone(conn, phone)
    if resident is None:
        raise failure
    user_id, username = resident
    _refuse_if_locked(conn, username, user_id, now)
    row = conn.execute(select(one_time_codes).where(one_time_codes.c.phone == phone)).first()
    valid = (
        row is not None
        and row.expires_at > now
        and row.attempts < MAX_CODE_ATTEMPTS
        and hmac.compare_digest(row.code_hash, _code_digest(code.strip()))
    )
    if not valid:
        if row is not None:
            conn.execute(
                update(one_time_codes)
                .where(one_time_codes.c.phone == phone)
                .values(attempts=one_time_codes.c.attempts + 1)
            )
        _note_attempt(conn, username, False, now)
        audit.record(conn, username, "auth.login_failed", "user", user_id, {"method": "sms_code"})
        raise failure
    conn.execute(delete(one_time_codes).where(one_time_codes.c.phone == phone))
    principal = load_principal(conn, user_id)
    if principal is None:
        raise failure
    _note_attempt(conn, username, True, now)
    audit.record(conn, username, "auth.login", "user", user_id, {"method": "sms_code"})
    return _issue(conn, principal, policy, now, resident=True)


@dataclass(frozen=True, slots=True)
class Session:
    principal: Principal
    expires_at: datetime


def resolve_token(conn: Connection, token: str, pepper: str, clock: Clock | None = None) -> Session | None:
    """The principal behind a live token and when the token expires, or None."""
    now = (clock or SystemClock()).now()
    row = conn.execute(
        select(access_tokens.c.user_id, access_tokens.c.expires_at).where(
            access_tokens.c.token_hash == token_digest(token, pepper), access_tokens.c.revoked_at.is_(None)
        )
    ).first()
    if row is None or row.expires_at <= now:
        return None
    principal = load_principal(conn, row.user_id)
    return None if principal is None else Session(principal, row.expires_at)


def logout(
    conn: Connection, token: str, principal: Principal, pepper: str, clock: Clock | None = None
) -> None:
    now = (clock or SystemClock()).now()
    conn.execute(
        update(access_tokens)
        .where(access_tokens.c.token_hash == token_digest(token, pepper))
        .values(revoked_at=now)
    )
    audit.record(conn, principal.username, "auth.logout", "user", principal.user_id)
