"""Detections into alerts: aggregate repeats, honour scoped exceptions, announce on the bus.

A SOC drowns when every matching event is an alert. A detection joins the open alert with
the same rule, host and source while that alert is still live (`AGGREGATION_WINDOW`), and
only raises a new one otherwise. A detection that an exception covers — the same rule
*and* the same source network or host — is not an alert at all, but is counted on the
exception, so an over-broad exception shows up in its hit count.
"""

from __future__ import annotations

import hashlib
import ipaddress
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, RowMapping, func, insert, or_, select, update

from khusela.bus.outbox import enqueue
from khusela.core.clock import as_utc
from khusela.core.events import Event
from khusela.core.ids import new_id
from khusela.cyber.soc.tables import cyber_alert_events, cyber_alerts, cyber_exceptions

ALERT_RAISED = "cyber.alert_raised"
ALERT_CHANGED = "cyber.alert_changed"
AGGREGATION_WINDOW = timedelta(hours=1)
MAX_SAMPLES = 20
MAX_RAW_CHARS = 8000
SEVERITIES = ("informational", "low", "medium", "high", "critical")
OPEN_STATUSES = ("new", "acknowledged")
STATUSES = ("new", "acknowledged", "closed", "false_positive")


@dataclass(frozen=True, slots=True)
class SampleEvent:
    """One matching event as kept with its alert: Sigma-named fields and the raw form."""

    fields: Mapping[str, object]
    raw: str
    at: datetime | None
    received_at: datetime


@dataclass(frozen=True, slots=True)
class Detection:
    """A rule (Sigma, correlation or phishing analysis) fired; `count` events are behind it."""

    kind: str
    rule_id: str
    title: str
    severity: str
    received_at: datetime
    author: str | None = None
    tags: tuple[str, ...] = ()
    source: str | None = None
    host: str | None = None
    first_seen: datetime | None = None
    last_seen: datetime | None = None
    count: int = 1
    samples: Sequence[SampleEvent] = ()
    detail: Mapping[str, Any] = field(default_factory=dict)


@dataclass(slots=True)
class Recorded:
    """What one batch did to the queue."""

    raised: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    suppressed: int = 0


def aggregation_key(kind: str, rule_id: str, host: str | None, source: str | None) -> str:
    text = "\x1f".join((kind, rule_id, host or "", source or ""))
    return hashlib.sha256(text.encode()).hexdigest()[:40]


@dataclass(frozen=True, slots=True)
class _Exception:
    id: str
    rule_id: str
    network: ipaddress.IPv4Network | ipaddress.IPv6Network | None
    host: str | None

    def covers(self, detection: Detection) -> bool:
        if detection.rule_id != self.rule_id:
            return False
        if self.host is not None and (detection.host or "").lower() != self.host:
            return False
        if self.network is not None:
            try:
                return ipaddress.ip_address(detection.source or "") in self.network
            except ValueError:
                return False
        return True


def _live_exceptions(conn: Connection, now: datetime) -> list[_Exception]:
    rows = conn.execute(
        select(
            cyber_exceptions.c.id,
            cyber_exceptions.c.rule_id,
            cyber_exceptions.c.source,
            cyber_exceptions.c.host,
        )
        .where(cyber_exceptions.c.revoked_at.is_(None))
        .where(or_(cyber_exceptions.c.expires_at.is_(None), cyber_exceptions.c.expires_at > now))
    )
    found = []
    for row in rows:
        network = ipaddress.ip_network(row.source, strict=False) if row.source else None
        found.append(_Exception(row.id, row.rule_id, network, row.host.lower() if row.host else None))
    return found


def record(conn: Connection, detections: Iterable[Detection], now: datetime) -> Recorded:
    """Fold `detections` into the alert queue in the caller's transaction."""
    result = Recorded()
    exceptions = _live_exceptions(conn, now)
    hits: dict[str, int] = {}
    changed: dict[str, bool] = {}
    for detection in detections:
        covering = next((e for e in exceptions if e.covers(detection)), None)
        if covering is not None:
            hits[covering.id] = hits.get(covering.id, 0) + detection.count
            result.suppressed += detection.count
            continue
        alert_id, raised = _fold(conn, detection, now)
        changed[alert_id] = changed.get(alert_id, False) or raised
    for exception_id, count in hits.items():
        conn.execute(
            update(cyber_exceptions)
            .where(cyber_exceptions.c.id == exception_id)
            .values(hits=cyber_exceptions.c.hits + count, last_hit_at=now)
        )
    if changed:
        rows = {
            row["id"]: row
            for row in (
                dict(r._mapping)
                for r in conn.execute(select(cyber_alerts).where(cyber_alerts.c.id.in_(list(changed))))
            )
        }
        events = []
        for alert_id, raised in changed.items():
            (result.raised if raised else result.updated).append(alert_id)
            events.append(Event(ALERT_RAISED if raised else ALERT_CHANGED, alert_payload(rows[alert_id])))
        enqueue(conn, *events)
    return result


