"""The live feed: every change a console may see, pushed as it happens.

`GET /api/feed` is a Server-Sent Events stream. Each message is one domain event:
`id:` the event id, `event:` its subject, `data:` its payload as JSON. A comment line
is sent every 15 seconds (the heartbeat), and with it the token is checked again: a
revoked or expired token ends the stream (`event: feed.closed`).

Sign in with `Authorization: Bearer <token>` or, for browsers' `EventSource` which cannot
set headers, `?access_token=<token>`. The access log records the route, never the query
string (`khusela.api.middleware.RequestContext`), and responses carry
`Referrer-Policy: no-referrer`, so the token does not leak through either.

A client's protocol: on `feed.ready`, (re)load the list (`GET /api/panic/alerts`), then
apply events on top (by `version`, which makes a repeat harmless). On `feed.reset` (the
client fell too far behind, or the server is going away) reconnect and reload: nothing
is ever dropped silently.

One `FeedHub` per process follows the bus (a durable of its own, `feed-<module>-<node>`,
so every API node gets every event) and fans events out in memory. Who gets what is
decided per connection by the access policy, below the API, exactly as for the lists:
- `panic.alert_raised|alert_changed`: `PANIC_READ` on the alert (`alert_resource`).
  Residents (who see alerts only as their owner) get their alert as their phone shows
  it (`ResidentAlertOut`, read from the database: a duress alert looks cancelled, no
  priority, no ETA under duress), and only when that view changed;
- `panic.escalated`: readers of the alert, and those who may dispatch for an agency the
  escalation names (its supervisors and neighbouring command centres); never residents;
- `panic.unit_changed`: `UNIT_READ` on the unit (its agency and locality);
- `cctv.event`, `cctv.camera_online|offline`: `CCTV_READ` on the camera (its owner agency
  and locality, carried in the payload), granted also to the agencies bound to the owner by
  an active CCTV-integration agreement, as the camera registry grants them
  (`khusela.partners.rules`; `CameraGrants` below; a grant never lifts the clearance check);
- `cyber.alert_raised|alert_changed`, `cyber.action_changed`: `CYBER_READ` (the SOC's
  analysts: the queue is province-wide);
- `intel.item_submitted|revised|shared|revoked`: the intel need-to-know rule
  (`khusela.intel.access.can_read`: clearance, agency, TLP, distribution, sharing groups),
  from the access fields the event carries; a revocation reaches those who could see the item;
- `partners.agreement_changed`: nobody; it makes the hub re-read the camera grants;
- any other subject: nobody, until a rule for it is written here.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
import uuid
from collections import OrderedDict, deque
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field, replace
from enum import Enum
from typing import Any

import structlog
from fastapi import APIRouter
from prometheus_client import Counter, Gauge
from starlette.responses import StreamingResponse

from khusela.api.deps import PlatformDep, StreamCaller
from khusela.bootstrap import Platform
from khusela.bus.ports import BusUnavailable, EventBus, Subscription
from khusela.core.errors import NotFound, ServiceUnavailable
from khusela.core.events import Event
from khusela.identity.authenticator import Authenticator
from khusela.identity.model import Principal
from khusela.identity.policy import Action, Resource, Scope, can, scope_of
from khusela.intel import access as intel_access
from khusela.panic import records
from khusela.panic.events import ALERT_CHANGED, ALERT_RAISED, ESCALATED, UNIT_CHANGED
from khusela.panic.queries import alert_resource
from khusela.panic.resident_view import resident_view as panic_resident_view
from khusela.partners.agreements import AGREEMENT_CHANGED
from khusela.partners.model import AreaKind
from khusela.partners.rules import partners_of
from khusela.store.database import Database

router = APIRouter(prefix="/api", tags=["feed"])
log = structlog.get_logger(__name__)

HEARTBEAT_SECONDS = 15.0
QUEUE_SIZE = 1000
"""Events waiting for one connection; past this the connection is reset, not thinned."""
MAX_CLIENTS = 10_000
RECENT_IDS = 10_000
"""Event ids remembered to drop a redelivered event (the bus delivers at least once)."""
RETRY_MS = 3000
GRANTS_MAX_AGE = 30.0
"""Seconds an owner's camera grants are used before they are read again (an agreement's end
date passing, or an area added, sends no event)."""
GRANTS_RETRY = 5.0
"""Seconds before reading the grants again after the database failed to answer."""

CLIENTS = Gauge("khusela_feed_clients", "Connections to the live feed on this node")
PUSHED = Counter("khusela_feed_events_total", "Events queued for feed connections")
RESETS = Counter("khusela_feed_resets_total", "Feed connections reset", ["reason"])


class View(Enum):
    FULL = "full"
    RESIDENT = "resident"


Audience = Callable[[Principal], View | None]
"""For one event: how a principal may see it, or None."""


def _alert_audience(event: Event) -> Audience:
    resource = alert_resource(event.payload)

    def view(principal: Principal) -> View | None:
        if not can(principal, Action.PANIC_READ, resource):
            return None
        return View.RESIDENT if scope_of(principal, Action.PANIC_READ) is Scope.OWN else View.FULL

    return view


def _escalation_audience(event: Event) -> Audience:
    resource = alert_resource(event.payload)
    notify = event.payload.get("notify") or {}
    named = {*notify.get("supervisor_agency_ids", ()), *notify.get("neighbour_agency_ids", ())}
    addressed = [Resource(agency_id=str(agency_id)) for agency_id in sorted(named)]

    def view(principal: Principal) -> View | None:
        if scope_of(principal, Action.PANIC_READ) in (None, Scope.OWN):
            return None
        if can(principal, Action.PANIC_READ, resource):
            return View.FULL
        if any(can(principal, Action.PANIC_DISPATCH, r) for r in addressed):
            return View.FULL
        return None

    return view


def _unit_audience(event: Event) -> Audience:
    payload = event.payload
    resource = Resource(
        agency_id=payload.get("agency_id"),
        province=payload.get("province"),
        municipality=payload.get("municipality"),
        cell=payload.get("cell"),
    )

    def view(principal: Principal) -> View | None:
        return View.FULL if can(principal, Action.UNIT_READ, resource) else None

    return view


def _camera_audience(event: Event, viewers: frozenset[str] = frozenset()) -> Audience:
    """`viewers`: the agencies an agreement lets view the owner's cameras (`CameraGrants`)."""
    payload = event.payload
    resource = Resource(
        agency_id=payload.get("agency_id"),
        province=payload.get("province"),
        municipality=payload.get("municipality"),
        cell=payload.get("cell"),
    )
    granted = replace(resource, granted=True)

    def view(principal: Principal) -> View | None:
        seen = granted if principal.agency_id in viewers else resource
        return View.FULL if can(principal, Action.CCTV_READ, seen) else None

    return view


