"""Camera workers end to end, with real processes and real decoding: a loopback MJPEG
camera of the real footage goes online, people are detected and land in `cctv_events` and
the outbox, the camera dies and is marked offline with the reason within 5 s
(`cctv.camera_offline` enqueued), comes back online, and uptime reflects it — on SQLite and
PostgreSQL; and the MQTT mirror of their events."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

import aiomqtt
import pytest
from sqlalchemy import select

from khusela.bus.tables import outbox
from khusela.cctv.events import MQTT_TOPIC, MqttEventPublisher
from khusela.cctv.health import GroupBy, uptime
from khusela.cctv.tables import camera_status_changes, cctv_events
from khusela.cctv.workers import CameraSupervisor
from khusela.core.gazetteer import BundledGazetteer
from khusela.evidence.storage import local_store
from khusela.identity.model import Role
from khusela.store.database import Database
from tests.conftest import People
from tests.integration.cctv.workers_support import FAST, camera_row, city_camera, footage_camera, wait_for
from tests.live_server import free_port
from tests.services import service_url

pytestmark = pytest.mark.slow


class Running:
    """The supervisor on an event loop in a thread, as the server runs it."""

    def __init__(self, supervisor: CameraSupervisor) -> None:
        self.supervisor = supervisor
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)

    def __enter__(self) -> CameraSupervisor:
        self.thread.start()
        asyncio.run_coroutine_threadsafe(self.supervisor.start(), self.loop).result(10)
        return self.supervisor

    def __exit__(self, *exc: object) -> None:
        asyncio.run_coroutine_threadsafe(self.supervisor.stop(), self.loop).result(15)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)
        self.loop.close()


def _subjects(db: Database) -> list[str]:
    with db.read() as conn:
        return [r.subject for r in conn.execute(select(outbox.c.subject).order_by(outbox.c.id))]


@pytest.fixture
def supervisor(database: Database, tmp_path: Path) -> CameraSupervisor:
    return CameraSupervisor(database, tmp_path, options=FAST, poll_s=0.5)


def test_a_camera_goes_online_detects_people_dies_and_comes_back(
    database: Database, supervisor: CameraSupervisor, tmp_path: Path
) -> None:
    people = People(database)
    camera = footage_camera()
    row = city_camera(database, people, BundledGazetteer(), camera.url)
    started = datetime.now(UTC)
    try:
        with Running(supervisor):
            wait_for(lambda: camera_row(database, row["id"])["status"] == "online", 20, "online")

            def people_seen() -> list[dict[str, object]]:
                with database.read() as conn:
                    rows = conn.execute(select(cctv_events).where(cctv_events.c.label == "person"))
                    return [dict(r._mapping) for r in rows]

            wait_for(people_seen, 20, "a person detected")
            seen = people_seen()[0]
            assert seen["camera_id"] == row["id"]
            assert float(str(seen["score"])) > 0
            assert len(seen["box"]) == 4  # type: ignore[arg-type]
            sha = seen["snapshot_sha256"]
            assert isinstance(sha, str)
            assert local_store(tmp_path).verify(sha) > 0
            assert "cctv.event" in _subjects(database)
            wait_for(  # measured over a sliding window: give it a few seconds on a busy machine
                lambda: float((supervisor.health_of(row["id"]) or {}).get("measured_fps", 0.0)) > 2.0,
                15,
                "frames analysed at more than 2 fps",
            )

            camera.stop()
            stopped = time.monotonic()
            wait_for(lambda: camera_row(database, row["id"])["status"] == "offline", 5.0, "offline")
            took = time.monotonic() - stopped
            down = camera_row(database, row["id"])
            assert down["status_reason"], down
            assert "cctv.camera_offline" in _subjects(database)
            with database.read() as conn:
                body = conn.execute(
                    select(outbox.c.body).where(outbox.c.subject == "cctv.camera_offline")
                ).scalar_one()
            payload = json.loads(body)["payload"]
            assert payload["camera_id"] == row["id"]
            assert payload["municipality"] == "JHB"
            assert payload["reason"] == down["status_reason"]
            assert "127.0.0.1" not in payload["reason"]  # reasons never carry the stream URL
            time.sleep(1.0)

            camera.start()
            wait_for(lambda: camera_row(database, row["id"])["status"] == "online", 10, "back online")
            assert _subjects(database).count("cctv.camera_online") == 2
            time.sleep(0.5)
    finally:
        camera.stop()
    print(f"offline marked {took:.2f} s after the camera died")

    viewer = people.user("thandi", Role.OPERATOR, agency_id=people.agency("City of Johannesburg")).principal
    with database.read() as conn:
        changes = [r.status for r in conn.execute(select(camera_status_changes.c.status).order_by("id"))]
        [card] = uptime(conn, viewer, started, datetime.now(UTC))
        [owner] = uptime(conn, viewer, started, datetime.now(UTC), GroupBy.OWNER)
    assert changes == ["online", "offline", "online", "unknown"]  # unknown: the workers stopped
    assert card["key"] == row["id"]
    assert card["online_s"] > 1
    assert card["offline_s"] > 0.5
    assert 0 < card["uptime"] < 1
    assert owner["name"] == "City of Johannesburg"
    assert owner["uptime"] == card["uptime"]
    assert camera_row(database, row["id"])["status"] == "unknown"


def test_events_are_mirrored_on_mqtt_and_dropped_when_the_broker_is_down() -> None:
    url = service_url("mqtt")

    async def scenario() -> tuple[dict[str, object], int]:
        publisher = MqttEventPublisher(url)
        host = urlsplit(url)
        async with aiomqtt.Client(host.hostname or "127.0.0.1", host.port or 1883) as listener:
            await listener.subscribe(MQTT_TOPIC, qos=0)
            await publisher.start()
            deadline = time.monotonic() + 5
            while not publisher.connected:
                assert time.monotonic() < deadline, "the publisher did not connect"
                await asyncio.sleep(0.05)
            publisher.publish({"camera_id": "cam-1", "label": "person", "score": 0.9})
            async with asyncio.timeout(5):
                message = await anext(aiter(listener.messages))
            await publisher.stop()
        down = MqttEventPublisher(f"mqtt://127.0.0.1:{free_port()}")
        await down.start()
        for _ in range(3):
            down.publish({"camera_id": "cam-1"})
        await asyncio.sleep(0.1)
        await down.stop()
        return json.loads(bytes(message.payload)), down.counts["dropped"]

    received, dropped = asyncio.run(scenario())
    assert received == {"camera_id": "cam-1", "label": "person", "score": 0.9}
    assert dropped == 3
