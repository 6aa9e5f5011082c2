"""The live feed (`GET /api/feed`, Server-Sent Events) on a real server: each connection
gets exactly what the access policy lets it read, fast, and is told rather than thinned
when it falls behind. The routing case runs on the in-process bus and on NATS JetStream."""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import socket
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
import uvicorn

from khusela.api.app import create_app
from khusela.api.feed import FeedHub, feed_hub
from khusela.bootstrap import Platform, bootstrap
from khusela.bus.adapters.inprocess import InProcessBus
from khusela.bus.adapters.nats import NatsBus
from khusela.bus.ports import EventBus
from khusela.core.events import Event
from khusela.core.settings import Settings
from khusela.identity.adapters.sms_log import LogSmsSender
from khusela.identity.model import AgencyType, Clearance, Jurisdiction, Principal, Role
from khusela.panic import lifecycle, records
from khusela.panic.events import ALERT_CHANGED, ALERT_RAISED, ESCALATED, UNIT_CHANGED
from khusela.panic.intake import RaisePanicAlert, raise_alert
from khusela.panic.model import AlertStatus, AlertType, Channel
from khusela.store.database import Database
from tests.bus_helpers import eventually
from tests.conftest import People, Person
from tests.panic_support import HILLBROW, PRETORIA_CENTRAL
from tests.services import service_url

pytestmark = pytest.mark.anyio

NOMSA_PHONE, SIPHO_PHONE = "+27825550101", "+27825550102"


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(params=["inprocess", pytest.param("nats", marks=pytest.mark.nats)])
async def bus(request: pytest.FixtureRequest) -> AsyncIterator[EventBus]:
    if request.param == "inprocess":
        yield InProcessBus()
        return
    tag = uuid.uuid4().hex[:12]
    nats_bus = NatsBus(service_url("nats"), stream=f"F{tag}", prefix=f"f{tag}")
    try:
        yield nats_bus
    finally:
        await nats_bus.delete_stream()
        await nats_bus.close()


@pytest.fixture
def platform_on_bus(settings: Settings, sqlite_db: Database, bus: EventBus) -> Platform:
    return bootstrap(settings, db=sqlite_db, bus=bus)


