"""The partner link's background service: turns alert events into messages for partners
and delivers them to the partners' webhooks.

Two loops, one service:
- a durable bus consumer (`partner-link`) that, once per event id (inbox claim in the same
  transaction), queues messages in `partner_deliveries`;
- a sender that claims due messages (a lease, so several nodes never send one twice at
  once), signs and POSTs each in its own task with a timeout, and retries failures with
  exponential backoff and jitter. A slow or failing partner holds up only its own
  messages; after the last attempt the operator's timeline says the partner is unreachable.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

import httpx
import structlog

from khusela.bus.inbox import claim
from khusela.bus.ports import EventBus
from khusela.bus.resilient import PersistentSubscription
from khusela.core.clock import Clock, SystemClock
from khusela.core.events import Event
from khusela.core.sealed import Sealer, SealError, from_settings
from khusela.panic.events import ALERT_CHANGED
from khusela.panic.partners import updates
from khusela.panic.partners.link import DELIVERY_HEADER, signed_headers
from khusela.panic.partners.repository import Delivery, PartnerRepository
from khusela.panic.partners.tables import SEALED
from khusela.store.database import Database

log = structlog.get_logger(__name__)
CONSUMER = "partner-link"


@dataclass(frozen=True, slots=True)
class Retry:
    """When to try again: `first` seconds, doubling up to `ceiling`, `attempts` tries in all.

    The defaults give up after about two minutes: past that, a panic alert needs the
    operator to send someone else, not a webhook that may come back.
    """

    first: float = 1.0
    ceiling: float = 60.0
    attempts: int = 8

    def delay(self, attempt: int) -> float | None:
        """Seconds to wait after failed attempt number `attempt` (1-based); None: give up."""
        if attempt >= self.attempts:
            return None
        base = min(self.ceiling, self.first * float(2 ** (attempt - 1)))
        return base * random.uniform(0.8, 1.2)  # noqa: S311 - jitter, not a secret


class PartnerDelivery:
    """Background service (see `khusela.bootstrap.Background`)."""

    def __init__(
        self,
        db: Database,
        bus: EventBus,
        *,
        retry: Retry | None = None,
        timeout_seconds: float = 5.0,
        poll_seconds: float = 0.5,
        batch: int = 50,
        clock: Clock | None = None,
        notify: Callable[[], None] | None = None,
        sealer: Sealer | None = None,
    ) -> None:
        """`notify` is called after a commit that queued events (the outbox relay's);
        `sealer` opens the partners' secrets (default: under the process's own settings)."""
        self._db, self._bus = db, bus
        self._sealer = sealer or from_settings(SEALED)
        self._notify = notify or (lambda: None)
        self.retry = retry or Retry()
        """When failed messages are tried again (may be tuned while running)."""
        self._timeout = timeout_seconds
        self._poll = poll_seconds
        self._batch = batch
        self._clock = clock or SystemClock()
        self._lease = timedelta(seconds=timeout_seconds + 30)
        self._wake = asyncio.Event()
        self._subscription: PersistentSubscription | None = None
        self._loop: asyncio.Task[None] | None = None
        self._sending: set[asyncio.Task[None]] = set()
        self._client: httpx.AsyncClient | None = None

    async def start(self) -> None:
        self._client = httpx.AsyncClient(timeout=self._timeout, follow_redirects=False)
        self._subscription = PersistentSubscription(self._bus, ALERT_CHANGED, CONSUMER, self._on_event)
        await self._subscription.start()
        self._loop = asyncio.create_task(self._run(), name="partner-link-sender")

    async def stop(self) -> None:
        if self._subscription is not None:
            await self._subscription.stop()
            self._subscription = None
        tasks = [t for t in (self._loop, *self._sending) if t is not None]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._loop = None
        self._sending.clear()
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    def wake(self) -> None:
        """Look for due messages now (e.g. after an offer was committed)."""
        self._wake.set()

    # -- consumer

    async def _on_event(self, event: Event) -> None:
        await asyncio.to_thread(self._queue_messages, event)
        self._notify()
        self.wake()

    def _queue_messages(self, event: Event) -> None:
        with self._db.read() as conn:
            if not updates.concerns_partners(conn, event.payload):
                return
        with self._db.write() as conn:
            if claim(conn, CONSUMER, event.id):
                updates.on_alert_changed(conn, event.payload, event.id, self._clock.now())

    # -- sender

    async def _run(self) -> None:
        while True:
            self._wake.clear()
            try:
                claimed = await asyncio.to_thread(self._claim_due)
            except Exception:
                log.exception("partner_link.claim_failed")
                claimed = []
            for delivery in claimed:
                task = asyncio.create_task(self._send(delivery), name=f"partner-link:{delivery.id}")
                self._sending.add(task)
                task.add_done_callback(self._sending.discard)
            if len(claimed) >= self._batch:
                continue
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=self._poll)

    def _claim_due(self) -> list[Delivery]:
        now = self._clock.now()
        with self._db.read() as conn:
            due = PartnerRepository(conn).due(now, self._batch)
        claimed = []
        for delivery_id in due:
            with self._db.write() as conn:
                delivery = PartnerRepository(conn).claim(delivery_id, now, self._lease)
            if delivery is not None:
                claimed.append(delivery)
        return claimed

    async def _send(self, delivery: Delivery) -> None:
        error = "the partner link is switched off" if not delivery.active else await self._post(delivery)
        try:
            await asyncio.to_thread(self._record, delivery, error)
        except Exception:
            # The lease runs out and the message is tried again.
            log.exception("partner_link.record_failed", delivery=delivery.id)
        else:
            self._notify()

    async def _post(self, delivery: Delivery) -> str | None:
        """Sign and POST one message: None when the partner took it, else why not."""
        assert self._client is not None
        try:
            secret = self._sealer.open(delivery.sealed_secret, delivery.agency_id)
        except SealError as exc:  # fail closed: no message goes out unsigned or wrongly signed
            log.error("partner_link.secret_unreadable", agency=delivery.agency_id, reason=str(exc))
            return "the partner's shared secret does not open (was KHUSELA_SECRET_KEY changed?)"
        headers = signed_headers(secret, delivery.body, self._clock.now())
        headers[DELIVERY_HEADER] = delivery.id
        headers["User-Agent"] = "Khusela-PartnerLink/1"
        try:
            response = await self._client.post(delivery.url, content=delivery.body, headers=headers)
        except Exception as exc:  # any failure to hand the message over is a failed attempt
            return f"{type(exc).__name__}: {exc}"[:300]
        return None if response.is_success else f"HTTP {response.status_code}"

    def _record(self, delivery: Delivery, error: str | None) -> None:
        now = self._clock.now()
        with self._db.write() as conn:
            repo = PartnerRepository(conn)
            if error is None:
                repo.delivered(delivery.id, now)
                if delivery.kind == "offer":
                    updates.delivery_arrived(conn, delivery.alert_id, delivery.agency_id, now)
                return
            wait = self.retry.delay(delivery.attempts) if delivery.active else None
            retry_at = None if wait is None else now + timedelta(seconds=wait)
            repo.failed(delivery.id, error, retry_at, now)
            log.warning(
                "partner_link.delivery_failed",
                delivery=delivery.id,
                agency=delivery.agency_id,
                attempt=delivery.attempts,
                error=error,
                gave_up=retry_at is None,
            )
            if retry_at is None:
                updates.delivery_gave_up(
                    conn, delivery.alert_id, delivery.agency_id, delivery.kind, error, now
                )
