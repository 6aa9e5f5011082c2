"""Panic devices and unit locations over MQTT: a background service of the platform.

Topics, subscribed at QoS 1:
- `khusela/devices/{device_id}/panic`, JSON `{"lat", "lon", "battery", "ts", "type"}`, each
  optional: a press raises (or joins) an alert as `device:<id>`, for the device's owner
  when it has one, at the payload's position or else the device's registered site;
- `khusela/units/{unit_id}/location`, JSON `{"lat", "lon", "accuracy_m"?, "ts"?}`: the
  unit's position, through `avl.report_location`.

Delivery: nothing acknowledged is lost. The PUBACK goes back only once the alert is
committed (paho's manual acks), and the session is persistent (MQTT 5, no clean start,
`session_expiry` seconds), so a press published while the listener restarts, or while the
database is briefly down, is redelivered rather than dropped. A redelivered press joins
the open alert like any repeat press. Retained messages are ignored: a stale panic must
not be raised again on every reconnect.

A bad payload (not a JSON object, a field of the wrong type) is counted, logged by reason
and acknowledged; it never stops the listener. A bad or missing *location* is not a bad
payload: the alert is raised and flagged `location_unknown`. Logs never carry payloads,
positions or device owners.

Deployment: one listener per broker client id (the `client_id` query parameter of the
URL, e.g. `mqtt://user:pass@broker:1883?client_id=khusela-1`; `mqtts://` for TLS). The
broker must restrict who may publish where (Mosquitto ACL `pattern write
khusela/devices/%u/panic`): the topic is the device's identity here.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
import ssl
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import aiomqtt
import structlog
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from prometheus_client import Counter as Metric

from khusela.core.clock import Clock, SystemClock
from khusela.core.errors import InvalidInput, NotFound
from khusela.core.gazetteer import Gazetteer
from khusela.panic import avl, devices
from khusela.panic.intake import RaisePanicAlert, raise_alert
from khusela.panic.model import AlertType, Channel, LocationSource, plausible
from khusela.store.database import Database

DEVICE_PANIC = "khusela/devices/+/panic"
UNIT_LOCATION = "khusela/units/+/location"
MAX_PAYLOAD = 4096
DEVICE_TYPE = AlertType.CRIME
"""A device press names no emergency unless its payload says so; panic buttons here are
security devices (armed response), so a press is treated as a crime in progress."""

log = structlog.get_logger(__name__)
MESSAGES = Metric("khusela_mqtt_messages_total", "MQTT messages handled", ["topic", "outcome"])


class Malformed(Exception):
    """A message no handler can use. The reason is safe to log: it never quotes the payload."""


@dataclass(frozen=True, slots=True)
class DevicePanic:
    lat: float | None
    lon: float | None
    battery: float | None
    type: AlertType


@dataclass(frozen=True, slots=True)
class UnitFix:
    lat: float
    lon: float
    accuracy_m: float | None
    at: datetime | None


def parse_panic(payload: bytes) -> DevicePanic:
    body = _object(payload)
    _time(body, "ts")  # checked for its type only: the server's clock dates the press
    kind = body.get("type")
    if kind is not None and not isinstance(kind, str):
        raise Malformed("type is not a string")
    known = {t.value for t in AlertType}
    return DevicePanic(
        _number(body, "lat"),
        _number(body, "lon"),
        _number(body, "battery"),
        AlertType(kind.lower()) if kind and kind.lower() in known else DEVICE_TYPE,
    )


def parse_fix(payload: bytes) -> UnitFix:
    body = _object(payload)
    lat, lon = _number(body, "lat"), _number(body, "lon")
    if lat is None or lon is None:
        raise Malformed("lat and lon are required")
    return UnitFix(lat, lon, _number(body, "accuracy_m"), _time(body, "ts"))


def _object(payload: bytes) -> dict[str, Any]:
    if len(payload) > MAX_PAYLOAD:
        raise Malformed("payload too large")
    try:
        body = json.loads(payload)
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise Malformed("payload is not JSON") from None
    if not isinstance(body, dict):
        raise Malformed("payload is not a JSON object")
    return body


def _number(body: dict[str, Any], key: str) -> float | None:
    value = body.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise Malformed(f"{key} is not a number")
    return float(value)


def _time(body: dict[str, Any], key: str) -> datetime | None:
    """Epoch seconds (or milliseconds) or an ISO 8601 time with its offset."""
    value = body.get(key)
    if value is None:
        return None
    try:
        if isinstance(value, int | float) and not isinstance(value, bool):
            return datetime.fromtimestamp(value / 1000 if value > 1e11 else value, UTC)
        if isinstance(value, str):
            parsed = datetime.fromisoformat(value)
            if parsed.tzinfo is not None:
                return parsed
    except (ValueError, OverflowError, OSError):
        pass
    raise Malformed(f"{key} is not an epoch time or an ISO 8601 time with offset")


@dataclass(frozen=True, slots=True)
class Broker:
    host: str
    port: int
    username: str | None
    password: str | None
    tls: bool
    client_id: str


def broker(url: str) -> Broker:
    """Where and how to connect, from `mqtt[s]://[user[:password]@]host[:port][?client_id=…]`."""
    parts = urlsplit(url)
    if parts.scheme not in ("mqtt", "mqtts") or not parts.hostname:
        raise ValueError("the MQTT URL must look like mqtt://host:1883 or mqtts://host:8883")
    tls = parts.scheme == "mqtts"
    client_id = parse_qs(parts.query).get("client_id", ["khusela-panic"])[0]
    return Broker(
        parts.hostname,
        parts.port or (8883 if tls else 1883),
        unquote(parts.username) if parts.username else None,
        unquote(parts.password) if parts.password else None,
        tls,
        client_id,
    )


class _Unprocessed(Exception):
    """Handling failed for a reason other than the message (e.g. the database): do not
    acknowledge; reconnect so that the broker delivers the message again."""


class MqttListener:
    """Subscribes to device panics and unit locations; reconnects with backoff, forever."""

    def __init__(
        self,
        url: str,
        db: Database,
        gazetteer: Gazetteer,
        *,
        notify: Callable[[], None] | None = None,
        session_expiry: int = 24 * 3600,
        backoff: tuple[float, float] = (0.5, 30.0),
        clock: Clock | None = None,
    ) -> None:
        self.broker = broker(url)
        self._db, self._gazetteer, self._notify = db, gazetteer, notify
        self._session_expiry, self._backoff = session_expiry, backoff
        self._clock = clock or SystemClock()
        self._task: asyncio.Task[None] | None = None
        self.counts: Counter[str] = Counter()
        """connected, raised, joined, located, malformed, rejected, retained, failed."""

    async def start(self) -> None:
        """Run in the background; returns at once, even while the broker is unreachable."""
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._run(), name="mqtt-panic-listener")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _run(self) -> None:
        delay = self._backoff[0]
        while True:
            try:
                async with self._client() as client:
                    await client.subscribe(DEVICE_PANIC, qos=1)
                    await client.subscribe(UNIT_LOCATION, qos=1)
                    self.counts["connected"] += 1
                    log.info("mqtt.connected", host=self.broker.host, port=self.broker.port)
                    delay = self._backoff[0]
                    async for message in client.messages:
                        await self._handle(client, message)
            except aiomqtt.MqttError as exc:
                log.warning("mqtt.disconnected", error=str(exc), retry_in_s=round(delay, 1))
            except _Unprocessed as exc:
                log.error("mqtt.message_failed", error_type=str(exc), retry_in_s=round(delay, 1))
            except Exception as exc:  # the listener must outlive any bug in one message
                log.exception("mqtt.listener_error", error_type=type(exc).__name__)
            await asyncio.sleep(delay * random.uniform(0.8, 1.2))  # noqa: S311 - jitter, not crypto
            delay = min(delay * 2, self._backoff[1])

    def _client(self) -> aiomqtt.Client:
        connect = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]  # paho leaves it untyped
        connect.SessionExpiryInterval = self._session_expiry
        client = aiomqtt.Client(
            self.broker.host,
            self.broker.port,
            username=self.broker.username,
            password=self.broker.password,
            identifier=self.broker.client_id,
            protocol=aiomqtt.ProtocolVersion.V5,
            clean_start=False,
            properties=connect,
            tls_context=ssl.create_default_context() if self.broker.tls else None,
            keepalive=30,
        )
        # aiomqtt has no manual acks yet (empicano/aiomqtt#345); paho has: PUBACK after commit.
        client._client.manual_ack_set(True)
        return client

    async def _handle(self, client: aiomqtt.Client, message: aiomqtt.Message) -> None:
        kind, ident = _route(str(message.topic))
        if message.retain:
            outcome = "retained"
        else:
            try:
                outcome = await asyncio.to_thread(self._process, kind, ident, bytes(message.payload))
            except Malformed as exc:
                outcome = "malformed"
                log.warning("mqtt.malformed", topic=kind, reason=str(exc))
            except (InvalidInput, NotFound) as exc:
                outcome = "rejected"
                log.warning("mqtt.rejected", topic=kind, reason=exc.detail)
            except Exception as exc:
                self.counts["failed"] += 1
                MESSAGES.labels(kind, "failed").inc()
                raise _Unprocessed(type(exc).__name__) from exc
        self.counts[outcome] += 1
        MESSAGES.labels(kind, outcome).inc()
        client._client.ack(message.mid, message.qos)
        if outcome in ("raised", "joined", "located") and self._notify is not None:
            self._notify()

    def _process(self, kind: str, ident: str, payload: bytes) -> str:
        if kind == "device":
            return self._device_panic(ident, parse_panic(payload))
        if kind == "unit":
            fix = parse_fix(payload)
            with self._db.write() as conn:
                now = self._clock.now()
                avl.report_location(
                    conn,
                    f"unit:{ident}",
                    ident,
                    fix.lat,
                    fix.lon,
                    fix.accuracy_m,
                    fix.at or now,
                    gazetteer=self._gazetteer,
                    clock=self._clock,
                )
            return "located"
        raise Malformed("not a panic or location topic")

    def _device_panic(self, device_id: str, panic: DevicePanic) -> str:
        with self._db.write() as conn:
            device = devices.find_device(conn, device_id)
            lat, lon = panic.lat, panic.lon
            if not plausible(lat, lon) and device is not None and device.site_lat is not None:
                lat, lon = device.site_lat, device.site_lon
            command = RaisePanicAlert(
                type=panic.type,
                channel=Channel.DEVICE,
                sender=f"device:{device_id}",
                resident_id=device.owner_user_id if device else None,
                lat=lat,
                lon=lon,
                source=LocationSource.DEVICE,
                location_text=device.site_name if device else None,
                note=None if device else "Panic device not registered",
                device_id=device_id,
            )
            intake = raise_alert(conn, command, self._gazetteer, self._clock)
            if device is not None:
                devices.device_seen(conn, device_id, self._clock.now(), panic.battery)
        return "raised" if intake.created else "joined"


def _route(topic: str) -> tuple[str, str]:
    """("device" | "unit" | "other", id) from a topic; ids that cannot be real are "other"."""
    parts = topic.split("/")
    if len(parts) == 4 and parts[0] == "khusela":
        if parts[1] == "devices" and parts[3] == "panic" and devices.DEVICE_ID.match(parts[2]):
            return "device", parts[2]
        if parts[1] == "units" and parts[3] == "location" and 0 < len(parts[2]) <= 36:
            return "unit", parts[2]
    return "other", ""
