"""Telling people about a community alert: a bus consumer, so the operator never waits on it.

`community.issue` and `community.cancel` enqueue `partners.community_alert_issued` with the
alert's id and version. The durable consumer `partners-community-notify` texts everyone
following the area who has a phone number and pushes to all of them. The promise is "at
least once, normally once" per (alert, version, person, channel):

- each send is recorded (`community_alert_deliveries`) in its own small transaction right
  after the sender took it, so a crash, a failed send or a redelivered event never tells
  again those already told;
- a send that fails does not stop the round: the others are still told (after
  `GATEWAY_DOWN_AFTER` failures in a row the channel is taken to be down and skipped for
  the rest of the round), then the handler raises so the bus delivers the event again and
  the retry sends only what is missing;
- when a version has been told to everyone, a mark (`inbox`, key of alert and version)
  makes every later delivery of its event a no-op;
- a version the bus gave up on (its retries spent while the SMS gateway was down) or an
  event the in-process bus lost when the process stopped is picked up by a sweep every
  `SWEEP_SECONDS`: alerts still in force (and cancellations of the last day) whose current
  version is not marked complete `SWEEP_GRACE` after it was issued. One node sweeps an alert
  per period (an inbox claim of alert, version and period), so nodes do not race each other.

An event for a version that is no longer current (issued, then cancelled before the warning
went out) sends nothing: the cancellation's own event tells people, and a stale warning must
not arrive after it. Two nodes handling the same version at the same instant could both
send; the texts say the same thing.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from typing import Any

import structlog
from sqlalchemy import Connection, and_, or_, select

from khusela.bus import inbox
from khusela.bus.ports import EventBus
from khusela.bus.resilient import PersistentSubscription
from khusela.core.clock import Clock, SystemClock, as_utc
from khusela.core.errors import NotFound
from khusela.core.events import Event
from khusela.identity.ports import SmsSender
from khusela.partners import community
from khusela.partners.ports import PushSender
from khusela.partners.tables import community_alerts
from khusela.store.database import Database

log = structlog.get_logger("khusela.partners.delivery")

CONSUMER = "partners-community-notify"
GATEWAY_DOWN_AFTER = 3
"""Failed sends in a row after which a channel is skipped for the rest of the round."""
SWEEP_SECONDS = 120.0
SWEEP_GRACE = timedelta(minutes=2)
"""Longer than the bus's own retries take, so the sweep does not race them."""
CANCEL_HORIZON = timedelta(days=1)
"""A cancellation still undelivered after this long is no longer worth a text."""
_KEYS = uuid.UUID("0b8f3c52-7d4e-4a61-9c2b-5e1f7a9d3c48")
"""Namespace for the inbox keys of (alert, version) and of sweep periods."""


class DeliveryIncomplete(Exception):
    """Some sends failed; raised after telling everyone else, so the bus tries again."""


@dataclass
class _Channel:
    """One channel within a round: what went out, what was missed, whether it still looks up."""

    name: str
    alert_id: str
    sent: int = 0
    missed: int = 0
    streak: int = 0

    def attempt(self, send: Callable[[], None], then: Callable[[], None]) -> None:
        """`send`, and on success `then` (record it); a channel down for this round is skipped."""
        if self.streak >= GATEWAY_DOWN_AFTER:
            self.missed += 1
            return
        try:
            send()
        except Exception as exc:  # any adapter failure means "not handed over": retried later
            self.missed, self.streak = self.missed + 1, self.streak + 1
            log.warning(
                "community_alert.send_failed", channel=self.name, alert_id=self.alert_id, error=repr(exc)
            )
            return
        self.sent, self.streak = self.sent + 1, 0
        then()


@dataclass(frozen=True, slots=True)
class Round:
    """What one delivery round did."""

    sms: int
    push: int
    missed: int
    """Sends that failed, or were skipped because their channel looked down."""


def complete_key(alert_id: str, version: int) -> str:
    """Inbox key marking a version as told to everyone."""
    return str(uuid.uuid5(_KEYS, f"{alert_id}:{version}"))


def is_complete(conn: Connection, alert_id: str, version: int) -> bool:
    return inbox.seen(conn, CONSUMER, complete_key(alert_id, version))


def progress(conn: Connection, alert: dict[str, Any]) -> dict[str, Any]:
    """How far telling people about the alert's current version got, for the API."""
    version = alert["version"]
    return {
        "delivery": "complete" if is_complete(conn, alert["id"], version) else "pending",
        "deliveries": community.delivery_counts(conn, alert["id"], version),
    }


@dataclass(frozen=True, slots=True)
class _Plan:
    alert: dict[str, Any]
    recipients: list[tuple[str, str | None]]
    done: set[tuple[str, str]]


def _plan(conn: Connection, alert_id: str, version: int) -> _Plan | None:
    """Who is still to be told about this version, or None when nothing is due."""
    try:
        alert = community.get(conn, alert_id)
    except NotFound:
        return None
    if alert["version"] != version or is_complete(conn, alert_id, version):
        return None
    return _Plan(alert, community.recipients(conn, alert), community.delivered(conn, alert_id, version))