def _soc_audience(_event: Event) -> Audience:
    def view(principal: Principal) -> View | None:
        return View.FULL if can(principal, Action.CYBER_READ, Resource()) else None

    return view


def _intel_audience(event: Event) -> Audience:
    item = intel_access.from_payload(event.payload)

    def view(principal: Principal) -> View | None:
        return View.FULL if intel_access.can_read(principal, item, event.occurred_at) else None

    return view


AUDIENCES: dict[str, Callable[[Event], Audience]] = {
    ALERT_RAISED: _alert_audience,
    ALERT_CHANGED: _alert_audience,
    ESCALATED: _escalation_audience,
    UNIT_CHANGED: _unit_audience,
    "cyber.alert_raised": _soc_audience,
    "cyber.alert_changed": _soc_audience,
    "cyber.action_changed": _soc_audience,
    "intel.item_submitted": _intel_audience,
    "intel.item_revised": _intel_audience,
    "intel.item_shared": _intel_audience,
    "intel.item_revoked": _intel_audience,
}
"""Subject → who may see an event of it. A subject missing here (and from `CAMERA_SUBJECTS`)
reaches nobody."""

CAMERA_SUBJECTS = frozenset({"cctv.event", "cctv.camera_online", "cctv.camera_offline"})
"""Camera subjects: `_camera_audience`, with the owner's agreement grants from `CameraGrants`."""


