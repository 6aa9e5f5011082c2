"""Signing in and out: passwords with TOTP for staff, one-time SMS codes for residents.

Tokens are opaque random strings; only their SHA-256 is stored, so a database leak does
not hand out sessions. Five failed attempts within 15 minutes lock an account for the
rest of that window, whatever the password.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Connection, delete, func, insert, select, update

from khusela.audit import log as audit
from khusela.core.clock import Clock, SystemClock
from khusela.core.errors import AccountLocked, AuthenticationFailed
from khusela.identity import passwords, totp
from khusela.identity.directory import load_principal, normalise_phone
from khusela.identity.model import Principal, Role
from khusela.identity.ports import SmsSender
from khusela.identity.tables import access_tokens, login_attempts, one_time_codes, user_roles, users

MAX_FAILURES = 5
LOCKOUT_WINDOW = timedelta(minutes=15)
CODE_TTL = timedelta(minutes=5)
MAX_CODE_ATTEMPTS = 3


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class IssuedToken:
    access_token: str
    expires_at: datetime
    principal: Principal


@dataclass(frozen=True, slots=True)
class LoginPolicy:
    require_totp: bool = True
    token_ttl: timedelta = timedelta(hours=12)


def _failures(conn: Connection, username: str, now: datetime) -> int:
    """Failed attempts inside the window since the last success."""
    since = now - LOCKOUT_WINDOW
    last_ok = conn.execute(
        select(func.max(login_attempts.c.at)).where(
            login_attempts.c.username == username,
            login_attempts.c.success,
            login_attempts.c.at >= since,
        )
    ).scalar()
    start = max(since, last_ok) if last_ok else since
    count = conn.execute(
        select(func.count()).where(
            login_attempts.c.username == username,
            ~login_attempts.c.success,
            login_attempts.c.at >= start,
        )
    ).scalar()
    return int(count or 0)


def _note_attempt(conn: Connection, username: str, success: bool, now: datetime) -> None:
    conn.execute(insert(login_attempts).values(username=username, at=now, success=success))


def _issue(conn: Connection, principal: Principal, ttl: timedelta, now: datetime) -> IssuedToken:
    token = secrets.token_urlsafe(32)
    expires = now + ttl
    conn.execute(
        insert(access_tokens).values(
            token_hash=token_digest(token),
            user_id=principal.user_id,
            created_at=now,
            expires_at=expires,
        )
    )
    return IssuedToken(token, expires, principal)


class LoginFailure(Exception):
    """Raised after the failed attempt is committed, so lockout counts survive the error."""

    def __init__(self, error: AuthenticationFailed | AccountLocked) -> None:
        self.error = error


def login(
    conn: Connection,
    username: str,
    password: str,
    totp_code: str | None,
    policy: LoginPolicy,
    clock: Clock | None = None,
) -> IssuedToken:
    """Check password (and TOTP for staff) and issue a token.

    A failure raises `LoginFailure` *after* recording the attempt: the caller commits
    the transaction and then reports the wrapped error.
    """
    now = (clock or SystemClock()).now()
    username = username.strip().lower()
    if _failures(conn, username, now) >= MAX_FAILURES:
        audit.record(conn, username, "auth.login_locked", "user", username)
        raise LoginFailure(AccountLocked("too many failed attempts; try again in 15 minutes"))
    row = conn.execute(select(users).where(users.c.username == username, users.c.is_active)).first()
    ok = passwords.verify_password(row.password_hash if row else None, password)
    principal = load_principal(conn, row.id) if (ok and row) else None
    if principal is not None and row is not None and principal.needs_totp and policy.require_totp:
        ok = bool(totp_code and row.totp_secret and totp.verify_code(row.totp_secret, totp_code))
    if not ok or principal is None:
        _note_attempt(conn, username, False, now)
        audit.record(conn, username, "auth.login_failed", "user", row.id if row else username)
        raise LoginFailure(AuthenticationFailed("wrong username, password or one-time code"))
    _note_attempt(conn, username, True, now)
    audit.record(conn, username, "auth.login", "user", principal.user_id)
    return _issue(conn, principal, policy.token_ttl, now)


def request_resident_code(conn: Connection, phone: str, sms: SmsSender, clock: Clock | None = None) -> None:
    """Send a one-time code to a registered resident; unknown numbers get the same answer."""
    now = (clock or SystemClock()).now()
    phone = normalise_phone(phone)
    row = conn.execute(
        select(users.c.id)
        .join(user_roles, user_roles.c.user_id == users.c.id)
        .where(users.c.phone == phone, users.c.is_active, user_roles.c.role == Role.RESIDENT.value)
    ).first()
    if row is None:
        return
    code = f"{secrets.randbelow(1_000_000):06d}"
    conn.execute(delete(one_time_codes).where(one_time_codes.c.phone == phone))
    conn.execute(
        insert(one_time_codes).values(
            phone=phone, code_hash=token_digest(code), expires_at=now + CODE_TTL, attempts=0
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
    row = conn.execute(select(one_time_codes).where(one_time_codes.c.phone == phone)).first()
    if row is None or row.expires_at < now or row.attempts >= MAX_CODE_ATTEMPTS:
        raise failure
    if not hmac.compare_digest(row.code_hash, token_digest(code.strip())):
        conn.execute(
            update(one_time_codes).where(one_time_codes.c.phone == phone).values(attempts=row.attempts + 1)
        )
        raise failure
    conn.execute(delete(one_time_codes).where(one_time_codes.c.phone == phone))
    user_id = conn.execute(select(users.c.id).where(users.c.phone == phone)).scalar()
    principal = load_principal(conn, str(user_id)) if user_id else None
    if principal is None:
        raise failure
    audit.record(conn, principal.username, "auth.login", "user", principal.user_id, {"method": "sms_code"})
    return _issue(conn, principal, policy.token_ttl, now)


def resolve_token(conn: Connection, token: str, clock: Clock | None = None) -> Principal | None:
    """The principal behind a live token, or None."""
    now = (clock or SystemClock()).now()
    row = conn.execute(
        select(access_tokens.c.user_id, access_tokens.c.expires_at).where(
            access_tokens.c.token_hash == token_digest(token), access_tokens.c.revoked_at.is_(None)
        )
    ).first()
    if row is None or row.expires_at <= now:
        return None
    return load_principal(conn, row.user_id)


def logout(conn: Connection, token: str, principal: Principal, clock: Clock | None = None) -> None:
    now = (clock or SystemClock()).now()
    conn.execute(
        update(access_tokens).where(access_tokens.c.token_hash == token_digest(token)).values(revoked_at=now)
    )
    audit.record(conn, principal.username, "auth.logout", "user", principal.user_id)
