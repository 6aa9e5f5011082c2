"""Cases: an incident the SOC works on, grouping its alerts, with an assignee, a status, a
severity, notes and a timeline that also shows the alerts' own events.

Every change is one timeline entry and one audit record in the same transaction, so the
case tells its own story and the audit log can prove it.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, insert, select, update

from khusela.audit import log as audit
from khusela.core.errors import Conflict, InvalidInput, NotFound
from khusela.core.ids import new_id
from khusela.cyber.soc.alerts import SEVERITIES
from khusela.cyber.soc.tables import (
    cyber_actions,
    cyber_alert_events,
    cyber_alerts,
    cyber_case_entries,
    cyber_cases,
)

CASE_STATUSES = ("open", "investigating", "contained", "closed")


def open_case(
    conn: Connection,
    *,
    actor: str,
    title: str,
    severity: str,
    alert_ids: Sequence[str],
    assignee: str | None,
    now: datetime,
) -> str:
    title = " ".join(title.split())
    if not title:
        raise InvalidInput("a case needs a title")
    _check_severity(severity)
    case_id = new_id()
    conn.execute(
        insert(cyber_cases).values(
            id=case_id,
            title=title[:300],
            severity=severity,
            status="open",
            assignee=assignee,
            created_by=actor,
            created_at=now,
            updated_at=now,
        )
    )
    _entry(conn, case_id, actor, now, "opened", f"Case opened: {title}")
    if assignee:
        _entry(conn, case_id, actor, now, "assigned", "Assigned", ref=assignee)
    if alert_ids:
        add_alerts(conn, case_id, alert_ids, actor=actor, now=now)
    audit.record(conn, actor, "cyber.case_opened", "cyber_case", case_id, {"alerts": len(alert_ids)})
    return case_id


def _check_severity(severity: str) -> None:
    if severity not in SEVERITIES:
        raise InvalidInput(f"severity must be one of {', '.join(SEVERITIES)}")


def _entry(
    conn: Connection, case_id: str, actor: str, now: datetime, kind: str, text: str, ref: str | None = None
) -> None:
    conn.execute(
        insert(cyber_case_entries).values(case_id=case_id, at=now, actor=actor, kind=kind, text=text, ref=ref)
    )


def _require(conn: Connection, case_id: str) -> dict[str, Any]:
    row = conn.execute(select(cyber_cases).where(cyber_cases.c.id == case_id)).first()
    if row is None:
        raise NotFound("no such case")
    return dict(row._mapping)


def add_alerts(
    conn: Connection, case_id: str, alert_ids: Sequence[str], *, actor: str, now: datetime
) -> None:
    """Attach alerts; an alert belongs to one case at a time."""
    _require(conn, case_id)
    wanted = list(dict.fromkeys(alert_ids))
    rows = {r.id: r for r in conn.execute(select(cyber_alerts).where(cyber_alerts.c.id.in_(wanted)))}
    missing = [a for a in wanted if a not in rows]
    if missing:
        raise NotFound(f"no such alert: {missing[0]}")
    elsewhere = [a for a in wanted if rows[a].case_id not in (None, case_id)]
    if elsewhere:
        raise Conflict(f"alert {elsewhere[0]} already belongs to another case")
    for alert_id in wanted:
        if rows[alert_id].case_id == case_id:
            continue
        conn.execute(update(cyber_alerts).where(cyber_alerts.c.id == alert_id).values(case_id=case_id))
        _entry(conn, case_id, actor, now, "alert_added", f"Alert added: {rows[alert_id].title}", ref=alert_id)
    conn.execute(update(cyber_cases).where(cyber_cases.c.id == case_id).values(updated_at=now))


def add_note(conn: Connection, case_id: str, text: str, *, actor: str, now: datetime) -> None:
    text = text.strip()
    if not text:
        raise InvalidInput("the note is empty")
    _require(conn, case_id)
    _entry(conn, case_id, actor, now, "note", text[:10_000])
    conn.execute(update(cyber_cases).where(cyber_cases.c.id == case_id).values(updated_at=now))
    audit.record(conn, actor, "cyber.case_noted", "cyber_case", case_id)


def change(
    conn: Connection,
    case_id: str,
    *,
    actor: str,
    now: datetime,
    status: str | None = None,
    severity: str | None = None,
    assignee: str | None = None,
    unassign: bool = False,
) -> None:
    """Change status, severity or assignee; each change is a timeline entry."""
    case = _require(conn, case_id)
    values: dict[str, Any] = {}
    if status is not None and status != case["status"]:
        if status not in CASE_STATUSES:
            raise InvalidInput(f"status must be one of {', '.join(CASE_STATUSES)}")
        values["status"] = status
        _entry(conn, case_id, actor, now, "status", f"Status {case['status']} → {status}")
    if severity is not None and severity != case["severity"]:
        _check_severity(severity)
        values["severity"] = severity
        _entry(conn, case_id, actor, now, "severity", f"Severity {case['severity']} → {severity}")
    if unassign and case["assignee"] is not None:
        values["assignee"] = None
        _entry(conn, case_id, actor, now, "assigned", "Unassigned")
    elif assignee is not None and assignee != case["assignee"]:
        values["assignee"] = assignee
        _entry(conn, case_id, actor, now, "assigned", "Assigned", ref=assignee)
    if not values:
        return
    conn.execute(update(cyber_cases).where(cyber_cases.c.id == case_id).values(updated_at=now, **values))
    audit.record(conn, actor, "cyber.case_changed", "cyber_case", case_id, dict(values))


def view(conn: Connection, case_id: str) -> dict[str, Any]:
    """The case with its alerts, actions and one timeline: entries and matching events by time."""
    case = _require(conn, case_id)
    alerts = [
        dict(r._mapping) for r in conn.execute(select(cyber_alerts).where(cyber_alerts.c.case_id == case_id))
    ]
    ids = [a["id"] for a in alerts]
    events = [
        dict(r._mapping)
        for r in conn.execute(
            select(cyber_alert_events)
            .where(cyber_alert_events.c.alert_id.in_(ids))
            .order_by(cyber_alert_events.c.id)
        )
    ]
    actions = [
        dict(r._mapping)
        for r in conn.execute(
            select(cyber_actions)
            .where((cyber_actions.c.case_id == case_id) | cyber_actions.c.alert_id.in_(ids))
            .order_by(cyber_actions.c.proposed_at)
        )
    ]
    entries = [
        dict(r._mapping)
        for r in conn.execute(
            select(cyber_case_entries)
            .where(cyber_case_entries.c.case_id == case_id)
            .order_by(cyber_case_entries.c.id)
        )
    ]
    return {"case": case, "alerts": alerts, "events": events, "actions": actions, "entries": entries}
