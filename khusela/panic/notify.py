"""Telling the resident and their trusted contacts (at most five) how their alert goes.

A bus consumer (durable `panic-notify`) turns alert events into short texts at four
milestones: raised, a unit dispatched (with its ETA when known), the unit on scene, and
the alert closed (resolved or cancelled). Sending goes through the `Notifier` port; the
demo's adapter writes to the log with numbers masked.

Safety rules, because an attacker may be standing next to the resident:
- a **silent or duress** alert never sends anything to the resident's own phone: a
  message arriving, or a "help is on its way" on the lock screen, would betray them.
  Whether the alert is silent or under duress is read from the alert row when the event
  is handled, so a duress signal given after the press also stops later messages;
- trusted contacts are still told, and for such an alert are asked not to phone or text
  the resident; when the resident gives the duress PIN, the contacts are told the alert is
  still active (the resident's phone shows it as cancelled);
- messages carry no alert type, location or note (a contact may not be who the resident
  thinks; POPIA asks for the minimum): only who, what happened, when, and the ETA.

Each text goes out at least once and normally once only: each (alert, milestone, phone)
is recorded in the inbox (`khusela.bus.inbox`) after its message was handed to the
notifier, so a redelivered event, or a second event reaching the same milestone (e.g. a
re-dispatch), sends nothing again, and a retry after a failed send skips what went out.
Two events of one milestone handled at the same instant on two nodes could both send;
the texts say the same thing.
"""

from __future__ import annotations

import asyncio
import uuid
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from enum import StrEnum
from typing import TYPE_CHECKING, Any, Protocol

import structlog
from sqlalchemy import Connection, bindparam, func, select

from khusela.bus import inbox
from khusela.bus.ports import EventBus
from khusela.bus.resilient import PersistentSubscription
from khusela.bus.tables import inbox as inbox_table
from khusela.core.events import Event
from khusela.identity.adapters.sms_log import mask_phone
from khusela.identity.ports import SmsSender
from khusela.identity.tables import users
from khusela.panic.events import ALERT_CHANGED, ALERT_RAISED
from khusela.panic.model import AlertStatus
from khusela.panic.tables import alerts, assignments, devices, trusted_contacts
from khusela.store.database import Database

if TYPE_CHECKING:
    from khusela.bootstrap import Background, Platform

log = structlog.get_logger("khusela.notify")

CONSUMER = "panic-notify"
MAX_CONTACTS = 5
SAST = timezone(timedelta(hours=2), "SAST")
_KEYS = uuid.UUID("6f1d2a4e-3c1b-4f0e-9a57-5b7c0d4e8a21")
"""Namespace for the inbox keys of (alert, milestone, phone)."""


class Notifier(Protocol):
    def send(self, to_phone: str, message: str) -> None:
        """Hand a short text to a phone number (E.164); raise if it could not be handed over."""
        ...


class LogNotifier:
    """The demo's notifier: writes each message to the log, the number masked."""

    def __init__(self) -> None:
        self.sent: deque[tuple[str, str]] = deque(maxlen=200)

    def send(self, to_phone: str, message: str) -> None:
        self.sent.append((to_phone, message))
        log.info("notify.demo_delivery", to=mask_phone(to_phone), text=message)


class SmsNotifier:
    """Texts through the platform's SMS gateway (the one that sends sign-in codes)."""

    def __init__(self, sms: SmsSender) -> None:
        self._sms = sms

    def send(self, to_phone: str, message: str) -> None:
        self._sms.send(to_phone, message)


class Milestone(StrEnum):
    RAISED = "raised"
    DISPATCHED = "dispatched"
    ON_SCENE = "on_scene"
    RESOLVED = "resolved"
    CANCELLED = "cancelled"
    DURESS = "duress"
    """Contacts only: the resident gave the duress PIN; their phone shows "cancelled"."""


_BY_STATUS = {
    AlertStatus.DISPATCHED.value: Milestone.DISPATCHED,
    AlertStatus.ON_SCENE.value: Milestone.ON_SCENE,
    AlertStatus.RESOLVED.value: Milestone.RESOLVED,
    AlertStatus.CANCELLED.value: Milestone.CANCELLED,
}


