"""Panic devices and unit locations over a real MQTT broker (Mosquitto); the device register."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import AsyncIterator, Callable
from typing import Any

import aiomqtt
import anyio
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.exc import OperationalError

from khusela.audit.tables import audit_log
from khusela.core.gazetteer import BundledGazetteer
from khusela.identity import directory
from khusela.identity.model import SYSTEM, AgencyType, Role
from khusela.panic import devices, records
from khusela.panic.channels.mqtt import MqttListener, broker
from khusela.panic.model import UnitKind
from khusela.panic.tables import alerts, units
from khusela.panic.units import register_unit
from khusela.store.database import Database
from tests.conftest import People, bearer
from tests.panic_support import HILLBROW, PRETORIA_CENTRAL
from tests.services import service_url

pytestmark = [pytest.mark.anyio, pytest.mark.mqtt]


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def mqtt_url() -> str:
    base = service_url("mqtt")
    return f"{base}?client_id=khusela-test-{uuid.uuid4().hex[:12]}"


def listener_for(url: str, db: Database) -> MqttListener:
    return MqttListener(url, db, BundledGazetteer(), session_expiry=10, backoff=(0.05, 0.5))


@pytest.fixture
async def listener(mqtt_url: str, sqlite_db: Database) -> AsyncIterator[MqttListener]:
    service = listener_for(mqtt_url, sqlite_db)
    await service.start()
    await until(lambda: service.counts["connected"] >= 1)
    yield service
    await service.stop()


async def until(condition: Callable[[], Any], within: float = 5.0) -> Any:
    """Poll `condition` (a database read, nothing to wait on) until it is truthy, or fail."""
    deadline = time.monotonic() + within
    while not (value := condition()):
        if time.monotonic() > deadline:
            pytest.fail(f"not true within {within} s")
        await anyio.sleep(0.05)
    return value


async def publish(topic: str, payload: bytes | dict[str, Any], *, retain: bool = False) -> None:
    where = broker(service_url("mqtt"))
    body = json.dumps(payload).encode() if isinstance(payload, dict) else payload
    async with aiomqtt.Client(where.host, where.port) as client:
        await client.publish(topic, body, qos=1, retain=retain)


def device_id() -> str:
    return f"btn-{uuid.uuid4().hex[:10]}"


def alerts_of(db: Database, device: str) -> list[records.Alert]:
    with db.read() as conn:
        return [dict(r._mapping) for r in conn.execute(select(alerts).where(alerts.c.device_id == device))]


def register(db: Database, device: str, **kwargs: Any) -> None:
    with db.write() as conn:
        devices.register_device(conn, SYSTEM, device_id=device, **kwargs)


async def test_a_press_raises_an_alert_for_the_devices_owner(
    listener: MqttListener, sqlite_db: Database
) -> None:
    with sqlite_db.write() as conn:
        owner = directory.create_user(
            conn, SYSTEM, username="gogo", roles=[Role.RESIDENT], phone="+27825550199"
        ).user
    device = device_id()
    register(sqlite_db, device, owner_user_id=owner.user_id)
    lat, lon = HILLBROW
    await publish(
        f"khusela/devices/{device}/panic", {"lat": lat, "lon": lon, "battery": 87, "ts": time.time()}
    )
    [alert] = await until(lambda: alerts_of(sqlite_db, device))
    assert alert["channel"] == "device"
    assert alert["resident_id"] == owner.user_id
    assert (alert["lat"], alert["lon"]) == (lat, lon)
    assert alert["location_source"] == "device"
    assert alert["municipality"] == "JHB"
    with sqlite_db.read() as conn:
        seen = devices.find_device(conn, device)
    assert seen is not None
    assert seen.battery == 87
    assert seen.last_seen_at is not None


async def test_a_malformed_payload_is_counted_and_the_next_press_still_gets_through(
    listener: MqttListener, sqlite_db: Database
) -> None:
    device = device_id()
    register(
        sqlite_db,
        device,
        site_name="Sunnyside Primary",
        site_lat=PRETORIA_CENTRAL[0],
        site_lon=PRETORIA_CENTRAL[1],
    )
    topic = f"khusela/devices/{device}/panic"
    await publish(topic, b"\x00not json")
    await publish(topic, {"lat": "south", "lon": 28.0})
    await publish(topic, {"battery": 12})
    [alert] = await until(lambda: alerts_of(sqlite_db, device))
    assert listener.counts["malformed"] >= 2
    assert (alert["lat"], alert["lon"]) == PRETORIA_CENTRAL, "no fix: the site's registered position"
    assert alert["location_text"] == "Sunnyside Primary"
    assert alert["location_unknown"] is False


async def test_an_unregistered_device_without_a_fix_is_still_heard(
    listener: MqttListener, sqlite_db: Database
) -> None:
    device = device_id()
    await publish(f"khusela/devices/{device}/panic", {"lat": 0.0, "lon": 0.0})
    [alert] = await until(lambda: alerts_of(sqlite_db, device))
    assert alert["location_unknown"] is True
    assert alert["resident_id"] is None
    assert alert["note"] == "Panic device not registered"


async def test_repeat_presses_join_one_alert(listener: MqttListener, sqlite_db: Database) -> None:
    device = device_id()
    for _ in range(3):
        await publish(f"khusela/devices/{device}/panic", {})
    await until(lambda: [a for a in alerts_of(sqlite_db, device) if a["presses"] == 3])
    assert len(alerts_of(sqlite_db, device)) == 1


async def test_the_listener_reconnects_after_the_broker_drops_it(
    listener: MqttListener, mqtt_url: str, sqlite_db: Database
) -> None:
    where = broker(mqtt_url)
    # A second client with the listener's id makes the broker drop the listener.
    async with aiomqtt.Client(where.host, where.port, identifier=where.client_id):
        pass
    await until(lambda: listener.counts["connected"] >= 2)
    device = device_id()
    await publish(f"khusela/devices/{device}/panic", {})
    await until(lambda: alerts_of(sqlite_db, device))


async def test_a_press_sent_while_the_listener_was_down_is_delivered(
    mqtt_url: str, sqlite_db: Database
) -> None:
    first = listener_for(mqtt_url, sqlite_db)
    await first.start()
    await until(lambda: first.counts["connected"] >= 1)
    await first.stop()
    device = device_id()
    await publish(f"khusela/devices/{device}/panic", {})
    second = listener_for(mqtt_url, sqlite_db)
    await second.start()
    try:
        await until(lambda: alerts_of(sqlite_db, device))
    finally:
        await second.stop()


async def test_a_press_that_failed_to_commit_is_delivered_again(
    listener: MqttListener, sqlite_db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The database failing once must not lose the press: it was never acknowledged."""
    from khusela.panic.channels import mqtt

    real = mqtt.raise_alert  # type: ignore[attr-defined]  # patched where the listener looks it up
    failures: list[int] = []

    def flaky(*args: Any, **kwargs: Any) -> Any:
        if not failures:
            failures.append(1)
            raise OperationalError("INSERT", {}, Exception("database is locked"))
        return real(*args, **kwargs)

    monkeypatch.setattr(mqtt, "raise_alert", flaky)
    device = device_id()
    await publish(f"khusela/devices/{device}/panic", {})
    [alert] = await until(lambda: alerts_of(sqlite_db, device))
    assert alert["presses"] == 1
    assert listener.counts["failed"] == 1
    assert listener.counts["connected"] >= 2, "the listener reconnected to have it delivered again"