def _fold(conn: Connection, detection: Detection, now: datetime) -> tuple[str, bool]:
    """Add `detection` to its open alert, or raise a new one; returns (alert id, raised)."""
    key = aggregation_key(detection.kind, detection.rule_id, detection.host, detection.source)
    first = detection.first_seen or _first_time(detection) or detection.received_at
    last = detection.last_seen or _last_time(detection) or detection.received_at
    open_alert = conn.execute(
        select(cyber_alerts.c.id, cyber_alerts.c.last_seen, cyber_alerts.c.count)
        .where(cyber_alerts.c.agg_key == key, cyber_alerts.c.status.in_(OPEN_STATUSES))
        .where(cyber_alerts.c.last_seen >= min(first, now) - AGGREGATION_WINDOW)
        .order_by(cyber_alerts.c.last_seen.desc())
        .limit(1)
    ).first()
    if open_alert is not None:
        alert_id = str(open_alert.id)
        conn.execute(
            update(cyber_alerts)
            .where(cyber_alerts.c.id == alert_id)
            .values(
                count=cyber_alerts.c.count + detection.count,
                last_seen=max(as_utc(open_alert.last_seen), last),
            )
        )
        _keep_samples(conn, alert_id, detection.samples)
        return alert_id, False
    alert_id = new_id()
    conn.execute(
        insert(cyber_alerts).values(
            id=alert_id,
            kind=detection.kind,
            rule_id=detection.rule_id[:120],
            title=detection.title[:300],
            author=detection.author[:300] if detection.author else None,
            severity=detection.severity if detection.severity in SEVERITIES else "medium",
            tags=list(detection.tags),
            source=detection.source,
            host=detection.host,
            agg_key=key,
            count=detection.count,
            first_seen=first,
            last_seen=last,
            raised_at=now,
            status="new",
            detail=dict(detection.detail) | {"received_at": detection.received_at.isoformat()},
        )
    )
    _keep_samples(conn, alert_id, detection.samples)
    return alert_id, True


def _first_time(detection: Detection) -> datetime | None:
    times = [s.at for s in detection.samples if s.at is not None]
    return min(times) if times else None


def _last_time(detection: Detection) -> datetime | None:
    times = [s.at for s in detection.samples if s.at is not None]
    return max(times) if times else None


def _keep_samples(conn: Connection, alert_id: str, samples: Sequence[SampleEvent]) -> None:
    if not samples:
        return
    kept = conn.execute(
        select(func.count()).select_from(cyber_alert_events).where(cyber_alert_events.c.alert_id == alert_id)
    ).scalar_one()
    room = MAX_SAMPLES - int(kept)
    if room <= 0:
        return
    conn.execute(
        insert(cyber_alert_events),
        [
            {
                "alert_id": alert_id,
                "at": sample.at,
                "received_at": sample.received_at,
                "fields": _jsonable(sample.fields),
                "raw": sample.raw[:MAX_RAW_CHARS],
            }
            for sample in samples[:room]
        ],
    )


def _jsonable(fields: Mapping[str, object]) -> dict[str, object]:
    out: dict[str, object] = {}
    for key, value in fields.items():
        out[str(key)] = value if isinstance(value, str | int | float | bool) or value is None else str(value)
    return out


def alert_payload(row: Mapping[str, Any] | RowMapping) -> dict[str, Any]:
    """An alert as the API and the live feed show it."""
    return {
        "id": row["id"],
        "kind": row["kind"],
        "rule_id": row["rule_id"],
        "title": row["title"],
        "author": row["author"],
        "severity": row["severity"],
        "tags": list(row["tags"] or []),
        "source": row["source"],
        "host": row["host"],
        "count": row["count"],
        "first_seen": row["first_seen"],
        "last_seen": row["last_seen"],
        "raised_at": row["raised_at"],
        "status": row["status"],
        "case_id": row["case_id"],
        "detail": row["detail"] or {},
    }