def milestone_of(event: Event) -> Milestone | None:
    """The milestone an alert event marks, or None for changes nobody is texted about."""
    if event.subject == ALERT_RAISED:
        return Milestone.RAISED
    if event.subject != ALERT_CHANGED:
        return None
    if event.payload.get("change") == "duress":
        return Milestone.DURESS
    return _BY_STATUS.get(str(event.payload.get("status")))


@dataclass(frozen=True, slots=True)
class Facts:
    """What the messages may say."""

    name: str
    at: datetime
    eta_seconds: int | None


def _eta(seconds: int | None) -> str:
    if seconds is None:
        return ""
    minutes = max(1, round(seconds / 60))
    return f", expected in about {minutes} min"


def resident_message(milestone: Milestone, facts: Facts) -> str | None:
    """The text to the resident's own phone (never called for silent or duress alerts)."""
    time = facts.at.astimezone(SAST).strftime("%H:%M")
    texts = {
        Milestone.RAISED: f"Khusela: your panic alert was received at {time}. Help is being arranged.",
        Milestone.DISPATCHED: f"Khusela: a response unit is on its way{_eta(facts.eta_seconds)}.",
        Milestone.ON_SCENE: "Khusela: the response unit has arrived.",
        Milestone.RESOLVED: "Khusela: your alert has been closed.",
        Milestone.CANCELLED: "Khusela: your alert was cancelled.",
    }
    return texts.get(milestone)


def contact_message(milestone: Milestone, facts: Facts, discreet: bool) -> str:
    """The text to a trusted contact; `discreet` for silent and duress alerts."""
    time = facts.at.astimezone(SAST).strftime("%H:%M")
    who = facts.name
    texts = {
        Milestone.RAISED: f"Khusela: {who} raised a panic alert at {time}. The command centre is responding.",
        Milestone.DISPATCHED: f"Khusela: a response unit is on its way to {who}{_eta(facts.eta_seconds)}.",
        Milestone.ON_SCENE: f"Khusela: the response unit has reached {who}.",
        Milestone.RESOLVED: f"Khusela: {who}'s panic alert has been closed.",
        Milestone.CANCELLED: f"Khusela: {who} cancelled their panic alert.",
        Milestone.DURESS: f"Khusela: {who}'s panic alert is still active and has been made urgent.",
    }
    text = texts[milestone]
    if discreet and milestone is not Milestone.RESOLVED:
        text += f" It may not be safe for {who} to talk: do not phone or text them."
    return text


@dataclass(frozen=True, slots=True)
class Outgoing:
    key: str
    """Inbox key of (alert, milestone, phone): sent once."""
    phone: str
    message: str


def plan(conn: Connection, event: Event, milestone: Milestone) -> list[Outgoing]:
    """The messages `event` calls for, minus those already sent for this milestone."""
    person = conn.execute(_ALERT_AND_PERSON, {"alert_id": str(event.payload["alert_id"])}).first()
    if person is None or person.user_id is None:
        return []
    discreet = bool(person.silent or person.duress)
    facts = Facts(person.display_name, event.occurred_at, _eta_of(conn, event.payload, person.alert_id))
    messages: list[tuple[str, str]] = []
    own = None if discreet else resident_message(milestone, facts)
    if own is not None and person.phone:
        messages.append((person.phone, own))
    for contact in _contacts(conn, person.user_id):
        messages.append((contact, contact_message(milestone, facts, discreet)))
    keyed = [
        (str(uuid.uuid5(_KEYS, f"{person.alert_id}:{milestone.value}:{to}")), to, text)
        for to, text in messages
    ]
    done = _already_sent(conn, [key for key, _, _ in keyed])
    return [Outgoing(key, to, text) for key, to, text in keyed if key not in done]