async def test_a_retained_panic_is_not_raised_again_on_subscribe(mqtt_url: str, sqlite_db: Database) -> None:
    device = device_id()
    topic = f"khusela/devices/{device}/panic"
    await publish(topic, {}, retain=True)
    service = listener_for(mqtt_url, sqlite_db)
    await service.start()
    try:
        await until(lambda: service.counts["retained"] >= 1)
        assert alerts_of(sqlite_db, device) == []
    finally:
        await service.stop()
        await publish(topic, b"", retain=True)  # clear the retained message from the broker


async def test_units_report_their_location(listener: MqttListener, sqlite_db: Database) -> None:
    with sqlite_db.write() as conn:
        agency = directory.create_agency(
            conn, SYSTEM, f"JMPD {uuid.uuid4().hex[:6]}", AgencyType.METRO_POLICE
        )
        unit = register_unit(
            conn,
            SYSTEM,
            agency_id=agency.id,
            callsign=f"JM{uuid.uuid4().hex[:6]}",
            kind=UnitKind.METRO_POLICE_VEHICLE,
            lat=PRETORIA_CENTRAL[0],
            lon=PRETORIA_CENTRAL[1],
        )
    topic = f"khusela/units/{unit.id}/location"
    await publish(topic, {"lon": 28.0})
    lat, lon = HILLBROW
    await publish(topic, {"lat": lat, "lon": lon, "accuracy_m": 8, "ts": time.time()})

    def where() -> tuple[float, float, str | None] | None:
        with sqlite_db.read() as conn:
            row = conn.execute(
                select(units.c.lat, units.c.lon, units.c.municipality).where(units.c.id == unit.id)
            ).one()
        return (row.lat, row.lon, row.municipality) if row.lat == lat else None

    assert await until(where) == (lat, lon, "JHB")
    assert listener.counts["malformed"] >= 1
    await until(lambda: listener.counts["located"] >= 1)  # counted just after the commit


