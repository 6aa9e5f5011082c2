"""The partner link's use cases: register a partner, offer it an alert, take its reports,
and decide which messages each alert change sends to which partner.

Every change to an alert goes through `records.change`, so its timeline line, audit
record and event commit together with the partner tables, in the caller's transaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import Connection, select

from khusela.audit import log as audit
from khusela.core.errors import Conflict, InvalidInput, NotFound
from khusela.core.ids import new_id
from khusela.core.sealed import Sealer, from_settings
from khusela.identity.model import Principal
from khusela.identity.policy import Action
from khusela.identity.tables import agencies
from khusela.panic import records
from khusela.panic.dispatch import release_units
from khusela.panic.events import ALERT_CHANGED
from khusela.panic.model import OPEN_STATUSES, AlertStatus
from khusela.panic.partners.link import (
    ACTIVE,
    PARTNER_AGENCY_TYPES,
    PartnerStatus,
    alert_changes,
    alert_message,
    can_report,
)
from khusela.panic.partners.repository import Offer, PartnerLink, PartnerRepository
from khusela.panic.partners.tables import SEALED
from khusela.panic.queries import visible_alert

SYSTEM_ACTOR = "system:partner-link"
DISPATCH_CHANGES = frozenset({"unit_dispatched", "dispatched"})
"""Alert changes after which a unit of a linked partner may have been sent."""


def partner_actor(agency_id: str) -> str:
    """How a partner appears on timelines and in the audit log."""
    return f"partner:{agency_id}"


# ------------------------------------------------------------------ registration


def set_link(
    conn: Connection,
    admin: Principal,
    agency_id: str,
    url: str,
    secret: str,
    active: bool,
    now: datetime,
    *,
    require_https: bool,
    sealer: Sealer | None = None,
) -> PartnerLink:
    """Register (or replace) a partner agency's webhook endpoint and shared secret.

    The secret is stored sealed by `sealer` (the platform's; by default the process's own
    settings), bound to this agency's row.
    """
    agency = conn.execute(select(agencies.c.type).where(agencies.c.id == agency_id)).first()
    if agency is None:
        raise NotFound("no such agency")
    if agency.type not in PARTNER_AGENCY_TYPES:
        raise InvalidInput("only private security and EMS agencies can be partners")
    parts = urlsplit(url)
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise InvalidInput("the partner URL must be an http(s) URL with a host")
    if require_https and parts.scheme != "https":
        raise InvalidInput("the partner URL must use https")
    repo = PartnerRepository(conn)
    sealed = (sealer or from_settings(SEALED)).seal(secret, agency_id)
    repo.save_link(agency_id, url, sealed, active, now)
    # The secret is never written to the audit log.
    audit.record(
        conn, admin.username, "panic.partner_link", "agency", agency_id, {"url": url, "active": active}
    )
    link = repo.link(agency_id)
    assert link is not None
    return link


# ------------------------------------------------------------------ offers


def offer(conn: Connection, operator: Principal, alert_id: str, agency_id: str, now: datetime) -> Offer:
    """An operator offers the alert to a partner; the offer message is queued in the same
    transaction, so an acknowledged offer is never lost."""
    alert = visible_alert(conn, operator, alert_id, Action.PANIC_DISPATCH, for_update=True)
    if AlertStatus(alert["status"]) not in OPEN_STATUSES:
        raise Conflict("the alert is closed")
    repo = PartnerRepository(conn)
    link = repo.link(agency_id)
    if link is None or not link.active:
        raise InvalidInput("that agency has no active partner link")
    return _offer(conn, repo, alert, link, operator.username, now, event_id=None)


def _offer(
    conn: Connection,
    repo: PartnerRepository,
    alert: records.Alert,
    link: PartnerLink,
    actor: str,
    now: datetime,
    event_id: str | None,
) -> Offer:
    existing = repo.offer(alert["id"], link.agency_id)
    if existing is not None and existing.status in ACTIVE:
        raise Conflict(f"the alert is already with {link.agency_name} ({existing.status})")
    made = Offer(alert["id"], link.agency_id, PartnerStatus.OFFERED)
    repo.save_offer(made, now)
    updated = records.change(
        conn,
        alert,
        {},
        actor=actor,
        kind="partner_offered",
        at=now,
        subject=ALERT_CHANGED,
        audit_details={"agency_id": link.agency_id, "agency": link.agency_name},
    )
    _queue(repo, "offer", updated, link.agency_id, PartnerStatus.OFFERED, now, event_id)
    return made


def _queue(
    repo: PartnerRepository,
    kind: str,
    alert: records.Alert,
    agency_id: str,
    status: PartnerStatus,
    now: datetime,
    event_id: str | None,
) -> None:
    message_id = new_id()
    body = alert_message(kind, message_id, alert, agency_id, status, now)
    repo.add_delivery(message_id, agency_id, alert["id"], kind, body, now, event_id)


# ------------------------------------------------------------------ outgoing fan-out


def concerns_partners(conn: Connection, payload: dict[str, Any]) -> bool:
    """Whether an alert event may send anything to a partner (a cheap read, so that alerts
    no partner works cost the partner link no write)."""
    change = str(payload.get("change", ""))
    if change.startswith("partner_"):
        return False
    repo = PartnerRepository(conn)
    alert_id = str(payload.get("alert_id", ""))
    if change in DISPATCH_CHANGES and repo.partners_with_units_on(alert_id):
        return True
    return bool(repo.active_offers(alert_id))


def on_alert_changed(conn: Connection, payload: dict[str, Any], event_id: str, now: datetime) -> None:
    """React to one `panic.alert_changed` event (the caller claims the event id first).

    A dispatch to a unit of a linked partner offers the alert to that partner; any other
    change (not one a partner reported itself) is sent as an update to every partner still
    working the alert.
    """
    change = str(payload.get("change", ""))
    if change.startswith("partner_"):
        return
    try:
        alert = records.load(conn, str(payload["alert_id"]), for_update=True)
    except NotFound:
        return
    repo = PartnerRepository(conn)
    offered: set[str] = set()
    if change in DISPATCH_CHANGES:
        for agency_id in repo.partners_with_units_on(alert["id"]):
            existing = repo.offer(alert["id"], agency_id)
            link = repo.link(agency_id)
            if link is not None and (existing is None or existing.status not in ACTIVE):
                _offer(conn, repo, alert, link, SYSTEM_ACTOR, now, event_id)
                alert = records.load(conn, alert["id"])
                offered.add(agency_id)
    for engaged in repo.active_offers(alert["id"]):
        if engaged.agency_id not in offered:
            _queue(repo, "update", alert, engaged.agency_id, engaged.status, now, event_id)


# ------------------------------------------------------------------ incoming reports


@dataclass(frozen=True, slots=True)
class PartnerReport:
    """What a partner's control room reports about an alert offered to it."""

    alert_id: str
    status: PartnerStatus
    at: datetime
    unit_ref: str | None = None
    eta_seconds: int | None = None
    outcome: str | None = None
    reason: str | None = None


