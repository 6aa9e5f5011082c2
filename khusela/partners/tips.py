"""Anonymous tips: anyone may tell; nothing about who told is kept.

The tipster gets a tracking code once: 128 random bits (base32, grouped for reading aloud).
Only its SHA-256 is stored — a code has too much entropy to guess, so a fast hash suffices
and the database alone cannot reconstruct a code. With the code the tipster reads the tip's
status and the staff's replies and adds information.

What is *not* kept, anywhere: account, IP address, user agent, device fingerprint, precise
time. Tip routes take no token; times are truncated to the hour; the tip's id is random
(UUIDv4, not the platform's time-ordered ids, which embed the millisecond); the audit record
names the actor "anonymous" and carries no details; the request log records the route
template, never the path with its code (`api.middleware.RequestContext`); the rate limiter
counts tip routes in memory under a keyed hash that is never stored (`api.middleware`).

Staff read tips in an inbox: police and officials with PARTNERS_READ whose jurisdiction
covers the place the tipster named (if none, oversight only) — and reply as their agency.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, func, insert, select, update

from khusela.audit import log as audit
from khusela.core.errors import Forbidden, InvalidInput, NotFound
from khusela.core.geo import is_valid_cell
from khusela.identity.model import Principal
from khusela.identity.policy import Action, Columns, can, read_filter
from khusela.partners.model import TipCategory, TipStatus
from khusela.partners.tables import partner_tip_messages, partner_tips

ANONYMOUS = "anonymous"
CODE_BYTES = 16
MAX_MESSAGES = 50
COLUMNS = Columns(
    province=partner_tips.c.province, municipality=partner_tips.c.municipality, cell=partner_tips.c.cell
)


def new_code() -> str:
    """128 random bits as base32 in groups of four: ``KX7Q-…`` (26 characters of data)."""
    raw = base64.b32encode(secrets.token_bytes(CODE_BYTES)).decode().rstrip("=")
    return "-".join(raw[i : i + 4] for i in range(0, len(raw), 4))


def _normal(code: str) -> str:
    return code.replace("-", "").replace(" ", "").upper()


def code_hash(code: str) -> str:
    return hashlib.sha256(_normal(code).encode()).hexdigest()


def hour_of(now: datetime) -> datetime:
    return now.replace(minute=0, second=0, microsecond=0)


def submit(
    conn: Connection,
    *,
    category: TipCategory,
    body: str,
    province: str | None,
    municipality: str | None,
    cell: str | None,
    now: datetime,
) -> str:
    """Store a tip; returns its tracking code (the only time it exists in clear)."""
    if cell is not None and not is_valid_cell(cell):
        raise InvalidInput("cell must be an H3 cell")
    code, tip_id, hour = new_code(), str(uuid.uuid4()), hour_of(now)
    conn.execute(
        insert(partner_tips).values(
            id=tip_id,
            code_hash=code_hash(code),
            category=category.value,
            status=TipStatus.NEW.value,
            province=province,
            municipality=municipality,
            cell=cell,
            received_hour=hour,
            updated_hour=hour,
        )
    )
    conn.execute(insert(partner_tip_messages).values(tip_id=tip_id, author="tipster", body=body, hour=hour))
    audit.record(conn, ANONYMOUS, "partners.tip_submit", "tip", tip_id)
    return code


def _by_code(conn: Connection, code: str) -> dict[str, Any]:
    if not (20 <= len(_normal(code)) <= 40):
        raise NotFound("no tip with that code")
    row = conn.execute(select(partner_tips).where(partner_tips.c.code_hash == code_hash(code))).first()
    if row is None:
        raise NotFound("no tip with that code")
    return dict(row._mapping)


def _messages(conn: Connection, tip_id: str) -> list[dict[str, Any]]:
    rows = conn.execute(
        select(
            partner_tip_messages.c.author,
            partner_tip_messages.c.agency_name,
            partner_tip_messages.c.body,
            partner_tip_messages.c.hour,
        )
        .where(partner_tip_messages.c.tip_id == tip_id)
        .order_by(partner_tip_messages.c.id)
    )
    return [dict(r._mapping) for r in rows]


def _public(tip: dict[str, Any], messages: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "status": tip["status"],
        "category": tip["category"],
        "received_hour": tip["received_hour"],
        "updated_hour": tip["updated_hour"],
        "messages": messages,
    }


def read(conn: Connection, code: str) -> dict[str, Any]:
    """What the tipster sees: status and the conversation (no internal ids)."""
    tip = _by_code(conn, code)
    return _public(tip, _messages(conn, tip["id"]))


def add_message(conn: Connection, code: str, body: str, now: datetime) -> dict[str, Any]:
    tip = _by_code(conn, code)
    if tip["status"] == TipStatus.CLOSED.value:
        raise InvalidInput("this tip is closed; submit a new one")
    count = conn.execute(
        select(func.count())
        .select_from(partner_tip_messages)
        .where(partner_tip_messages.c.tip_id == tip["id"])
    ).scalar_one()
    if count >= MAX_MESSAGES:
        raise InvalidInput("this conversation is full; submit a new tip")
    hour = hour_of(now)
    conn.execute(
        insert(partner_tip_messages).values(tip_id=tip["id"], author="tipster", body=body, hour=hour)
    )
    conn.execute(update(partner_tips).where(partner_tips.c.id == tip["id"]).values(updated_hour=hour))
    audit.record(conn, ANONYMOUS, "partners.tip_message", "tip", tip["id"])
    return read(conn, code)


# --- staff inbox --------------------------------------------------------------------------


def inbox(
    conn: Connection, viewer: Principal, status: TipStatus | None = None, limit: int = 200
) -> list[dict[str, Any]]:
    query = select(partner_tips).where(read_filter(viewer, Action.PARTNERS_READ, COLUMNS))
    if status is not None:
        query = query.where(partner_tips.c.status == status.value)
    rows = conn.execute(query.order_by(partner_tips.c.updated_hour.desc(), partner_tips.c.id).limit(limit))
    out = []
    for r in rows:
        tip = {k: v for k, v in r._mapping.items() if k != "code_hash"}
        tip["messages"] = _messages(conn, r.id)
        out.append(tip)
    return out


def _staff_tip(conn: Connection, viewer: Principal, tip_id: str) -> dict[str, Any]:
    row = conn.execute(
        select(partner_tips).where(
            partner_tips.c.id == tip_id, read_filter(viewer, Action.PARTNERS_READ, COLUMNS)
        )
    ).first()
    if row is None:
        raise NotFound("no such tip that you may see")
    return dict(row._mapping)


def reply(
    conn: Connection, actor: Principal, tip_id: str, body: str | None, status: TipStatus | None, now: datetime
) -> dict[str, Any]:
    """A reply the tipster will read (signed by the agency, not the officer) and/or a new status."""
    tip = _staff_tip(conn, actor, tip_id)
    if not can(actor, Action.PARTNERS_WRITE):
        raise Forbidden("your roles do not allow partners.write")
    if not body and status is None:
        raise InvalidInput("reply with a message, a new status, or both")
    hour = hour_of(now)
    if body:
        conn.execute(
            insert(partner_tip_messages).values(
                tip_id=tip_id,
                author="staff",
                agency_name=actor.agency_name or "Khusela",
                body=body,
                hour=hour,
            )
        )
    changes: dict[str, Any] = {"updated_hour": hour}
    if status is not None:
        changes["status"] = status.value
    elif tip["status"] == TipStatus.NEW.value:
        changes["status"] = TipStatus.REVIEWING.value
    conn.execute(update(partner_tips).where(partner_tips.c.id == tip_id).values(**changes))
    audit.record(conn, actor.username, "partners.tip_reply", "tip", tip_id, {"status": changes.get("status")})
    out = {k: v for k, v in _staff_tip(conn, actor, tip_id).items() if k != "code_hash"}
    out["messages"] = _messages(conn, tip_id)
    return out
