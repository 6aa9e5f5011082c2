"""A resident's panic profile: cancel and duress PINs, the vulnerable-person flag that
raises triage priority, and up to five trusted contacts who are told when help is sent."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, delete, insert, select, update

from khusela.audit import log as audit
from khusela.core.errors import InvalidInput
from khusela.identity import directory, passwords
from khusela.identity.directory import normalise_phone
from khusela.identity.model import Principal
from khusela.panic.tables import panic_profiles, trusted_contacts

MAX_TRUSTED_CONTACTS = 5


@dataclass(frozen=True, slots=True)
class TrustedContact:
    name: str
    phone: str


@dataclass(frozen=True, slots=True)
class PanicProfile:
    has_pin: bool
    has_duress_pin: bool
    vulnerable: bool
    trusted_contacts: list[TrustedContact]


@dataclass(frozen=True, slots=True)
class ResidentCard:
    """What an operator working an alert may see of the resident who raised it."""

    display_name: str
    phone: str | None
    vulnerable: bool
    false_alarms: int
    flagged_for_review: bool


def resident_card(conn: Connection, resident_id: str, review_after: int) -> ResidentCard | None:
    """The card for an alert's detail; the caller has already checked the alert is visible."""
    contact = directory.contact_of(conn, resident_id)
    if contact is None:
        return None
    row = conn.execute(
        select(panic_profiles.c.vulnerable, panic_profiles.c.false_alarms).where(
            panic_profiles.c.user_id == resident_id
        )
    ).first()
    vulnerable, false_alarms = (bool(row.vulnerable), int(row.false_alarms)) if row else (False, 0)
    return ResidentCard(contact[0], contact[1], vulnerable, false_alarms, false_alarms >= review_after)


def get_profile(conn: Connection, resident: Principal) -> PanicProfile:
    row = conn.execute(select(panic_profiles).where(panic_profiles.c.user_id == resident.user_id)).first()
    contacts = [
        TrustedContact(r.name, r.phone)
        for r in conn.execute(
            select(trusted_contacts)
            .where(trusted_contacts.c.user_id == resident.user_id)
            .order_by(trusted_contacts.c.position)
        )
    ]
    if row is None:
        return PanicProfile(False, False, False, contacts)
    return PanicProfile(bool(row.pin_hash), bool(row.duress_pin_hash), bool(row.vulnerable), contacts)


def set_profile(
    conn: Connection,
    resident: Principal,
    *,
    now: datetime,
    pin: str | None = None,
    duress_pin: str | None = None,
    vulnerable: bool | None = None,
    contacts: list[TrustedContact] | None = None,
) -> PanicProfile:
    """Update what is given; PINs are stored hashed like passwords."""
    if pin is not None and duress_pin is not None and pin == duress_pin:
        raise InvalidInput("the duress PIN must differ from the PIN")
    values: dict[str, object] = {"updated_at": now}
    try:
        if pin is not None:
            values["pin_hash"] = passwords.hash_pin(pin)
        if duress_pin is not None:
            values["duress_pin_hash"] = passwords.hash_pin(duress_pin)
    except ValueError as exc:
        raise InvalidInput(str(exc)) from None
    if vulnerable is not None:
        values["vulnerable"] = vulnerable
    exists = conn.execute(
        select(panic_profiles.c.user_id).where(panic_profiles.c.user_id == resident.user_id)
    ).first()
    if exists is None:
        conn.execute(
            insert(panic_profiles).values(
                user_id=resident.user_id, vulnerable=False, false_alarms=0, updated_at=now
            )
        )
    conn.execute(update(panic_profiles).where(panic_profiles.c.user_id == resident.user_id).values(**values))
    if contacts is not None:
        _replace_contacts(conn, resident, contacts)
    audit.record(
        conn,
        resident.username,
        "panic.profile_update",
        "user",
        resident.user_id,
        {
            "pin": pin is not None,
            "duress_pin": duress_pin is not None,
            "contacts": None if contacts is None else len(contacts),
        },
    )
    return get_profile(conn, resident)


def _replace_contacts(conn: Connection, resident: Principal, contacts: list[TrustedContact]) -> None:
    if len(contacts) > MAX_TRUSTED_CONTACTS:
        raise InvalidInput(f"at most {MAX_TRUSTED_CONTACTS} trusted contacts")
    rows = [
        {
            "user_id": resident.user_id,
            "position": i,
            "name": c.name.strip()[:100],
            "phone": normalise_phone(c.phone),
        }
        for i, c in enumerate(contacts)
    ]
    conn.execute(delete(trusted_contacts).where(trusted_contacts.c.user_id == resident.user_id))
    if rows:
        conn.execute(insert(trusted_contacts), rows)
