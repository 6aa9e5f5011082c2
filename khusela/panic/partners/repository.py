"""Partner links, offers and deliveries in the database, inside the caller's transaction."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Select, func, insert, select, update

from khusela.identity.tables import agencies
from khusela.panic.dispatch import OPEN_ASSIGNMENT
from khusela.panic.partners.link import ACTIVE, PartnerStatus
from khusela.panic.partners.tables import partner_deliveries, partner_links, partner_offers
from khusela.panic.tables import assignments, units


@dataclass(frozen=True, slots=True)
class PartnerLink:
    agency_id: str
    agency_name: str
    agency_type: str
    url: str
    sealed_secret: str
    """The shared secret as stored: open it with the partner-link sealer to sign or verify."""
    active: bool


@dataclass(frozen=True, slots=True)
class Offer:
    alert_id: str
    agency_id: str
    status: PartnerStatus
    unit_ref: str | None = None
    eta_seconds: int | None = None
    outcome: str | None = None


@dataclass(frozen=True, slots=True)
class Delivery:
    """A message claimed for sending, with where to send it and the key to sign it."""

    id: str
    agency_id: str
    alert_id: str
    kind: str
    body: bytes
    attempts: int
    url: str
    sealed_secret: str
    active: bool


class PartnerRepository:
    """Reads and writes the partner tables on one connection (one transaction)."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    # -- links

    def link(self, agency_id: str) -> PartnerLink | None:
        row = self.conn.execute(_links().where(partner_links.c.agency_id == agency_id)).first()
        return None if row is None else PartnerLink(*row)

    def links(self) -> list[PartnerLink]:
        return [PartnerLink(*row) for row in self.conn.execute(_links().order_by(agencies.c.name))]

    def save_link(self, agency_id: str, url: str, sealed_secret: str, active: bool, now: datetime) -> None:
        """Create or replace a link; the caller seals the secret (never stored in the clear)."""
        values = {"url": url, "secret": sealed_secret, "active": active, "updated_at": now}
        changed = self.conn.execute(
            update(partner_links).where(partner_links.c.agency_id == agency_id).values(**values)
        )
        if changed.rowcount == 0:
            self.conn.execute(insert(partner_links).values(agency_id=agency_id, created_at=now, **values))

    # -- offers

    def offer(self, alert_id: str, agency_id: str) -> Offer | None:
        row = self.conn.execute(
            _offers().where(partner_offers.c.alert_id == alert_id, partner_offers.c.agency_id == agency_id)
        ).first()
        return None if row is None else _offer(row)

    def active_offers(self, alert_id: str) -> list[Offer]:
        rows = self.conn.execute(
            _offers()
            .where(
                partner_offers.c.alert_id == alert_id,
                partner_offers.c.status.in_([s.value for s in ACTIVE]),
            )
            .order_by(partner_offers.c.offered_at)
        )
        return [_offer(r) for r in rows]

    def save_offer(self, offer: Offer, now: datetime) -> None:
        """Create the offer, or move an existing one (a re-offer starts it afresh)."""
        values = {
            "status": offer.status.value,
            "unit_ref": offer.unit_ref,
            "eta_seconds": offer.eta_seconds,
            "outcome": offer.outcome,
            "updated_at": now,
        }
        if offer.status is PartnerStatus.OFFERED:
            values["offered_at"] = now
        changed = self.conn.execute(
            update(partner_offers)
            .where(partner_offers.c.alert_id == offer.alert_id, partner_offers.c.agency_id == offer.agency_id)
            .values(**values)
        )
        if changed.rowcount == 0:
            self.conn.execute(
                insert(partner_offers).values(
                    alert_id=offer.alert_id, agency_id=offer.agency_id, **{"offered_at": now, **values}
                )
            )

    def partners_with_units_on(self, alert_id: str) -> list[str]:
        """Linked partner agencies (active links) with a unit still assigned to the alert."""
        rows = self.conn.execute(
            select(units.c.agency_id)
            .distinct()
            .join(assignments, assignments.c.unit_id == units.c.id)
            .join(partner_links, partner_links.c.agency_id == units.c.agency_id)
            .where(
                assignments.c.alert_id == alert_id,
                assignments.c.status.in_([s.value for s in OPEN_ASSIGNMENT]),
                partner_links.c.active.is_(True),
            )
            .order_by(units.c.agency_id)
        )
        return [r.agency_id for r in rows]

    def open_assignments(self, alert_id: str) -> int:
        """How many units are still assigned to the alert (any agency)."""
        query = (
            select(func.count())
            .select_from(assignments)
            .where(
                assignments.c.alert_id == alert_id,
                assignments.c.status.in_([s.value for s in OPEN_ASSIGNMENT]),
            )
        )
        return int(self.conn.execute(query).scalar_one())

    # -- deliveries

    def add_delivery(
        self,
        delivery_id: str,
        agency_id: str,
        alert_id: str,
        kind: str,
        body: bytes,
        now: datetime,
        event_id: str | None = None,
    ) -> None:
        self.conn.execute(
            insert(partner_deliveries).values(
                id=delivery_id,
                agency_id=agency_id,
                alert_id=alert_id,
                kind=kind,
                body=body.decode(),
                event_id=event_id,
                attempts=0,
                next_attempt_at=now,
                created_at=now,
            )
        )

    def due(self, now: datetime, limit: int) -> list[str]:
        """Ids of messages waiting to be sent whose time has come, oldest first."""
        rows = self.conn.execute(
            select(partner_deliveries.c.id)
            .where(
                partner_deliveries.c.delivered_at.is_(None),
                partner_deliveries.c.gave_up_at.is_(None),
                partner_deliveries.c.next_attempt_at <= now,
            )
            .order_by(partner_deliveries.c.next_attempt_at, partner_deliveries.c.created_at)
            .limit(limit)
        )
        return [r.id for r in rows]

    def claim(self, delivery_id: str, now: datetime, lease: timedelta) -> Delivery | None:
        """Take a due message for one attempt; None if another worker has it or it is done.

        The claim pushes `next_attempt_at` past the attempt, so a worker that dies in the
        middle leaves the message to be tried again once the lease runs out.
        """
        claimed = self.conn.execute(
            update(partner_deliveries)
            .where(
                partner_deliveries.c.id == delivery_id,
                partner_deliveries.c.delivered_at.is_(None),
                partner_deliveries.c.gave_up_at.is_(None),
                partner_deliveries.c.next_attempt_at <= now,
            )
            .values(attempts=partner_deliveries.c.attempts + 1, next_attempt_at=now + lease)
        )
        if claimed.rowcount != 1:
            return None
        row = self.conn.execute(
            select(
                partner_deliveries.c.id,
                partner_deliveries.c.agency_id,
                partner_deliveries.c.alert_id,
                partner_deliveries.c.kind,
                partner_deliveries.c.body,
                partner_deliveries.c.attempts,
                partner_links.c.url,
                partner_links.c.secret,
                partner_links.c.active,
            )
            .join(partner_links, partner_links.c.agency_id == partner_deliveries.c.agency_id)
            .where(partner_deliveries.c.id == delivery_id)
        ).one()
        return Delivery(
            id=row.id,
            agency_id=row.agency_id,
            alert_id=row.alert_id,
            kind=row.kind,
            body=row.body.encode(),
            attempts=row.attempts,
            url=row.url,
            sealed_secret=row.secret,
            active=bool(row.active),
        )

    def delivered(self, delivery_id: str, now: datetime) -> None:
        self.conn.execute(
            update(partner_deliveries)
            .where(partner_deliveries.c.id == delivery_id)
            .values(delivered_at=now, last_error=None)
        )

    def failed(self, delivery_id: str, error: str, retry_at: datetime | None, now: datetime) -> None:
        """Record a failed attempt: try again at `retry_at`, or give up when it is None."""
        values: dict[str, object] = {"last_error": error[:300]}
        if retry_at is None:
            values["gave_up_at"] = now
        else:
            values["next_attempt_at"] = retry_at
        self.conn.execute(
            update(partner_deliveries).where(partner_deliveries.c.id == delivery_id).values(**values)
        )


_LINK_COLUMNS = (
    partner_links.c.agency_id,
    agencies.c.name,
    agencies.c.type,
    partner_links.c.url,
    partner_links.c.secret,
    partner_links.c.active,
)
_OFFER_COLUMNS = (
    partner_offers.c.alert_id,
    partner_offers.c.agency_id,
    partner_offers.c.status,
    partner_offers.c.unit_ref,
    partner_offers.c.eta_seconds,
    partner_offers.c.outcome,
)


def _links() -> Select[Any]:
    return select(*_LINK_COLUMNS).join(agencies, agencies.c.id == partner_links.c.agency_id)


def _offers() -> Select[Any]:
    return select(*_OFFER_COLUMNS)


def _offer(row: Any) -> Offer:
    alert_id, agency_id, status, unit_ref, eta, outcome = row
    return Offer(alert_id, agency_id, PartnerStatus(status), unit_ref, eta, outcome)