# One query for what `plan` needs of the alert and of its person: the resident, or the
# device's owner. (It was four statements per event: load, owner, person, and a check.)
_person = func.coalesce(alerts.c.resident_id, devices.c.owner_user_id)
_ALERT_AND_PERSON = (
    select(
        alerts.c.id.label("alert_id"),
        alerts.c.silent,
        alerts.c.duress,
        users.c.id.label("user_id"),
        users.c.display_name,
        users.c.phone,
    )
    .select_from(alerts)
    .outerjoin(devices, devices.c.id == alerts.c.device_id)
    .outerjoin(users, users.c.id == _person)
    .where(alerts.c.id == bindparam("alert_id"))
)


def _already_sent(conn: Connection, keys: list[str]) -> set[str]:
    """Which of the (alert, milestone, phone) keys are in this consumer's inbox."""
    if not keys:
        return set()
    query = select(inbox_table.c.event_id).where(
        inbox_table.c.consumer == CONSUMER, inbox_table.c.event_id.in_(keys)
    )
    return set(conn.execute(query).scalars())


def _contacts(conn: Connection, resident_id: str) -> list[str]:
    rows = conn.execute(
        select(trusted_contacts.c.phone)
        .where(trusted_contacts.c.user_id == resident_id)
        .order_by(trusted_contacts.c.position)
        .limit(MAX_CONTACTS)
    )
    return [str(r.phone) for r in rows]


def _eta_of(conn: Connection, payload: Mapping[str, Any], alert_id: str) -> int | None:
    """The ETA the event carries, else that of the alert's current assignment."""
    if payload.get("eta_seconds") is not None:
        return int(payload["eta_seconds"])
    if payload.get("status") != AlertStatus.DISPATCHED.value:
        return None
    eta = conn.execute(
        select(assignments.c.eta_seconds)
        .where(assignments.c.alert_id == alert_id, assignments.c.cleared_at.is_(None))
        .order_by(assignments.c.assigned_at.desc())
        .limit(1)
    ).scalar()
    return None if eta is None else int(eta)


class AlertNotifications:
    """The bus consumer (a `Background`): alert events in, texts out."""

    def __init__(self, db: Database, bus: EventBus, notifier: Notifier, durable: str = CONSUMER) -> None:
        self._db, self._bus, self.notifier, self._durable = db, bus, notifier, durable
        self._subscription: PersistentSubscription | None = None

    async def start(self) -> None:
        """Subscribe now; if the bus is down, keep trying in the background."""
        self._subscription = PersistentSubscription(self._bus, "panic.*", self._durable, self.handle)
        await self._subscription.start()

    async def stop(self) -> None:
        if self._subscription is not None:
            await self._subscription.stop()
            self._subscription = None

    async def handle(self, event: Event) -> None:
        """Send what `event` calls for; raising makes the bus deliver it again."""
        milestone = milestone_of(event)
        if milestone is None:
            return
        await asyncio.to_thread(self._handle, event, milestone)

    def _handle(self, event: Event, milestone: Milestone) -> None:
        with self._db.read() as conn:
            if inbox.seen(conn, CONSUMER, event.id):
                return
            outgoing = plan(conn, event, milestone)
        sent: list[str] = []
        try:
            for message in outgoing:
                self.notifier.send(message.phone, message.message)
                sent.append(message.key)
        finally:
            # Record what went out even if a later send failed: the retry sends only the rest.
            with self._db.write() as conn:
                for key in sent:
                    inbox.claim(conn, CONSUMER, key)
                if len(sent) == len(outgoing):
                    inbox.claim(conn, CONSUMER, event.id)


def choose_notifier(platform: Platform) -> Notifier | None:
    """The SMS gateway in production (None while none is configured); the log elsewhere."""
    from khusela.core.settings import Environment

    if platform.settings.environment is not Environment.PRODUCTION:
        return LogNotifier()
    if platform.sms.available():
        return SmsNotifier(platform.sms)
    log.warning("notify.disabled", reason="no SMS gateway is configured; residents' contacts are not told")
    return None


def services(platform: Platform) -> list[Background]:
    notifier = choose_notifier(platform)
    return [] if notifier is None else [AlertNotifications(platform.db, platform.bus, notifier)]
