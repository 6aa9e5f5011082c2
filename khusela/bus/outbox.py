"""Transactional outbox: a change and its events commit together; a relay publishes later.

`enqueue` writes the event in the caller's transaction. `OutboxRelay` publishes pending
rows in order and marks them published; while the bus is down it keeps them and retries,
so a committed change always produces its event.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import structlog
from sqlalchemy import Connection, delete, func, insert, select, update

from khusela.bus.ports import BusUnavailable, EventBus
from khusela.bus.tables import outbox
from khusela.core.events import Event
from khusela.store.database import Database

log = structlog.get_logger(__name__)


def enqueue(conn: Connection, *events: Event) -> None:
    """Record `events` for publication, in the caller's transaction."""
    if not events:
        return
    now = datetime.now(UTC)
    conn.execute(
        insert(outbox),
        [
            {
                "event_id": e.id,
                "subject": e.subject,
                "body": e.to_json().decode(),
                "created_at": now,
            }
            for e in events
        ],
    )


def pending_count(conn: Connection) -> int:
    """How many events wait for the relay."""
    query = select(func.count()).select_from(outbox).where(outbox.c.published_at.is_(None))
    return int(conn.execute(query).scalar_one())


class OutboxRelay:
    """Publishes outbox rows to the bus; one per process.

    Rows are not claimed, so with several processes a row may be published more than once
    (JetStream drops the copy by event id within its duplicate window; consumers are
    idempotent in any case), but never lost.
    """

    def __init__(self, db: Database, bus: EventBus, batch: int = 200, idle_seconds: float = 0.25) -> None:
        self._db, self._bus, self._batch, self._idle = db, bus, batch, idle_seconds
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    def notify(self) -> None:
        """Publish soon: called after a commit that enqueued events.

        Safe from any thread: request handlers run in worker threads, and an asyncio
        event may only be set from its own loop's thread.
        """
        loop = self._loop
        if loop is None or loop.is_closed():
            return
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is loop:
            self._wake.set()
        else:
            loop.call_soon_threadsafe(self._wake.set)

    async def start(self) -> None:
        """Run the relay in the background until `stop()`; starting twice changes nothing."""
        if self._task is None or self._task.done():
            self._loop = asyncio.get_running_loop()
            self._task = asyncio.create_task(self._run(), name="outbox-relay")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _run(self) -> None:
        backoff = self._idle
        while True:
            # Clear before reading, not after: a notify() that arrives while this pass runs
            # (too late for its SELECT) must still wake the next pass at once.
            self._wake.clear()
            try:
                sent = await self.relay_once()
                backoff = self._idle
            except BusUnavailable:
                log.warning("outbox.bus_unavailable", retry_in=backoff)
                sent = 0
                backoff = min(backoff * 2, 5.0)
            except Exception:
                log.exception("outbox.relay_failed")
                sent = 0
                backoff = min(backoff * 2, 5.0)
            if sent:
                continue
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=backoff)

    async def relay_once(self) -> int:
        """Publish one batch of pending events; returns how many were published.

        The batch is published concurrently and its acks awaited together: one event at a
        time cost a full turn of the event loop per event, which under load (hundreds of
        requests sharing the loop) let the outbox fall seconds behind. The publishes are
        started in row order and each is written to the connection before it first waits,
        so the stream keeps the outbox's order; only when some publishes of a batch fail can
        a failed one land after a later one, when it is retried.
        """
        rows = await asyncio.to_thread(self._claim)
        if not rows:
            return 0
        outcomes = await asyncio.gather(
            *(self._bus.publish(Event.from_json(body.encode())) for _, body in rows), return_exceptions=True
        )
        published = [row_id for (row_id, _), outcome in zip(rows, outcomes, strict=True) if outcome is None]
        if published:
            await asyncio.to_thread(self._mark, published)
        failure = next((o for o in outcomes if isinstance(o, BaseException)), None)
        if failure is not None:
            raise failure
        return len(published)

    def _claim(self) -> Sequence[tuple[int, str]]:
        with self._db.read() as conn:
            query = (
                select(outbox.c.id, outbox.c.body)
                .where(outbox.c.published_at.is_(None))
                .order_by(outbox.c.id)
                .limit(self._batch)
            )
            return [(int(r.id), str(r.body)) for r in conn.execute(query)]

    def _mark(self, ids: list[int]) -> None:
        with self._db.write() as conn:
            conn.execute(update(outbox).where(outbox.c.id.in_(ids)).values(published_at=datetime.now(UTC)))


def purge_published(conn: Connection, older_than: timedelta = timedelta(days=7)) -> int:
    """Drop published rows past their usefulness for debugging."""
    cutoff = datetime.now(UTC) - older_than
    result = conn.execute(
        delete(outbox).where(outbox.c.published_at.is_not(None), outbox.c.published_at < cutoff)
    )
    return int(result.rowcount)
