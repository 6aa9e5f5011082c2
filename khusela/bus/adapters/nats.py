"""The NATS JetStream bus: a durable stream, pull consumers, explicit acks.

Events are published to `<prefix>.<subject>` with `Nats-Msg-Id` set to the event id, so
JetStream drops a re-publish of the same event (e.g. an outbox retry after a lost ack)
within its duplicate window. A handler that raises gets the message again after a delay
(`nak`), up to `max_deliver` times: at-least-once delivery.
"""

from __future__ import annotations

import asyncio
import contextlib

import nats
import structlog
from nats.aio.client import Client
from nats.errors import ConnectionClosedError, NoServersError, TimeoutError
from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy, StorageType, StreamConfig
from nats.js.errors import NotFoundError

from khusela.bus.ports import BusUnavailable, Handler
from khusela.core.events import Event

log = structlog.get_logger(__name__)


class _NatsSubscription:
    def __init__(self, task: asyncio.Task[None]) -> None:
        self._task = task

    async def stop(self) -> None:
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task


class NatsBus:
    """Bus adapter over a JetStream stream that it creates if missing."""

    def __init__(
        self,
        url: str,
        stream: str = "KHUSELA",
        prefix: str = "khusela",
        max_deliver: int = 5,
        retry_delay: float = 0.5,
        replicas: int = 1,
    ) -> None:
        self._url, self._stream, self._prefix = url, stream, prefix
        self._max_deliver, self._retry_delay, self._replicas = max_deliver, retry_delay, replicas
        self._nc: Client | None = None
        self._js: JetStreamContext | None = None
        self._lock = asyncio.Lock()
        self._subs: list[_NatsSubscription] = []

    async def _connect(self) -> JetStreamContext:
        async with self._lock:
            if self._js is not None and self._nc is not None and self._nc.is_connected:
                return self._js
            try:
                self._nc = await nats.connect(
                    self._url, connect_timeout=2, max_reconnect_attempts=-1, allow_reconnect=True
                )
                js = self._nc.jetstream(timeout=5)
                await self._ensure_stream(js)
            except (OSError, NoServersError, TimeoutError) as exc:
                raise BusUnavailable(f"NATS at {self._url} is not reachable") from exc
            self._js = js
            return js

    async def _ensure_stream(self, js: JetStreamContext) -> None:
        try:
            await js.stream_info(self._stream)
        except NotFoundError:
            await js.add_stream(
                StreamConfig(
                    name=self._stream,
                    subjects=[f"{self._prefix}.>"],
                    storage=StorageType.FILE,
                    num_replicas=self._replicas,
                    duplicate_window=120.0,
                )
            )

    async def publish(self, event: Event) -> None:
        js = await self._connect()
        try:
            await js.publish(
                f"{self._prefix}.{event.subject}",
                event.to_json(),
                headers={"Nats-Msg-Id": event.id},
            )
        except (TimeoutError, ConnectionClosedError, NoServersError, OSError) as exc:
            raise BusUnavailable("NATS did not acknowledge the event") from exc

    async def subscribe(self, pattern: str, durable: str, handler: Handler) -> _NatsSubscription:
        js = await self._connect()
        config = ConsumerConfig(
            durable_name=durable,
            ack_policy=AckPolicy.EXPLICIT,
            deliver_policy=DeliverPolicy.NEW,
            max_deliver=self._max_deliver,
            ack_wait=30,
            filter_subject=f"{self._prefix}.{pattern}",
        )
        sub = await js.pull_subscribe(
            f"{self._prefix}.{pattern}", durable=durable, stream=self._stream, config=config
        )
        task = asyncio.create_task(self._pull(sub, handler), name=f"nats:{durable}")
        subscription = _NatsSubscription(task)
        self._subs.append(subscription)
        return subscription

    async def _pull(self, sub: JetStreamContext.PullSubscription, handler: Handler) -> None:
        while True:
            try:
                messages = await sub.fetch(batch=32, timeout=1)
            except TimeoutError:
                continue
            except (ConnectionClosedError, NoServersError):
                await asyncio.sleep(1)
                continue
            for msg in messages:
                try:
                    event = Event.from_json(msg.data)
                except (ValueError, KeyError):
                    log.error("bus.undecodable_message", subject=msg.subject)
                    await msg.term()
                    continue
                try:
                    await handler(event)
                except asyncio.CancelledError:
                    raise
                except Exception:
                    log.exception("bus.handler_failed", subject=event.subject, event_id=event.id)
                    await msg.nak(delay=self._retry_delay * msg.metadata.num_delivered)
                else:
                    await msg.ack()

    async def healthy(self) -> bool:
        try:
            await self._connect()
        except BusUnavailable:
            return False
        return self._nc is not None and self._nc.is_connected

    async def close(self) -> None:
        for sub in self._subs:
            await sub.stop()
        self._subs.clear()
        if self._nc is not None and not self._nc.is_closed:
            await self._nc.drain()
        self._nc = self._js = None

    async def delete_stream(self) -> None:
        """Remove the stream (test clean-up)."""
        js = await self._connect()
        with contextlib.suppress(NotFoundError):
            await js.delete_stream(self._stream)