def test_administrators_register_and_list_devices(client: TestClient, people: People) -> None:
    admin = bearer(client, people.user("root", Role.ADMIN))
    resident = people.user("gogo", Role.RESIDENT, phone="+27825550198")
    body = {"id": "btn-0001", "owner_user_id": resident.principal.user_id}
    created = client.post("/api/panic/devices", headers=admin, json=body)
    assert created.status_code == 201, created.text
    assert created.json()["owner_user_id"] == resident.principal.user_id
    site = {"id": "school-7", "site_name": "Sunnyside Primary", "site_lat": -25.75, "site_lon": 28.19}
    assert client.post("/api/panic/devices", headers=admin, json=site).status_code == 201
    listed = client.get("/api/panic/devices", headers=admin)
    assert [d["id"] for d in listed.json()] == ["btn-0001", "school-7"]
    assert client.post("/api/panic/devices", headers=admin, json=body).status_code == 409
    platform = client.app.state.platform  # type: ignore[attr-defined]
    with platform.db.read() as conn:
        actions = set(conn.execute(select(audit_log.c.action)).scalars())
    assert {"device.register", "device.list"} <= actions


@pytest.mark.parametrize(
    "body",
    [
        {"id": "btn/1", "site_name": "Clinic"},
        {"id": "btn-1"},
        {"id": "btn-1", "site_name": "Clinic", "site_lat": -25.7},
        {"id": "btn-1", "site_name": "Clinic", "site_lat": 0.0, "site_lon": 0.0},
        {"id": "btn-1", "owner_user_id": "no-such-user"},
        {"id": "btn-1", "site_name": "Clinic", "colour": "red"},
    ],
)
def test_bad_device_registrations_are_refused(
    client: TestClient, people: People, body: dict[str, Any]
) -> None:
    admin = bearer(client, people.user("root", Role.ADMIN))
    response = client.post("/api/panic/devices", headers=admin, json=body)
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"


def test_only_administrators_manage_devices(client: TestClient, people: People) -> None:
    operator = bearer(client, people.user("thandi", Role.OPERATOR))
    assert client.get("/api/panic/devices", headers=operator).status_code == 403
    refused = client.post("/api/panic/devices", headers=operator, json={"id": "b1", "site_name": "Clinic"})
    assert refused.status_code == 403
    assert client.get("/api/panic/devices").status_code == 401