class CameraGrants:
    """Which agencies may view each owner's cameras under an active CCTV-integration
    agreement, for the feed's camera rule.

    An event must not cost a query per connection, nor block the event loop: an owner's
    viewers are read once, in a worker thread, and used for `max_age` seconds, or until an
    agreement changes on the bus (`forget`). A failed read grants nothing beyond the
    policy's own scope (fail closed) and is retried after `GRANTS_RETRY` seconds."""

    def __init__(
        self, db: Database, max_age: float = GRANTS_MAX_AGE, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._db, self.max_age, self._clock = db, max_age, clock
        self._viewers: dict[str, tuple[float, frozenset[str]]] = {}
        self.generation = 0
        """Bumped by every `forget`: a read begun before it is not kept."""

    def forget(self) -> None:
        """An agreement changed: read every owner's viewers afresh at their next event."""
        self._viewers.clear()
        self.generation += 1

    async def viewers(self, owner_agency_id: str | None) -> frozenset[str]:
        """The agencies granted the owner's cameras by agreement (none for an unknown owner)."""
        if not owner_agency_id:
            return frozenset()
        now = self._clock()
        cached = self._viewers.get(owner_agency_id)
        if cached is not None and now < cached[0]:
            return cached[1]
        generation = self.generation
        try:
            viewers = await asyncio.to_thread(self._read, owner_agency_id)
            expires = now + self.max_age
        except Exception:  # the database is unreachable: no grants, the policy's scope still holds
            log.exception("feed.camera_grants_failed", owner_agency_id=owner_agency_id)
            viewers, expires = frozenset(), now + GRANTS_RETRY
        if generation == self.generation:
            self._viewers[owner_agency_id] = (expires, viewers)
        return viewers

    def _read(self, owner_agency_id: str) -> frozenset[str]:
        with self._db.read() as conn:
            return partners_of(conn, owner_agency_id, (AreaKind.CCTV_INTEGRATION,))


def sse(name: str, data: Any, event_id: str | None = None) -> bytes:
    """One SSE message. JSON has no raw newlines, so `data` is always one line."""
    head = f"id: {event_id}\n" if event_id else ""
    body = json.dumps(data, separators=(",", ":"), default=str)
    return f"{head}event: {name}\ndata: {body}\n\n".encode()


@dataclass(eq=False)
class FeedClient:
    """One connection: who it is, and what waits to be written to it."""

    principal: Principal
    limit: int
    queue: deque[tuple[Event, View]] = field(default_factory=deque)
    wake: asyncio.Event = field(default_factory=asyncio.Event)
    reset_reason: str | None = None

    def push(self, event: Event, view: View) -> None:
        if self.reset_reason is not None:
            return
        if len(self.queue) >= self.limit:
            self.reset("the console fell behind; reconnect and reload", cause="overflow")
            return
        self.queue.append((event, view))
        self.wake.set()

    def reset(self, reason: str, cause: str) -> None:
        """End this connection with `reason`; what was queued is dropped, and said to be."""
        if self.reset_reason is None:
            self.reset_reason = reason
            self.queue.clear()
            RESETS.labels(cause).inc()
        self.wake.set()


class FeedHub:
    """Follows the bus and fans events out to this node's feed connections (a `Background`)."""

    def __init__(
        self,
        bus: EventBus,
        db: Database,
        patterns: Sequence[str] = ("panic.>", "cctv.>", "cyber.>", "intel.>", "partners.>"),
        *,
        queue_size: int = QUEUE_SIZE,
        heartbeat_seconds: float = HEARTBEAT_SECONDS,
        max_clients: int = MAX_CLIENTS,
        grants_max_age: float = GRANTS_MAX_AGE,
    ) -> None:
        self._bus, self.db, self._patterns = bus, db, tuple(patterns)
        self.camera_grants = CameraGrants(db, grants_max_age)
        self.queue_size, self.heartbeat_seconds, self.max_clients = queue_size, heartbeat_seconds, max_clients
        self.node = uuid.uuid4().hex[:12]
        self._clients: set[FeedClient] = set()
        self._subscriptions: dict[str, Subscription] = {}
        self._recent: OrderedDict[str, None] = OrderedDict()
        self._retry: asyncio.Task[None] | None = None

    @property
    def ready(self) -> bool:
        """Whether every subject is followed (until then, connections are refused)."""
        return len(self._subscriptions) == len(self._patterns)

    @property
    def clients(self) -> int:
        return len(self._clients)

    def durable(self, pattern: str) -> str:
        return f"feed-{pattern.partition('.')[0]}-{self.node}"

    async def start(self) -> None:
        """Follow the bus now; if it is down, keep trying in the background."""
        try:
            await self._subscribe_all()
        except BusUnavailable:
            log.warning("feed.bus_unavailable")
            self._retry = asyncio.create_task(self._subscribe_later(), name="feed-subscribe")

    async def _subscribe_all(self) -> None:
        for pattern in self._patterns:
            if pattern not in self._subscriptions:
                self._subscriptions[pattern] = await self._bus.subscribe(
                    pattern, self.durable(pattern), self.deliver
                )

    async def _subscribe_later(self) -> None:
        delay = 1.0
        while not self.ready:
            await asyncio.sleep(delay)
            with contextlib.suppress(BusUnavailable):
                await self._subscribe_all()
            delay = min(delay * 2, 30.0)

    async def stop(self) -> None:
        if self._retry is not None:
            self._retry.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._retry
            self._retry = None
        for subscription in self._subscriptions.values():
            await subscription.stop()
        self._subscriptions.clear()
        self.close_streams()

    def close_streams(self) -> None:
        """End every open stream with `feed.reset`: called when the server starts to shut
        down, since the server waits for open streams before it stops the platform."""
        for client in list(self._clients):
            client.reset("the server is restarting; reconnect and reload", cause="shutdown")

    async def deliver(self, event: Event) -> None:
        """The bus handler: queue `event` for every connection allowed to see it."""
        if event.id in self._recent:  # at-least-once delivery: a repeat is not pushed again
            return
        self._recent[event.id] = None
        if len(self._recent) > RECENT_IDS:
            self._recent.popitem(last=False)
        if event.subject == AGREEMENT_CHANGED:
            self.camera_grants.forget()
            return
        audience = await self._audience(event)
        if audience is None:
            return
        for client in self._clients:
            view = audience(client.principal)
            if view is not None:
                client.push(event, view)
                PUSHED.inc()

    async def _audience(self, event: Event) -> Audience | None:
        if event.subject in CAMERA_SUBJECTS:
            viewers = await self.camera_grants.viewers(event.payload.get("agency_id"))
            return _camera_audience(event, viewers)
        rule = AUDIENCES.get(event.subject)
        return None if rule is None else rule(event)

    def connect(self, principal: Principal) -> FeedClient:
        client = FeedClient(principal, self.queue_size)
        self._clients.add(client)
        CLIENTS.inc()
        return client

    def disconnect(self, client: FeedClient) -> None:
        if client in self._clients:
            self._clients.discard(client)
            CLIENTS.dec()

    async def stream(
        self, principal: Principal, token: str, authenticator: Authenticator
    ) -> AsyncIterator[bytes]:
        """The SSE body of one connection, from `feed.ready` until it ends."""
        client = self.connect(principal)
        loop = asyncio.get_running_loop()
        shown: dict[str, dict[str, Any]] = {}
        try:
            yield f"retry: {RETRY_MS}\n".encode() + sse(
                "feed.ready", {"node": self.node, "heartbeat_seconds": self.heartbeat_seconds}
            )
            next_beat = loop.time() + self.heartbeat_seconds
            while True:
                wait = next_beat - loop.time()
                if wait > 0 and not client.queue and client.reset_reason is None:
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(client.wake.wait(), wait)
                client.wake.clear()
                if client.reset_reason is not None:
                    yield sse("feed.reset", {"reason": client.reset_reason})
                    return
                chunk = await self._drain(client, shown)
                if chunk:
                    yield chunk
                if loop.time() >= next_beat:
                    try:
                        current = await authenticator.authenticate(token)
                    except Exception:  # the database is unreachable: fail closed, but say so
                        log.exception("feed.token_check_failed", user_id=client.principal.user_id)
                        yield sse("feed.reset", {"reason": "could not re-check the sign-in; reconnect"})
                        return
                    if current is None:
                        yield sse(
                            "feed.closed", {"reason": "the token expired or was revoked; sign in again"}
                        )
                        return
                    client.principal = current
                    yield b": heartbeat\n\n"
                    next_beat = loop.time() + self.heartbeat_seconds
        finally:
            self.disconnect(client)

    async def _drain(self, client: FeedClient, shown: dict[str, dict[str, Any]]) -> bytes:
        parts: list[bytes] = []
        while client.queue and client.reset_reason is None:
            event, view = client.queue.popleft()
            if view is View.FULL:
                parts.append(sse(event.subject, event.payload, event.id))
                continue
            alert_id = str(event.payload.get("alert_id"))
            data = await asyncio.to_thread(resident_view, self.db, alert_id)
            if data is not None and shown.get(alert_id) != data:
                shown[alert_id] = data
                parts.append(sse(event.subject, data, event.id))
        return b"".join(parts)


def resident_view(db: Database, alert_id: str) -> dict[str, Any] | None:
    """The alert as the resident's phone shows it (as `GET /api/panic/alerts/{id}` does)."""
    with db.read() as conn:
        try:
            alert = records.load(conn, alert_id)
        except NotFound:
            return None
        view = panic_resident_view(conn, alert)
    return view.model_dump(mode="json")


def feed_hub(platform: Platform) -> FeedHub | None:
    """This node's hub, if the platform runs one."""
    return next((s for s in platform.background if isinstance(s, FeedHub)), None)


@router.get(
    "/feed",
    summary="Live feed of the changes the caller may see (Server-Sent Events)",
    response_class=StreamingResponse,
    responses={
        200: {"content": {"text/event-stream": {}}, "description": "An endless event stream"},
        401: {"description": "Missing, unknown, expired or revoked token"},
        503: {"description": "The feed is starting or full; retry shortly"},
    },
)
async def feed(platform: PlatformDep, caller: StreamCaller) -> StreamingResponse:
    principal, token = caller
    hub = feed_hub(platform)
    if hub is None or not hub.ready:
        raise ServiceUnavailable("the live feed is not running yet; retry shortly")
    if hub.clients >= hub.max_clients:
        raise ServiceUnavailable("the live feed is full on this server; retry shortly")
    return StreamingResponse(
        hub.stream(principal, token, platform.authenticator),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache, no-transform", "X-Accel-Buffering": "no"},
    )
