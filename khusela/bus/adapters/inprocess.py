"""The in-process bus: durable consumers as queues inside this process.

Good for one process (laptop, demo, tests). Events live only in memory: the outbox keeps
every event until it was handed to the bus, so nothing is lost while the bus cannot take
events, but an event handed over and not yet handled when the process stops is lost.
Production with more than one process uses NATS.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from dataclasses import dataclass, field

import structlog

from khusela.bus.ports import BusUnavailable, Handler, subject_matches
from khusela.core.events import Event

log = structlog.get_logger(__name__)


@dataclass
class _Consumer:
    pattern: str
    pending: deque[tuple[Event, int]] = field(default_factory=deque)
    wake: asyncio.Event = field(default_factory=asyncio.Event)
    workers: list[asyncio.Task[None]] = field(default_factory=list)

    def put(self, event: Event, attempt: int) -> None:
        self.pending.append((event, attempt))
        self.wake.set()


class _InProcessSubscription:
    def __init__(self, consumer: _Consumer, task: asyncio.Task[None]) -> None:
        self._consumer, self._task = consumer, task

    async def stop(self) -> None:
        """Stop receiving; the durable keeps its queue (and its retries) for the next subscriber."""
        with contextlib.suppress(ValueError):
            self._consumer.workers.remove(self._task)
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task


class InProcessBus:
    """At-least-once delivery with retries, within one event loop."""

    def __init__(self, max_deliver: int = 5, retry_delay: float = 0.05) -> None:
        self._consumers: dict[str, _Consumer] = {}
        self._max_deliver = max_deliver
        self._retry_delay = retry_delay
        self._retries: set[asyncio.TimerHandle] = set()
        self._closed = False

    async def publish(self, event: Event) -> None:
        if self._closed:
            raise BusUnavailable("the in-process bus is closed")
        for consumer in self._consumers.values():
            if subject_matches(consumer.pattern, event.subject):
                consumer.put(event, 1)

    async def subscribe(self, pattern: str, durable: str, handler: Handler) -> _InProcessSubscription:
        consumer = self._consumers.setdefault(durable, _Consumer(pattern))
        if consumer.pattern != pattern:
            raise ValueError(f"durable {durable!r} already follows {consumer.pattern!r}")
        task = asyncio.create_task(self._work(consumer, handler), name=f"bus:{durable}")
        consumer.workers.append(task)
        return _InProcessSubscription(consumer, task)

    async def _work(self, consumer: _Consumer, handler: Handler) -> None:
        while True:
            if not consumer.pending:
                consumer.wake.clear()
                await consumer.wake.wait()
                continue
            event, attempt = consumer.pending.popleft()
            try:
                await handler(event)
            except asyncio.CancelledError:
                consumer.pending.appendleft((event, attempt))
                raise
            except Exception:
                log.exception("bus.handler_failed", subject=event.subject, event_id=event.id)
                if attempt < self._max_deliver:
                    # Redeliver later without holding up the events behind it (like a NATS nak).
                    self._retry_later(consumer, event, attempt + 1)
                else:
                    log.error("bus.dead_letter", subject=event.subject, event_id=event.id)

    def _retry_later(self, consumer: _Consumer, event: Event, attempt: int) -> None:
        def due() -> None:
            self._retries.discard(handle)
            consumer.put(event, attempt)

        delay = self._retry_delay * (attempt - 1)
        handle = asyncio.get_running_loop().call_later(delay, due)
        self._retries.add(handle)

    async def healthy(self) -> bool:
        return not self._closed

    async def close(self) -> None:
        self._closed = True
        for handle in self._retries:
            handle.cancel()
        self._retries.clear()
        tasks = [t for c in self._consumers.values() for t in c.workers]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._consumers.clear()