@asynccontextmanager
async def serving(platform: Platform) -> AsyncIterator[httpx.AsyncClient]:
    """The app on a real Uvicorn server in this event loop, and a client for it."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    config = uvicorn.Config(
        create_app(platform),
        host="127.0.0.1",
        port=port,
        log_config=None,
        access_log=False,
        timeout_graceful_shutdown=2,
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    deadline = time.monotonic() + 10
    while not server.started:
        assert not task.done(), "server stopped while starting"
        assert time.monotonic() < deadline, "server did not start"
        await asyncio.sleep(0.02)
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=10) as client:
            yield client
    finally:
        server.should_exit = True
        await task


@dataclass
class Feed:
    """One SSE connection read in the background: its messages and heartbeats."""

    status: int | None = None
    messages: list[dict[str, Any]] = field(default_factory=list)
    heartbeats: int = 0
    ended: bool = False
    task: asyncio.Task[None] | None = None

    @classmethod
    async def open(
        cls, client: httpx.AsyncClient, headers: dict[str, str] | None = None, token: str | None = None
    ) -> Feed:
        feed = cls()
        params = {"access_token": token} if token else None
        feed.task = asyncio.create_task(feed._read(client, headers or {}, params))
        assert await eventually(lambda: feed.names[:1] == ["feed.ready"] or feed.ended), "feed did not open"
        return feed

    async def _read(
        self, client: httpx.AsyncClient, headers: dict[str, str], params: dict[str, str] | None
    ) -> None:
        try:
            async with client.stream("GET", "/api/feed", headers=headers, params=params) as response:
                self.status = response.status_code
                message: dict[str, Any] = {}
                async for line in response.aiter_lines():
                    if line.startswith(":"):
                        self.heartbeats += 1
                    elif not line:
                        if "event" in message:
                            message["data"] = json.loads(message.get("data", "null"))
                            self.messages.append(message)
                        message = {}
                    else:
                        name, _, value = line.partition(": ")
                        message[name] = value
        finally:
            self.ended = True

    async def close(self) -> None:
        if self.task is not None:
            self.task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.task

    def last_status(self, alert_id: str) -> str | None:
        """The status in the last message about `alert_id` (residents' messages carry `id`)."""
        about = [m["data"] for m in self.messages if m["data"] and m["data"].get("id") == alert_id]
        return str(about[-1]["status"]) if about else None

    @property
    def names(self) -> list[str]:
        return [m["event"] for m in self.messages]

    def alerts(self) -> list[tuple[str, str]]:
        """(subject, alert id) of every alert message received."""
        return [
            (m["event"], m["data"].get("alert_id") or m["data"].get("id"))
            for m in self.messages
            if m["event"].startswith("panic.alert_")
        ]


async def staff_token(client: httpx.AsyncClient, person: Person) -> str:
    response = await client.post("/api/auth/login", json=person.login_body())
    assert response.status_code == 200, response.text
    return str(response.json()["access_token"])


async def resident_token(client: httpx.AsyncClient, platform: Platform, phone: str) -> str:
    assert (await client.post("/api/auth/resident/code", json={"phone": phone})).status_code == 202
    sms = platform.sms
    assert isinstance(sms, LogSmsSender)
    code = re.findall(r"\b\d{6}\b", sms.sent[-1][1])[0]
    response = await client.post("/api/auth/resident/token", json={"phone": phone, "code": code})
    assert response.status_code == 200, response.text
    return str(response.json()["access_token"])


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def press(platform: Platform, resident_id: str, where: tuple[float, float]) -> str:
    """Raise an alert as intake does (commit with its outbox row), then wake the relay."""

    def commit() -> str:
        command = RaisePanicAlert(
            type=AlertType.CRIME,
            channel=Channel.APP,
            sender=resident_id,
            resident_id=resident_id,
            lat=where[0],
            lon=where[1],
            accuracy_m=15,
        )
        with platform.db.write() as conn:
            return str(raise_alert(conn, command, platform.gazetteer).alert["id"])

    alert_id = await asyncio.to_thread(commit)
    platform.relay.notify()
    return alert_id


async def acknowledge(platform: Platform, operator: Principal, alert_id: str) -> None:
    def commit() -> None:
        with platform.db.write() as conn:
            lifecycle.acknowledge(conn, operator, alert_id)

    await asyncio.to_thread(commit)
    platform.relay.notify()


async def change(platform: Platform, alert_id: str, kind: str, **values: object) -> None:
    def commit() -> None:
        with platform.db.write() as conn:
            alert = records.load(conn, alert_id, for_update=True)
            records.change(
                conn, alert, values, actor="test", kind=kind, at=alert["updated_at"], subject=ALERT_CHANGED
            )

    await asyncio.to_thread(commit)
    platform.relay.notify()


@dataclass
class Cast:
    thandi: Person  # operator, provincial command centre: all of Gauteng
    pieter: Person  # operator, Tshwane only
    nomsa: Person  # resident in Johannesburg
    sipho: Person  # resident in Pretoria


def cast(db: Database) -> Cast:
    people = People(db)
    tshwane = people.agency(
        "Tshwane Metro Police", AgencyType.METRO_POLICE, Jurisdiction(municipalities=frozenset({"TSH"}))
    )
    return Cast(
        thandi=people.user("thandi", Role.OPERATOR),
        pieter=people.user("pieter", Role.OPERATOR, agency_id=tshwane),
        nomsa=people.user("nomsa", Role.RESIDENT, phone=NOMSA_PHONE),
        sipho=people.user("sipho", Role.RESIDENT, phone=SIPHO_PHONE),
    )


async def test_each_connection_gets_what_the_policy_lets_it_read(platform_on_bus: Platform) -> None:
    platform = platform_on_bus
    who = cast(platform.db)
    async with serving(platform) as client:
        thandi = await Feed.open(client, bearer(await staff_token(client, who.thandi)))
        pieter = await Feed.open(client, bearer(await staff_token(client, who.pieter)))
        nomsa = await Feed.open(client, token=await resident_token(client, platform, NOMSA_PHONE))
        sipho = await Feed.open(client, token=await resident_token(client, platform, SIPHO_PHONE))
        try:
            started = time.monotonic()
            in_johannesburg = await press(platform, who.nomsa.principal.user_id, HILLBROW)
            assert await eventually(lambda: len(thandi.alerts()) == 1, within=2.0), "pushed within 2 s"
            latency = time.monotonic() - started
            in_pretoria = await press(platform, who.sipho.principal.user_id, PRETORIA_CENTRAL)
            await acknowledge(platform, who.thandi.principal, in_johannesburg)
            await acknowledge(platform, who.thandi.principal, in_pretoria)

            # Events reach a connection in order: once the last one arrived, the rest had.
            assert await eventually(lambda: len(thandi.alerts()) == 4)
            assert await eventually(lambda: (ALERT_CHANGED, in_pretoria) in pieter.alerts())
            assert await eventually(lambda: sipho.last_status(in_pretoria) == "acknowledged")
            assert await eventually(lambda: nomsa.last_status(in_johannesburg) == "acknowledged")
            await asyncio.sleep(0.3)  # room for a stray event to show up, if any were coming
        finally:
            for feed in (thandi, pieter, nomsa, sipho):
                await feed.close()

    assert latency < 2.0
    assert thandi.alerts() == [
        (ALERT_RAISED, in_johannesburg),
        (ALERT_RAISED, in_pretoria),
        (ALERT_CHANGED, in_johannesburg),
        (ALERT_CHANGED, in_pretoria),
    ]
    assert pieter.alerts() == [(ALERT_RAISED, in_pretoria), (ALERT_CHANGED, in_pretoria)]
    # A resident's phone gets its alert as it stands when the message is written: a change
    # that is already shown (the raise read after the acknowledgement) is not sent twice.
    assert {alert_id for _, alert_id in nomsa.alerts()} == {in_johannesburg}
    assert {alert_id for _, alert_id in sipho.alerts()} == {in_pretoria}
    first = thandi.messages[1]
    assert first["event"] == ALERT_RAISED
    assert first["id"]
    assert first["data"]["municipality"] == "JHB"
    assert first["data"]["priority"] == 2
    own = [m["data"] for m in nomsa.messages if m["event"].startswith("panic.")]
    assert [d["status"] for d in own] in (["new", "acknowledged"], ["acknowledged"])
    assert "priority" not in own[0], "residents see their alert as their phone shows it"


async def test_missing_or_bad_token_is_refused_with_problem_json(platform: Platform) -> None:
    async with serving(platform) as client:
        for headers, params in (
            ({}, {}),
            ({"Authorization": "Bearer not-a-token"}, {}),
            ({}, {"access_token": "not-a-token"}),
        ):
            response = await client.get("/api/feed", headers=headers, params=params)
            assert response.status_code == 401
            assert response.headers["content-type"] == "application/problem+json"
            assert response.headers["www-authenticate"] == "Bearer"
            assert response.json()["status"] == 401


async def test_units_reach_those_who_may_read_them(platform: Platform) -> None:
    who = cast(platform.db)
    async with serving(platform) as client:
        thandi = await Feed.open(client, bearer(await staff_token(client, who.thandi)))
        pieter = await Feed.open(client, bearer(await staff_token(client, who.pieter)))
        nomsa = await Feed.open(client, token=await resident_token(client, platform, NOMSA_PHONE))
        try:
            in_joburg = Event(
                UNIT_CHANGED,
                {"unit_id": "u-1", "agency_id": "a-jmpd", "province": "GP", "municipality": "JHB"},
            )
            in_tshwane = Event(
                UNIT_CHANGED,
                {"unit_id": "u-2", "agency_id": "a-tmpd", "province": "GP", "municipality": "TSH"},
            )
            await platform.bus.publish(in_joburg)
            await platform.bus.publish(in_tshwane)
            assert await eventually(lambda: thandi.names.count(UNIT_CHANGED) == 2)
            assert await eventually(lambda: UNIT_CHANGED in pieter.names)
            await asyncio.sleep(0.2)
        finally:
            for feed in (thandi, pieter, nomsa):
                await feed.close()
    assert [m["data"]["unit_id"] for m in pieter.messages if m["event"] == UNIT_CHANGED] == ["u-2"]
    assert UNIT_CHANGED not in nomsa.names


async def test_a_duress_alert_looks_cancelled_on_the_residents_feed(platform: Platform) -> None:
    who = cast(platform.db)
    async with serving(platform) as client:
        thandi = await Feed.open(client, bearer(await staff_token(client, who.thandi)))
        nomsa = await Feed.open(client, token=await resident_token(client, platform, NOMSA_PHONE))
        try:
            alert_id = await press(platform, who.nomsa.principal.user_id, HILLBROW)
            assert await eventually(lambda: nomsa.last_status(alert_id) == "new")
            await change(platform, alert_id, "duress", duress=True, silent=True, priority=1)
            assert await eventually(lambda: nomsa.last_status(alert_id) == "cancelled")
            await change(platform, alert_id, "dispatched", status=AlertStatus.DISPATCHED.value)
            assert await eventually(lambda: len(thandi.alerts()) == 3)
            await asyncio.sleep(0.3)  # room for a stray message to the resident, if any were coming
        finally:
            await thandi.close()
            await nomsa.close()
    seen_by_operator = [m["data"] for m in thandi.messages if m["event"].startswith("panic.")]
    assert [(d["change"], d["priority"]) for d in seen_by_operator] == [
        ("raised", 2),
        ("duress", 1),
        ("dispatched", 1),
    ]
    seen_by_resident = [m["data"] for m in nomsa.messages if m["event"].startswith("panic.")]
    assert [d["status"] for d in seen_by_resident] == ["new", "cancelled"], "then nothing more"
    assert all(
        set(d) == {"id", "status", "type", "created_at", "location_unknown", "eta_seconds", "unit_callsign"}
        for d in seen_by_resident
    )


async def test_heartbeats_recheck_the_token_and_a_revoked_one_ends_the_stream(platform: Platform) -> None:
    who = cast(platform.db)
    async with serving(platform) as client:
        hub = feed_hub(platform)
        assert hub is not None
        hub.heartbeat_seconds = 0.1
        token = await staff_token(client, who.thandi)
        thandi = await Feed.open(client, bearer(token))
        try:
            assert await eventually(lambda: thandi.heartbeats >= 2)
            assert not thandi.ended
            assert (await client.post("/api/auth/logout", headers=bearer(token))).status_code == 204
            assert await eventually(lambda: thandi.ended)
        finally:
            await thandi.close()
        assert hub.clients == 0
    assert thandi.names[-1] == "feed.closed"
    assert "revoked" in thandi.messages[-1]["data"]["reason"]


# --- the hub on its own ------------------------------------------------------------------


def principal(
    name: str, *roles: Role, agency_id: str | None = None, where: Jurisdiction | None = None
) -> Principal:
    return Principal(
        user_id=f"u-{name}",
        username=name,
        roles=frozenset(roles),
        clearance=Clearance.UNCLASSIFIED,
        agency_id=agency_id,
        jurisdiction=where or Jurisdiction(),
    )


def alert_payload(**extra: object) -> dict[str, object]:
    return {
        "alert_id": "a-1",
        "change": "raised",
        "status": "new",
        "priority": 2,
        "resident_id": "u-nomsa",
        "province": "GP",
        "municipality": "JHB",
        "cell": None,
        **extra,
    }


async def test_a_console_that_falls_behind_is_reset_not_thinned(platform: Platform) -> None:
    hub = FeedHub(InProcessBus(), platform.db, queue_size=3)
    operator = principal(
        "thandi", Role.OPERATOR, agency_id="a-gp", where=Jurisdiction(provinces=frozenset({"GP"}))
    )
    stream = hub.stream(operator, "token", platform.authenticator)
    assert b"feed.ready" in await anext(stream)
    events = [Event(ALERT_CHANGED, alert_payload(version=n)) for n in range(4)]

    await hub.deliver(events[0])
    await hub.deliver(events[0])  # a redelivery is pushed once
    assert b"".join([await anext(stream)]).count(b"event: panic.alert_changed") == 1
    for event in events[1:]:
        await hub.deliver(event)
    await hub.deliver(Event(ALERT_CHANGED, alert_payload(version=9)))  # the fourth waiting: over the limit

    last = await anext(stream)
    assert last.startswith(b"event: feed.reset")
    assert b"fell behind" in last
    with pytest.raises(StopAsyncIteration):
        await anext(stream)
    assert hub.clients == 0


async def test_escalations_reach_named_command_centres_but_never_residents(platform: Platform) -> None:
    hub = FeedHub(InProcessBus(), platform.db)
    responsible = principal(
        "thandi", Role.OPERATOR, agency_id="a-gp", where=Jurisdiction(provinces=frozenset({"GP"}))
    )
    neighbour = principal(
        "lindiwe", Role.OPERATOR, agency_id="a-next", where=Jurisdiction(cells=frozenset({"87x"}))
    )
    other = principal(
        "pieter", Role.OPERATOR, agency_id="a-far", where=Jurisdiction(municipalities=frozenset({"TSH"}))
    )
    responder = principal("bongani", Role.RESPONDER, agency_id="a-next")
    owner = principal("nomsa", Role.RESIDENT)
    clients = {p.username: hub.connect(p) for p in (responsible, neighbour, other, responder, owner)}
    notify = {"supervisor_agency_ids": ["a-gp"], "neighbour_agency_ids": ["a-next"]}

    await hub.deliver(Event(ALERT_RAISED, alert_payload()))
    await hub.deliver(Event(ESCALATED, alert_payload(kind="unacknowledged", notify=notify)))
    await hub.deliver(Event("cctv.camera_offline", {"camera_id": "c-1"}))  # no rule: nobody

    received = {name: [e.subject for e, _ in client.queue] for name, client in clients.items()}
    assert received == {
        "thandi": [ALERT_RAISED, ESCALATED],
        "lindiwe": [ESCALATED],
        "pieter": [],
        "bongani": [],
        "nomsa": [ALERT_RAISED],
    }
