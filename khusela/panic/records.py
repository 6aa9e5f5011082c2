"""Reading and writing alert rows, their timeline and events: shared by every use case."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, insert, select, update

from khusela.audit import log as audit
from khusela.bus.outbox import enqueue
from khusela.core.errors import Conflict, NotFound
from khusela.panic.events import alert_event
from khusela.panic.tables import alert_timeline, alerts

Alert = dict[str, Any]
"""An alert row as a plain mapping (column name → value)."""


def load(conn: Connection, alert_id: str, *, for_update: bool = False) -> Alert:
    query = select(alerts).where(alerts.c.id == alert_id)
    if for_update:
        query = query.with_for_update()
    row = conn.execute(query).first()
    if row is None:
        raise NotFound("no such alert")
    return dict(row._mapping)


def note(conn: Connection, alert_id: str, actor: str, kind: str, at: datetime, **details: Any) -> None:
    """Add a line to the alert's timeline (what the operator reads in the alert detail)."""
    conn.execute(
        _INSERT_NOTE,
        {
            "alert_id": alert_id,
            "at": at,
            "actor": actor,
            "kind": kind,
            "details": json.dumps(details, default=str),
        },
    )


_INSERT_NOTE = insert(alert_timeline)


def change(
    conn: Connection,
    alert: Alert,
    values: dict[str, Any],
    *,
    actor: str,
    kind: str,
    at: datetime,
    subject: str,
    audit_details: dict[str, Any] | None = None,
) -> Alert:
    """Apply `values` to the alert (optimistic version check), write its timeline line,
    audit record and event, all in the caller's transaction. Returns the new alert."""
    new_version = alert["version"] + 1
    result = conn.execute(
        update(alerts)
        .where(alerts.c.id == alert["id"], alerts.c.version == alert["version"])
        .values(**values, version=new_version, updated_at=at)
    )
    if result.rowcount != 1:
        raise Conflict("the alert changed meanwhile; reload it and try again")
    updated = {**alert, **values, "version": new_version, "updated_at": at}
    note(conn, alert["id"], actor, kind, at, **(audit_details or {}))
    enqueue(conn, alert_event(subject, updated, kind))
    # Last statement before the commit: the audit head row stays locked only briefly.
    audit.record(conn, actor, f"panic.{kind}", "alert", alert["id"], audit_details)
    return updated
