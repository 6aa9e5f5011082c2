"""Response actions: block an IP, block a domain, quarantine a message — approved, audited,
expiring and revertible.

Life of an action: an analyst (or an alert whose rule is marked for automatic response)
proposes it; a *second* analyst approves it (four eyes: blocking the wrong address can cut
a hospital off the network), which makes it active; it ends by expiry (every action has
one unless an analyst clears it) or by an analyst's revert. Every step is audited in the
same transaction. Only active actions reach the enforcement files (`khusela.cyber.response`),
which are rewritten whole after every change, so a revert or an expiry lifts the block.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, insert, select, update

from khusela.audit import log as audit
from khusela.bus.outbox import enqueue
from khusela.core.clock import as_utc
from khusela.core.errors import Conflict, Forbidden, InvalidInput, NotFound
from khusela.core.events import Event
from khusela.core.ids import new_id
from khusela.cyber.response import ActiveBlock, parse_domain_target, parse_ip_target, parse_message_target
from khusela.cyber.soc.tables import cyber_actions, cyber_alerts, cyber_cases

ACTION_CHANGED = "cyber.action_changed"
KINDS = ("block_ip", "block_domain", "quarantine_message")
SYSTEM = "system"


def split_protected(protected: Sequence[str]) -> tuple[list[str], list[str]]:
    """Settings give networks and domains in one list; the validators want them apart."""
    networks, domains = [], []
    for item in protected:
        try:
            ipaddress.ip_network(item, strict=False)
            networks.append(item)
        except ValueError:
            domains.append(item)
    return networks, domains


def normalise_target(kind: str, target: str, protected: Sequence[str]) -> str:
    """The canonical form of `target` for `kind`, or InvalidInput with the reason."""
    networks, domains = split_protected(protected)
    if kind == "block_ip":
        return str(parse_ip_target(target, networks))
    if kind == "block_domain":
        return parse_domain_target(target, domains)
    if kind == "quarantine_message":
        return parse_message_target(target)
    raise InvalidInput(f"unknown action kind {kind!r} (choose from {', '.join(KINDS)})")


def propose(
    conn: Connection,
    *,
    actor: str,
    kind: str,
    target: str,
    reason: str,
    now: datetime,
    protected: Sequence[str],
    duration_hours: float | None,
    alert_id: str | None = None,
    case_id: str | None = None,
    automatic: bool = False,
) -> dict[str, Any]:
    """Record a proposed action (or, when `automatic`, an active one at once)."""
    reason = " ".join(reason.split())
    if not reason:
        raise InvalidInput("say why: a response action needs a reason")
    canonical = normalise_target(kind, target, protected)
    if (
        alert_id is not None
        and conn.execute(select(cyber_alerts.c.id).where(cyber_alerts.c.id == alert_id)).first() is None
    ):
        raise NotFound("no such alert")
    if (
        case_id is not None
        and conn.execute(select(cyber_cases.c.id).where(cyber_cases.c.id == case_id)).first() is None
    ):
        raise NotFound("no such case")
    duplicate = conn.execute(
        select(cyber_actions.c.id).where(
            cyber_actions.c.kind == kind,
            cyber_actions.c.target == canonical,
            cyber_actions.c.status.in_(("proposed", "active")),
        )
    ).first()
    if duplicate is not None:
        raise Conflict(f"{kind} of {canonical} is already proposed or active (action {duplicate.id})")
    action_id = new_id()
    row: dict[str, Any] = {
        "id": action_id,
        "kind": kind,
        "target": canonical,
        "reason": reason[:500],
        "status": "active" if automatic else "proposed",
        "alert_id": alert_id,
        "case_id": case_id,
        "automatic": automatic,
        "proposed_by": None if automatic else actor,
        "proposed_at": now,
        "approved_by": None,
        "approved_at": now if automatic else None,
        "duration_hours": duration_hours,
        "expires_at": _expiry(now, duration_hours) if automatic else None,
        "ended_by": None,
        "ended_at": None,
    }
    conn.execute(insert(cyber_actions).values(**row))
    verb = "cyber.action_activated_automatically" if automatic else "cyber.action_proposed"
    audit.record(conn, actor, verb, "cyber_action", action_id, {"kind": kind, "target": canonical})
    enqueue(conn, Event(ACTION_CHANGED, action_payload(row)))
    return row


def _expiry(now: datetime, hours: float | None) -> datetime | None:
    return None if hours is None else now + timedelta(hours=hours)


def _load(conn: Connection, action_id: str) -> dict[str, Any]:
    row = conn.execute(select(cyber_actions).where(cyber_actions.c.id == action_id)).first()
    if row is None:
        raise NotFound("no such response action")
    return dict(row._mapping)


def approve(conn: Connection, action_id: str, *, actor: str, now: datetime) -> dict[str, Any]:
    """Activate a proposed action; its proposer may not approve it."""
    row = _load(conn, action_id)
    if row["status"] != "proposed":
        raise Conflict(f"the action is {row['status']}; only a proposed action can be approved")
    if row["proposed_by"] == actor:
        raise Forbidden("a second analyst must approve: you proposed this action")
    values = {"status": "active", "approved_by": actor, "approved_at": now}
    values["expires_at"] = _expiry(now, row["duration_hours"])
    return _change(conn, row, values, actor, "cyber.action_approved")


def reject(conn: Connection, action_id: str, *, actor: str, now: datetime) -> dict[str, Any]:
    row = _load(conn, action_id)
    if row["status"] != "proposed":
        raise Conflict(f"the action is {row['status']}; only a proposed action can be rejected")
    return _change(
        conn, row, {"status": "rejected", "ended_by": actor, "ended_at": now}, actor, "cyber.action_rejected"
    )


def revert(conn: Connection, action_id: str, *, actor: str, now: datetime) -> dict[str, Any]:
    """Lift an active action (the enforcement files drop it on the next publish)."""
    row = _load(conn, action_id)
    if row["status"] != "active":
        raise Conflict(f"the action is {row['status']}; only an active action can be reverted")
    return _change(
        conn, row, {"status": "reverted", "ended_by": actor, "ended_at": now}, actor, "cyber.action_reverted"
    )


def expire_due(conn: Connection, now: datetime) -> list[str]:
    """Mark active actions past their expiry as expired; returns their ids."""
    due = [
        dict(r._mapping)
        for r in conn.execute(
            select(cyber_actions).where(
                cyber_actions.c.status == "active",
                cyber_actions.c.expires_at.is_not(None),
                cyber_actions.c.expires_at <= now,
            )
        )
    ]
    for row in due:
        _change(
            conn,
            row,
            {"status": "expired", "ended_by": SYSTEM, "ended_at": now},
            SYSTEM,
            "cyber.action_expired",
        )
    return [row["id"] for row in due]


def _change(
    conn: Connection, row: dict[str, Any], values: dict[str, Any], actor: str, verb: str
) -> dict[str, Any]:
    result = conn.execute(
        update(cyber_actions)
        .where(cyber_actions.c.id == row["id"], cyber_actions.c.status == row["status"])
        .values(**values)
    )
    if result.rowcount != 1:
        raise Conflict("the action changed meanwhile; reload it")
    row = row | values
    audit.record(conn, actor, verb, "cyber_action", row["id"], {"kind": row["kind"], "target": row["target"]})
    enqueue(conn, Event(ACTION_CHANGED, action_payload(row)))
    return row


def active_blocks(conn: Connection, now: datetime) -> list[ActiveBlock]:
    """What the enforcement files must hold now."""
    rows = conn.execute(
        select(cyber_actions).where(cyber_actions.c.status == "active").order_by(cyber_actions.c.approved_at)
    )
    blocks = []
    for row in rows:
        expires = as_utc(row.expires_at) if row.expires_at is not None else None
        if expires is not None and expires <= now:
            continue
        blocks.append(
            ActiveBlock(
                action_id=row.id,
                kind=row.kind,
                target=row.target,
                expires_at=expires,
                reason=row.reason,
                approved_by=row.approved_by,
            )
        )
    return blocks


def action_payload(row: dict[str, Any]) -> dict[str, Any]:
    return {
        name: row[name]
        for name in (
            "id",
            "kind",
            "target",
            "reason",
            "status",
            "alert_id",
            "case_id",
            "automatic",
            "proposed_by",
            "proposed_at",
            "approved_by",
            "approved_at",
            "duration_hours",
            "expires_at",
            "ended_by",
            "ended_at",
        )
    }
