"""The NATS JetStream bus: a durable stream, pull consumers, explicit acks.

Events are published to `<prefix>.<subject>` with `Nats-Msg-Id` set to the event id, so
JetStream drops a re-publish of the same event (e.g. an outbox retry after a lost ack)
within its duplicate window. A handler that raises gets the message again after a delay
(`nak`), up to `max_deliver` times: at-least-once delivery.

Each subscriber pulls one message at a time, so subscribers sharing a durable share the
work and an idle subscriber gets a new event as soon as it is stored. A first connection
that cannot be made within `connect_timeout` raises `BusUnavailable` (the outbox retries);
once connected, the client reconnects by itself for as long as it takes.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import time
from collections.abc import Awaitable, Callable
from urllib.parse import urlsplit

import structlog
from nats import errors as nats_errors
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy, StorageType, StreamConfig
from nats.js.errors import NoStreamResponseError, NotFoundError, ServiceUnavailableError

from khusela.bus.ports import BusUnavailable, Handler
from khusela.core.events import Event

log = structlog.get_logger(__name__)

# Failures that mean "not now", as opposed to a mistake in what was asked.
_TRANSIENT: tuple[type[BaseException], ...] = (
    TimeoutError,  # also nats.errors.TimeoutError and its subclasses
    OSError,
    nats_errors.ConnectionClosedError,
    nats_errors.ConnectionReconnectingError,
    nats_errors.ConnectionDrainingError,
    nats_errors.StaleConnectionError,
    nats_errors.NoServersError,
    nats_errors.NoRespondersError,
    NoStreamResponseError,
    ServiceUnavailableError,
)


def split_servers(url: str) -> list[str]:
    """`nats://[user:pw@]a:4222,b:4222` → one URL per server, each with the credentials."""
    parts = urlsplit(url)
    userinfo, _, hosts = parts.netloc.rpartition("@")
    credentials = f"{userinfo}@" if userinfo else ""
    return [f"{parts.scheme}://{credentials}{host}" for host in hosts.split(",") if host]


PER_PROCESS = "feed-"
"""Durables named so belong to one process (e.g. a node's live-feed hub): JetStream removes
them after `EPHEMERAL_AFTER_SECONDS` without a subscriber, so restarts leave no litter."""
EPHEMERAL_AFTER_SECONDS = 300.0


class _NatsSubscription:
    """One pull loop: fetch a message, run the handler, then ack it (or nak it to retry)."""

    def __init__(
        self,
        sub: JetStreamContext.PullSubscription,
        durable: str,
        handler: Handler,
        retry_delay: float,
        max_deliver: int,
        fetch_timeout: float,
        on_stop: Callable[[_NatsSubscription], None],
    ) -> None:
        self._sub, self._handler = sub, handler
        self._retry_delay, self._max_deliver, self._fetch_timeout = retry_delay, max_deliver, fetch_timeout
        self._on_stop = on_stop
        self._stopped = False
        self._task = asyncio.create_task(self._pull(), name=f"nats:{durable}")

    async def stop(self) -> None:
        """Stop receiving; the message being handled, if any, goes back to the durable at once.

        A message that reached this client in the instant before it unsubscribed is
        redelivered after `ack_wait`.
        """
        if self._stopped:
            return
        self._stopped = True
        self._on_stop(self)
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
        # Without interest on its inbox the server skips the fetch still waiting there, so
        # the next subscriber gets the following messages instead of this stopped one.
        with contextlib.suppress(nats_errors.Error):
            await self._sub.unsubscribe()

    async def _pull(self) -> None:
        while True:
            try:
                messages = await self._sub.fetch(batch=1, timeout=self._fetch_timeout)
            except TimeoutError:
                continue
            except nats_errors.Error as exc:
                # Disconnected, reconnecting, or the consumer is gone: keep trying, slowly.
                log.warning("bus.fetch_failed", error=repr(exc))
                await asyncio.sleep(1)
                continue
            for msg in messages:
                await self._deliver(msg)

    async def _deliver(self, msg: Msg) -> None:
        try:
            event = Event.from_json(msg.data)
        except (ValueError, KeyError, TypeError):
            log.error("bus.undecodable_message", subject=msg.subject)
            await _settle(msg.term())
            return
        try:
            await self._handler(event)
        except asyncio.CancelledError:
            # Stopped in the middle: give the message back now rather than after ack_wait.
            await _settle(msg.nak())
            raise
        except Exception:
            log.exception("bus.handler_failed", subject=event.subject, event_id=event.id)
            delivered = msg.metadata.num_delivered
            if delivered >= self._max_deliver:
                log.error("bus.dead_letter", subject=event.subject, event_id=event.id)
                await _settle(msg.term())
            else:
                await _settle(msg.nak(delay=self._retry_delay * delivered))
        else:
            await _settle(msg.ack())


async def _settle(reply: Awaitable[None]) -> None:
    """Send an ack/nak/term; if the connection is gone, JetStream redelivers after ack_wait."""
    try:
        await reply
    except nats_errors.Error as exc:
        log.warning("bus.ack_failed", error=repr(exc))


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
        connect_timeout: float = 2.0,
        ack_wait: float = 30.0,
    ) -> None:
        self._url, self._servers = url, split_servers(url)
        self._stream, self._prefix = stream, prefix
        self._max_deliver, self._retry_delay, self._replicas = max_deliver, retry_delay, replicas
        self._connect_timeout, self._ack_wait = connect_timeout, ack_wait
        self._fetch_timeout = 1.0
        self._nc: Client | None = None
        self._js: JetStreamContext | None = None
        self._stream_ready = False
        self._lock = asyncio.Lock()
        self._subs: list[_NatsSubscription] = []
        self._failed_at: float | None = None
        """When the last connection attempt failed (monotonic): callers queued behind it on
        the lock fail at once instead of each waiting out its own timeout, so a node started
        while NATS is down answers in seconds rather than a timeout per background service."""

    @property
    def servers(self) -> list[str]:
        return list(self._servers)

    @property
    def stream(self) -> str:
        return self._stream

    @property
    def prefix(self) -> str:
        return self._prefix

    @property
    def replicas(self) -> int:
        return self._replicas

    async def _connect(self) -> JetStreamContext:
        async with self._lock:
            nc, js = self._nc, self._js
            if nc is None or js is None or nc.is_closed:
                failed_at = self._failed_at
                if failed_at is not None and time.monotonic() - failed_at < self._connect_timeout:
                    raise BusUnavailable(f"NATS at {self._url} was not reachable a moment ago")
                try:
                    nc = await self._open()
                except BusUnavailable:
                    self._failed_at = time.monotonic()
                    raise
                self._failed_at = None
                js = nc.jetstream(timeout=5)
                self._nc, self._js, self._stream_ready = nc, js, False
            elif nc.is_reconnecting:
                # The client reconnects by itself; publishing now would only wait and time out.
                raise BusUnavailable(f"NATS at {self._url} is reconnecting")
            if not self._stream_ready:
                try:
                    await self._ensure_stream(js)
                except _TRANSIENT as exc:
                    raise BusUnavailable(f"JetStream at {self._url} did not answer") from exc
                self._stream_ready = True
            return js

    async def _open(self) -> Client:
        nc = Client()
        try:
            # nats-py retries a first connection forever when reconnects are unlimited.
            await asyncio.wait_for(
                nc.connect(
                    self._servers,
                    connect_timeout=max(1, math.ceil(self._connect_timeout)),
                    reconnect_time_wait=1,
                    max_reconnect_attempts=-1,
                    allow_reconnect=True,
                    error_cb=self._on_error,
                    disconnected_cb=self._on_disconnected,
                    reconnected_cb=self._on_reconnected,
                ),
                timeout=self._connect_timeout,
            )
        except (TimeoutError, OSError, nats_errors.Error) as exc:
            with contextlib.suppress(Exception):
                await nc.close()
            raise BusUnavailable(f"NATS at {self._url} is not reachable") from exc
        return nc

    async def _on_error(self, exc: Exception) -> None:
        log.warning("bus.nats_error", url=self._url, error=repr(exc))

    async def _on_disconnected(self) -> None:
        log.warning("bus.nats_disconnected", url=self._url)

    async def _on_reconnected(self) -> None:
        log.info("bus.nats_reconnected", url=self._url)

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
        except NoStreamResponseError as exc:
            self._stream_ready = False  # the stream is gone: re-create it on the next try
            raise BusUnavailable("no JetStream stream took the event") from exc
        except _TRANSIENT as exc:
            raise BusUnavailable("NATS did not acknowledge the event") from exc

    async def subscribe(self, pattern: str, durable: str, handler: Handler) -> _NatsSubscription:
        js = await self._connect()
        subject = f"{self._prefix}.{pattern}"
        try:
            try:
                info = await js.consumer_info(self._stream, durable)
            except NotFoundError:
                config = ConsumerConfig(
                    durable_name=durable,
                    ack_policy=AckPolicy.EXPLICIT,
                    deliver_policy=DeliverPolicy.NEW,
                    max_deliver=self._max_deliver,
                    ack_wait=self._ack_wait,
                    filter_subject=subject,
                    inactive_threshold=EPHEMERAL_AFTER_SECONDS if durable.startswith(PER_PROCESS) else None,
                )
                await js.add_consumer(self._stream, config)
            else:
                if info.config.filter_subject != subject:
                    follows = (info.config.filter_subject or "").removeprefix(f"{self._prefix}.")
                    raise ValueError(f"durable {durable!r} already follows {follows!r}")
            sub = await js.pull_subscribe_bind(durable=durable, stream=self._stream)
        except _TRANSIENT as exc:
            raise BusUnavailable(f"NATS at {self._url} could not start {durable!r}") from exc
        subscription = _NatsSubscription(
            sub, durable, handler, self._retry_delay, self._max_deliver, self._fetch_timeout, self._forget
        )
        self._subs.append(subscription)
        return subscription

    def _forget(self, subscription: _NatsSubscription) -> None:
        with contextlib.suppress(ValueError):
            self._subs.remove(subscription)

    async def healthy(self) -> bool:
        try:
            await self._connect()
        except BusUnavailable:
            return False
        return self._nc is not None and self._nc.is_connected

    async def close(self) -> None:
        for sub in list(self._subs):
            await sub.stop()
        async with self._lock:
            nc, self._nc, self._js = self._nc, None, None
            if nc is not None and not nc.is_closed:
                # Every publish was acknowledged already; close() flushes pending acks.
                await nc.close()

    async def delete_stream(self) -> None:
        """Remove the stream (test clean-up)."""
        js = await self._connect()
        with contextlib.suppress(NotFoundError):
            await js.delete_stream(self._stream)
        self._stream_ready = False
