"""Subscribe now if the bus is up, else keep trying in the background.

Background services start with the API. A bus that is down at that moment must not stop
the API from starting (panic alerts are still accepted and kept in the outbox); the
service's subscription simply begins once the bus is back.
"""

from __future__ import annotations

import asyncio
import contextlib

import structlog

from khusela.bus.ports import BusUnavailable, EventBus, Handler, Subscription

log = structlog.get_logger(__name__)


class PersistentSubscription:
    def __init__(
        self, bus: EventBus, pattern: str, durable: str, handler: Handler, max_delay: float = 30.0
    ) -> None:
        self._bus, self._pattern, self._durable, self._handler = bus, pattern, durable, handler
        self._max_delay = max_delay
        self._subscription: Subscription | None = None
        self._retry: asyncio.Task[None] | None = None

    @property
    def active(self) -> bool:
        return self._subscription is not None

    async def start(self) -> None:
        try:
            self._subscription = await self._bus.subscribe(self._pattern, self._durable, self._handler)
        except BusUnavailable:
            log.warning("bus.subscribe_deferred", durable=self._durable)
            self._retry = asyncio.create_task(self._keep_trying(), name=f"subscribe:{self._durable}")

    async def _keep_trying(self) -> None:
        delay = 1.0
        while self._subscription is None:
            await asyncio.sleep(delay)
            with contextlib.suppress(BusUnavailable):
                self._subscription = await self._bus.subscribe(self._pattern, self._durable, self._handler)
            delay = min(delay * 2, self._max_delay)
        log.info("bus.subscribed", durable=self._durable)

    async def stop(self) -> None:
        if self._retry is not None:
            self._retry.cancel()
            # A connect attempt in flight may not notice the cancel at once (the NATS client
            # retries inside); never let shutdown wait on it for more than a moment.
            await asyncio.wait({self._retry}, timeout=2.0)
            self._retry = None
        if self._subscription is not None:
            await self._subscription.stop()
            self._subscription = None