def report(
    conn: Connection, agency_id: str, update: PartnerReport, now: datetime
) -> tuple[Offer, records.Alert]:
    """Apply a partner's (already authenticated) report: checked against where the partner
    stands, recorded on the alert's timeline, audit log and bus together."""
    repo = PartnerRepository(conn)
    alert = records.load(conn, update.alert_id, for_update=True)  # the alert first, as everywhere
    current = repo.offer(update.alert_id, agency_id)
    if current is None:
        raise NotFound("no such alert")
    if update.status is current.status:
        return current, alert
    if not can_report(current.status, update.status):
        raise Conflict(f"cannot report {update.status} after {current.status}")
    if AlertStatus(alert["status"]) not in OPEN_STATUSES and update.status is not PartnerStatus.CLOSED:
        raise Conflict(f"the alert is {alert['status']}")
    moved = Offer(
        update.alert_id,
        agency_id,
        update.status,
        unit_ref=update.unit_ref or current.unit_ref,
        eta_seconds=update.eta_seconds if update.eta_seconds is not None else current.eta_seconds,
        outcome=update.outcome,
    )
    repo.save_offer(moved, now)
    details = {
        "agency_id": agency_id,
        "unit_ref": update.unit_ref,
        "eta_seconds": update.eta_seconds,
        "outcome": update.outcome,
        "reason": update.reason,
        "partner_at": update.at.isoformat(),
    }
    units_on_alert = repo.open_assignments(update.alert_id)
    values = alert_changes(alert, agency_id, update.status, now, update.outcome, units_on_alert)
    if update.status is PartnerStatus.REJECTED:
        details["returned_to_queue"] = values.get("assigned_agency_id", agency_id) is None
        if units_on_alert:
            details["units_still_assigned"] = units_on_alert
    changed = records.change(
        conn,
        alert,
        values,
        actor=partner_actor(agency_id),
        kind=f"partner_{update.status.value}",
        at=now,
        subject=ALERT_CHANGED,
        audit_details={k: v for k, v in details.items() if v is not None},
    )
    if changed["status"] == AlertStatus.RESOLVED.value and alert["status"] != AlertStatus.RESOLVED.value:
        release_units(conn, changed, partner_actor(agency_id), now)
    return moved, changed


# ------------------------------------------------------------------ delivery outcome


def delivery_gave_up(
    conn: Connection, alert_id: str, agency_id: str, kind: str, error: str, now: datetime
) -> None:
    """Tell the operator, on the alert and the live feed, that a partner never got a message."""
    try:
        alert = records.load(conn, alert_id, for_update=True)
    except NotFound:
        return
    records.change(
        conn,
        alert,
        {},
        actor=SYSTEM_ACTOR,
        kind="partner_unreachable",
        at=now,
        subject=ALERT_CHANGED,
        audit_details={"agency_id": agency_id, "message": kind, "error": error[:200]},
    )


def delivery_arrived(conn: Connection, alert_id: str, agency_id: str, now: datetime) -> None:
    """A timeline line once a partner's system has the offer (no event: nothing changed)."""
    records.note(conn, alert_id, SYSTEM_ACTOR, "partner_received", now, agency_id=agency_id)
