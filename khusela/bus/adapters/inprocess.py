"""The in-process bus: durable consumers as queues inside this process.

Good for one process (laptop, demo, tests). Events live only in memory here, which is
safe because the outbox keeps every event in the database until it was published.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from dataclasses import dataclass, field

import structlog

from khusela.bus.ports import Handler, subject_matches
from khusela.core.events import Event

log = structlog.get_logger(__name__)


@dataclass
class _Consumer:
    pattern: str
    pending: deque[tuple[Event, int]] = field(default_factory=deque)
    handlers: list[Handler] = field(default_factory=list)
    wake: asyncio.Event = field(default_factory=asyncio.Event)
    workers: list[asyncio.Task[None]] = field(default_factory=list)


class _InProcessSubscription:
    def __init__(self, bus: InProcessBus, durable: str, task: asyncio.Task[None], handler: Handler) -> None:
        self._bus, self._durable, self._task, self._handler = bus, durable, task, handler

    async def stop(self) -> None:
        consumer = self._bus._consumers.get(self._durable)
        if consumer and self._handler in consumer.handlers:
            consumer.handlers.remove(self._handler)
            consumer.workers.remove(self._task)
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task


class InProcessBus:
    """At-least-once delivery with retries, within one event loop."""

    def __init__(self, max_deliver: int = 5, retry_delay: float = 0.05) -> None:
        self._consumers: dict[str, _Consumer] = {}
        self._max_deliver = max_deliver
        self._retry_delay = retry_delay
        self._closed = False

    async def publish(self, event: Event) -> None:
        for consumer in self._consumers.values():
            if subject_matches(consumer.pattern, event.subject):
                consumer.pending.append((event, 1))
                consumer.wake.set()

    async def subscribe(self, pattern: str, durable: str, handler: Handler) -> _InProcessSubscription:
        consumer = self._consumers.setdefault(durable, _Consumer(pattern))
        if consumer.pattern != pattern:
            raise ValueError(f"durable {durable!r} already follows {consumer.pattern!r}")
        consumer.handlers.append(handler)
        task = asyncio.create_task(self._work(consumer, handler), name=f"bus:{durable}")
        consumer.workers.append(task)
        return _InProcessSubscription(self, durable, task, handler)

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
                    await asyncio.sleep(self._retry_delay * attempt)
                    consumer.pending.append((event, attempt + 1))
                else:
                    log.error("bus.dead_letter", subject=event.subject, event_id=event.id)

    async def healthy(self) -> bool:
        return not self._closed

    async def close(self) -> None:
        self._closed = True
        tasks = [t for c in self._consumers.values() for t in c.workers]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._consumers.clear()
