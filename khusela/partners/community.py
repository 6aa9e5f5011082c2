"""Community alerts, the areas residents follow, and the patrol areas of community groups.

An operator or municipal official (PARTNERS_WRITE) broadcasts a warning for an area. It is
published in the public CAP feed (`partners.cap_feed`) at once; issuing and cancelling each
enqueue `partners.community_alert_issued` (with the alert's version), and the bus consumer in
`partners.delivery` texts everyone following the area who has a phone number and pushes to
all of them, outside the operator's request. Who follows an area: residents subscribed to one
of its cells or to its municipality, and members of CPFs and neighbourhood watches whose
patrol area touches it. Each delivery is recorded per (alert version, person, channel) right
after its send, so sending again after a failure or a crash skips those already told.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import Connection, delete, func, insert, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from khusela.audit import log as audit
from khusela.bus.outbox import enqueue
from khusela.core.errors import Conflict, Forbidden, InvalidInput, NotFound
from khusela.core.events import Event
from khusela.core.ids import new_id
from khusela.identity.model import AgencyType, Principal, Role
from khusela.identity.policy import Action, Scope, can, scope_of
from khusela.identity.tables import agencies, user_roles, users
from khusela.partners import areas
from khusela.partners.access import is_community
from khusela.partners.tables import (
    community_alert_cells,
    community_alert_deliveries,
    community_alerts,
    community_patrol_areas,
    community_subscriptions,
)

ALERT_ISSUED = "partners.community_alert_issued"
MAX_SUBSCRIPTIONS = 20
SMS_LIMIT = 300
"""Two concatenated SMS segments at most: a warning must stay readable on a basic phone."""


class Category(StrEnum):
    """CAP 1.2 categories a community warning uses."""

    SAFETY = "Safety"
    SECURITY = "Security"
    RESCUE = "Rescue"
    FIRE = "Fire"
    HEALTH = "Health"
    ENV = "Env"
    TRANSPORT = "Transport"
    INFRA = "Infra"
    OTHER = "Other"


class Severity(StrEnum):
    EXTREME = "Extreme"
    SEVERE = "Severe"
    MODERATE = "Moderate"
    MINOR = "Minor"


class Urgency(StrEnum):
    IMMEDIATE = "Immediate"
    EXPECTED = "Expected"
    FUTURE = "Future"


class SubscriptionKind(StrEnum):
    CELL = "cell"
    MUNICIPALITY = "municipality"


@dataclass(frozen=True, slots=True)
class AlertDraft:
    headline: str
    description: str
    area_desc: str
    category: Category = Category.SAFETY
    severity: Severity = Severity.MODERATE
    urgency: Urgency = Urgency.EXPECTED
    instruction: str | None = None
    cells: tuple[str, ...] = ()
    province: str | None = None
    municipality: str | None = None
    valid_for: timedelta = timedelta(hours=24)


def _check_reach(actor: Principal, draft: AlertDraft) -> None:
    scope = scope_of(actor, Action.PARTNERS_WRITE)
    if scope is None or is_community(actor):
        raise Forbidden("community alerts are broadcast by operators and officials")
    if scope is Scope.ALL:
        return
    where = actor.jurisdiction
    if not where.covers(draft.province, draft.municipality, None):
        raise Forbidden(
            "you may warn only areas within your agency's jurisdiction (give its province or municipality)"
        )


def issue(conn: Connection, actor: Principal, draft: AlertDraft, now: datetime) -> dict[str, Any]:
    if not draft.cells and not draft.municipality:
        raise InvalidInput("say where: H3 cells, a municipality, or both")
    if not timedelta(minutes=15) <= draft.valid_for <= timedelta(days=14):
        raise InvalidInput("an alert is valid for between 15 minutes and 14 days")
    _check_reach(actor, draft)
    cells = areas.normalise(draft.cells)
    alert_id = new_id()
    conn.execute(
        insert(community_alerts).values(
            id=alert_id,
            version=1,
            status="active",
            category=draft.category.value,
            severity=draft.severity.value,
            urgency=draft.urgency.value,
            headline=draft.headline,
            description=draft.description,
            instruction=draft.instruction,
            area_desc=draft.area_desc,
            province=draft.province,
            municipality=draft.municipality,
            issuing_agency_id=actor.agency_id,
            issued_by=actor.username,
            sent_at=now,
            expires_at=now + draft.valid_for,
            updated_at=now,
        )
    )
    if cells:
        conn.execute(
            insert(community_alert_cells), [{"alert_id": alert_id, "cell": c} for c in sorted(cells)]
        )
    audit.record(
        conn, actor.username, "partners.community_alert", "community_alert", alert_id, {"cells": len(cells)}
    )
    enqueue(
        conn, Event(ALERT_ISSUED, {"alert_id": alert_id, "version": 1, "municipality": draft.municipality})
    )
    return get(conn, alert_id)


def cancel(conn: Connection, actor: Principal, alert_id: str, now: datetime) -> dict[str, Any]:
    alert = get(conn, alert_id)
    if alert["status"] != "active":
        raise Conflict("the alert is not active")
    scope = scope_of(actor, Action.PARTNERS_WRITE)
    if scope is None or (scope is not Scope.ALL and alert["issuing_agency_id"] != actor.agency_id):
        raise Forbidden("only the issuing agency may cancel its alert")
    conn.execute(
        update(community_alerts)
        .where(community_alerts.c.id == alert_id)
        .values(status="cancelled", version=alert["version"] + 1, updated_at=now)
    )
    audit.record(conn, actor.username, "partners.community_alert_cancel", "community_alert", alert_id)
    enqueue(conn, Event(ALERT_ISSUED, {"alert_id": alert_id, "version": alert["version"] + 1}))
    return get(conn, alert_id)


def get(conn: Connection, alert_id: str) -> dict[str, Any]:
    row = conn.execute(select(community_alerts).where(community_alerts.c.id == alert_id)).first()
    if row is None:
        raise NotFound("no such community alert")
    alert = dict(row._mapping)
    alert["cells"] = list(
        conn.execute(
            select(community_alert_cells.c.cell).where(community_alert_cells.c.alert_id == alert_id)
        ).scalars()
    )
    return alert


def recent(
    conn: Connection, now: datetime, include_expired: bool = False, limit: int = 100
) -> list[dict[str, Any]]:
    """Newest first; by default only what is still in force (active and not expired)."""
    query = select(community_alerts.c.id).order_by(community_alerts.c.sent_at.desc()).limit(limit)
    if not include_expired:
        query = query.where(community_alerts.c.status == "active", community_alerts.c.expires_at > now)
    return [get(conn, alert_id) for alert_id in conn.execute(query).scalars()]


# --- who follows an area -------------------------------------------------------------------


def subscribe(
    conn: Connection, person: Principal, kind: SubscriptionKind, value: str, now: datetime
) -> list[dict[str, Any]]:
    """Follow an area. A finer cell is stored as its resolution-7 parent (no more than needed)."""
    if not can(person, Action.COMMUNITY_READ) and not person.has_role(Role.RESIDENT):
        raise Forbidden("your roles do not allow following community alerts")
    values = sorted(areas.normalise([value])) if kind is SubscriptionKind.CELL else [value.strip()]
    if kind is SubscriptionKind.MUNICIPALITY and not (1 <= len(values[0]) <= 16):
        raise InvalidInput("a municipality is its demarcation code, e.g. JHB")
    existing = {(s["kind"], s["value"]) for s in subscriptions(conn, person)}
    new = [v for v in values if (kind.value, v) not in existing]
    if len(existing) + len(new) > MAX_SUBSCRIPTIONS:
        raise InvalidInput(f"follow at most {MAX_SUBSCRIPTIONS} areas")
    if new:
        conn.execute(
            insert(community_subscriptions),
            [{"user_id": person.user_id, "kind": kind.value, "value": v, "created_at": now} for v in new],
        )
    return subscriptions(conn, person)


def unsubscribe(conn: Connection, person: Principal, subscription_id: int) -> None:
    result = conn.execute(
        delete(community_subscriptions).where(
            community_subscriptions.c.id == subscription_id,
            community_subscriptions.c.user_id == person.user_id,
        )
    )
    if not result.rowcount:
        raise NotFound("no such subscription of yours")


def subscriptions(conn: Connection, person: Principal) -> list[dict[str, Any]]:
    rows = conn.execute(
        select(community_subscriptions.c.id, community_subscriptions.c.kind, community_subscriptions.c.value)
        .where(community_subscriptions.c.user_id == person.user_id)
        .order_by(community_subscriptions.c.id)
    )
    return [dict(r._mapping) for r in rows]


def set_patrol_area(conn: Connection, actor: Principal, agency_id: str, cells: list[str]) -> list[str]:
    """Replace a CPF's or neighbourhood watch's patrol area (its own members, or staff over it)."""
    agency = conn.execute(select(agencies.c.type).where(agencies.c.id == agency_id)).first()
    if agency is None:
        raise NotFound("no such agency")
    if agency.type not in (AgencyType.CPF.value, AgencyType.NEIGHBOURHOOD_WATCH.value):
        raise InvalidInput("patrol areas belong to CPFs and neighbourhood watches")
    scope = scope_of(actor, Action.PARTNERS_WRITE)
    if scope is None or (
        scope is not Scope.ALL and actor.agency_id != agency_id and scope is not Scope.JURISDICTION
    ):
        raise Forbidden("you may not change this group's patrol area")
    normalised = sorted(areas.normalise(cells))
    conn.execute(delete(community_patrol_areas).where(community_patrol_areas.c.agency_id == agency_id))
    if normalised:
        conn.execute(
            insert(community_patrol_areas), [{"agency_id": agency_id, "cell": c} for c in normalised]
        )
    audit.record(
        conn, actor.username, "partners.patrol_area", "agency", agency_id, {"cells": len(normalised)}
    )
    return normalised


def patrol_area(conn: Connection, agency_id: str) -> list[str]:
    rows = conn.execute(
        select(community_patrol_areas.c.cell).where(community_patrol_areas.c.agency_id == agency_id)
    )
    return sorted(rows.scalars())


def recipients(conn: Connection, alert: dict[str, Any]) -> list[tuple[str, str | None]]:
    """(user id, phone) of everyone following the alert's area, each once, in a stable order
    (so a retry walks the same list)."""
    cells = alert["cells"]
    follows = [
        (community_subscriptions.c.kind == SubscriptionKind.CELL.value)
        & community_subscriptions.c.value.in_(cells)
    ]
    if alert["municipality"]:
        follows.append(
            (community_subscriptions.c.kind == SubscriptionKind.MUNICIPALITY.value)
            & (community_subscriptions.c.value == alert["municipality"])
        )
    subscribed = select(community_subscriptions.c.user_id).where(or_(*follows))
    patrolling = select(community_patrol_areas.c.agency_id).where(community_patrol_areas.c.cell.in_(cells))
    members = select(user_roles.c.user_id).where(user_roles.c.role == Role.COMMUNITY_PARTNER.value)
    rows = conn.execute(
        select(users.c.id, users.c.phone).where(
            users.c.is_active.is_(True),
            or_(users.c.id.in_(subscribed), users.c.agency_id.in_(patrolling) & users.c.id.in_(members)),
        )
    )
    return sorted((r.id, r.phone) for r in rows)


def sms_text(alert: dict[str, Any]) -> str:
    prefix = "CANCELLED: " if alert["status"] == "cancelled" else ""
    text = f"{prefix}Khusela {alert['severity']} warning, {alert['area_desc']}: {alert['headline']}."
    if alert["instruction"] and not prefix:
        text += f" {alert['instruction']}"
    return text if len(text) <= SMS_LIMIT else text[: SMS_LIMIT - 1] + "…"


def delivered(conn: Connection, alert_id: str, version: int) -> set[tuple[str, str]]:
    """(user id, channel) of everyone already told about this version of the alert."""
    rows = conn.execute(
        select(community_alert_deliveries.c.user_id, community_alert_deliveries.c.channel).where(
            community_alert_deliveries.c.alert_id == alert_id,
            community_alert_deliveries.c.version == version,
        )
    )
    return {(r.user_id, r.channel) for r in rows}


_RECORD = {
    "postgresql": pg_insert(community_alert_deliveries).on_conflict_do_nothing(),
    "sqlite": sqlite_insert(community_alert_deliveries).on_conflict_do_nothing(),
}
"""Built once: a round records one row per send, and building the statement for each row
cost more CPU than executing it (`bench/partners.py`)."""


def record_delivery(
    conn: Connection, alert_id: str, version: int, user_id: str, channel: str, now: datetime
) -> None:
    """Note that one person was told on one channel; a second note of the same is a no-op
    (two nodes may both have sent it: the row says it went, once is enough)."""
    values = {"alert_id": alert_id, "version": version, "user_id": user_id, "channel": channel, "at": now}
    conn.execute(_RECORD["postgresql" if conn.dialect.name == "postgresql" else "sqlite"], values)


def delivery_counts(conn: Connection, alert_id: str, version: int) -> dict[str, int]:
    """How many people were told about this version, per channel (`sms`, `push`)."""
    rows = conn.execute(
        select(community_alert_deliveries.c.channel, func.count())
        .where(
            community_alert_deliveries.c.alert_id == alert_id,
            community_alert_deliveries.c.version == version,
        )
        .group_by(community_alert_deliveries.c.channel)
    )
    counts = {"sms": 0, "push": 0}
    counts.update({str(channel): int(n) for channel, n in rows})
    return counts