def deliver(
    db: Database, alert_id: str, version: int, sms: SmsSender, push: PushSender, clock: Clock
) -> Round | None:
    """Tell everyone following the area about `version` of the alert who was not told yet.

    Returns None when nothing was due (gone, superseded or complete). Raises
    `DeliveryIncomplete` when a send failed, after everyone else was told."""
    with db.read() as conn:
        plan = _plan(conn, alert_id, version)
    if plan is None:
        return None
    alert, text = plan.alert, community.sms_text(plan.alert)
    texts, pushes = _Channel("sms", alert_id), _Channel("push", alert_id)
    texting = sms.available()
    with _notes(db, alert_id, version, clock) as note:
        for user_id, phone in plan.recipients:
            if texting and phone and (user_id, "sms") not in plan.done:
                texts.attempt(partial(sms.send, phone, text), partial(note, user_id, "sms"))
            if (user_id, "push") not in plan.done:
                pushes.attempt(
                    partial(push.push, user_id, alert["headline"], text), partial(note, user_id, "push")
                )
    result = Round(texts.sent, pushes.sent, texts.missed + pushes.missed)
    log.info(
        "community_alert.delivered", alert_id=alert_id, version=version, sms=result.sms, push=result.push
    )
    if result.missed:
        raise DeliveryIncomplete(f"{result.missed} sends missed for alert {alert_id} v{version}; retrying")
    with db.write() as conn:
        inbox.claim(conn, CONSUMER, complete_key(alert_id, version))
    return result


@contextlib.contextmanager
def _notes(db: Database, alert_id: str, version: int, clock: Clock) -> Iterator[Callable[[str, str], None]]:
    """`note(user_id, channel)`: records one send in its own small transaction, committed
    right after the send, so a crash later never re-sends it. The round keeps one connection
    for its notes: checking one out of the pool and back per send (a pre-ping and a reset)
    cost more round trips than the record itself."""
    with db.writer() as conn:

        def note(user_id: str, channel: str) -> None:
            with conn.begin():
                community.record_delivery(conn, alert_id, version, user_id, channel, clock.now())

        yield note


def pending(conn: Connection, now: datetime) -> list[tuple[str, int]]:
    """(alert id, version) of alerts whose current version should have been told by now and
    was not: active and unexpired, or cancelled within `CANCEL_HORIZON`."""
    a = community_alerts.c
    in_force = and_(a.status == "active", a.expires_at > now)
    recently_cancelled = and_(a.status == "cancelled", a.updated_at > now - CANCEL_HORIZON)
    rows = conn.execute(
        select(a.id, a.version).where(or_(in_force, recently_cancelled), a.updated_at <= now - SWEEP_GRACE)
    )
    return [(r.id, r.version) for r in rows if not is_complete(conn, r.id, r.version)]


def _sweep_key(alert_id: str, version: int, now: datetime, period: float) -> str:
    slot = int(as_utc(now).timestamp() // period)
    return str(uuid.uuid5(_KEYS, f"sweep:{alert_id}:{version}:{slot}"))


class CommunityAlertDelivery:
    """The bus consumer (a `Background`) with its sweep: alert events in, texts and pushes out."""

    def __init__(
        self,
        db: Database,
        bus: EventBus,
        sms: SmsSender,
        push: PushSender,
        clock: Clock | None = None,
        durable: str = CONSUMER,
        sweep_seconds: float = SWEEP_SECONDS,
    ) -> None:
        self._db, self._bus, self.sms, self.push = db, bus, sms, push
        self._clock, self._durable, self._sweep_seconds = clock or SystemClock(), durable, sweep_seconds
        self._lock = threading.Lock()
        """One round at a time in this process: the sweep never races the consumer here."""
        self._subscription: PersistentSubscription | None = None
        self._sweeper: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._subscription = PersistentSubscription(
            self._bus, community.ALERT_ISSUED, self._durable, self.handle
        )
        await self._subscription.start()
        self._sweeper = asyncio.create_task(self._sweep_forever(), name="community-alert-sweep")

    async def stop(self) -> None:
        if self._sweeper is not None:
            self._sweeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._sweeper
            self._sweeper = None
        if self._subscription is not None:
            await self._subscription.stop()
            self._subscription = None

    async def handle(self, event: Event) -> None:
        """Deliver the version the event names; raising makes the bus deliver it again."""
        alert_id, version = event.payload.get("alert_id"), event.payload.get("version")
        if not isinstance(alert_id, str) or not isinstance(version, int):
            log.error("community_alert.bad_event", event_id=event.id)
            return
        await asyncio.to_thread(self._deliver, alert_id, version)

    def _deliver(self, alert_id: str, version: int) -> Round | None:
        with self._lock:
            return deliver(self._db, alert_id, version, self.sms, self.push, self._clock)

    async def sweep_once(self) -> int:
        """Deliver what the bus did not; returns how many versions were completed."""
        return await asyncio.to_thread(self._sweep)

    def _sweep(self) -> int:
        now = self._clock.now()
        with self._db.read() as conn:
            due = pending(conn, now)
        completed = 0
        for alert_id, version in due:
            with self._db.write() as conn:
                mine = inbox.claim(conn, CONSUMER, _sweep_key(alert_id, version, now, self._sweep_seconds))
            if not mine:
                continue  # another node sweeps this one in this period
            try:
                completed += self._deliver(alert_id, version) is not None
            except DeliveryIncomplete as exc:
                log.warning("community_alert.sweep_incomplete", alert_id=alert_id, reason=str(exc))
        return completed

    async def _sweep_forever(self) -> None:
        while True:
            await asyncio.sleep(self._sweep_seconds)
            try:
                await self.sweep_once()
            except Exception:  # a failed sweep (database away) must not end the loop
                log.exception("community_alert.sweep_failed")
