"""The live view and the read API over a real server with a real camera worker: an
authorised operator gets JPEG frames as multipart/x-mixed-replace (token in the query, as
an <img> tag sends it), the view is audited, another agency's operator gets 404, the feed
pushes `cctv.*` events to those who may see the camera, and events, snapshots and uptime
are served."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from khusela.audit.tables import audit_log
from khusela.bootstrap import Platform, bootstrap
from khusela.bus.adapters.inprocess import InProcessBus
from khusela.cctv.workers import CameraSupervisor
from khusela.core.settings import Settings
from khusela.identity.model import AgencyType, Jurisdiction, Role
from khusela.store.database import Database
from tests.conftest import People, Person
from tests.integration.cctv.workers_support import FAST, camera_row, city_camera, footage_camera, wait_for
from tests.live_server import live_server

pytestmark = pytest.mark.slow


@pytest.fixture
def workers_platform(sqlite_db: Database, tmp_path: Path) -> Platform:
    settings = Settings(environment="test", data_dir=tmp_path, rate_limit_per_minute=10_000)
    platform = bootstrap(settings, db=sqlite_db, bus=InProcessBus())
    platform.background.append(
        CameraSupervisor(sqlite_db, tmp_path, notify=platform.relay.notify, options=FAST, poll_s=0.5)
    )
    return platform


def _token(base: str, person: Person) -> str:
    response = httpx.post(f"{base}/api/auth/login", json=person.login_body())
    assert response.status_code == 200, response.text
    return str(response.json()["access_token"])


def _parts(base: str, path: str, count: int) -> tuple[str, list[bytes]]:
    """The content type and the first `count` JPEGs of a multipart stream."""
    jpegs: list[bytes] = []
    with httpx.stream("GET", f"{base}{path}", timeout=15) as response:
        assert response.status_code == 200, response.read()
        buffer = b""
        for chunk in response.iter_bytes():
            buffer += chunk
            while b"\r\n\r\n" in buffer:
                head, _, rest = buffer.partition(b"\r\n\r\n")
                length = int(
                    next(h for h in head.split(b"\r\n") if h.startswith(b"Content-Length")).split(b":")[1]
                )
                if len(rest) < length + 2:
                    break
                jpegs.append(rest[:length])
                buffer = rest[length + 2 :]
            if len(jpegs) >= count:
                return response.headers["content-type"], jpegs
    pytest.fail("the stream ended early")


def _feed(base: str, token: str, subjects: list[str], stop: threading.Event) -> None:
    try:
        with httpx.stream("GET", f"{base}/api/feed", params={"access_token": token}, timeout=30) as response:
            for line in response.iter_lines():
                if line.startswith("event: "):
                    subjects.append(line.removeprefix("event: "))
                if stop.is_set():
                    return
    except httpx.HTTPError:  # the server stops while the feed is open
        return


def test_live_view_events_feed_and_uptime(workers_platform: Platform) -> None:
    db = workers_platform.db
    people = People(db)
    camera = footage_camera()
    row = city_camera(db, people, workers_platform.gazetteer, camera.url)
    city = people.agency("City of Johannesburg")
    tshwane = people.agency(
        "City of Tshwane", AgencyType.MUNICIPALITY, Jurisdiction(municipalities=frozenset({"TSH"}))
    )
    thandi = people.user("thandi", Role.OPERATOR, agency_id=city)
    sipho = people.user("sipho", Role.OPERATOR, agency_id=tshwane)
    try:
        with live_server(workers_platform) as base:
            token, other = _token(base, thandi), _token(base, sipho)
            mine: list[str] = []
            theirs: list[str] = []
            stop = threading.Event()
            feeds = [
                threading.Thread(target=_feed, args=(base, t, s, stop), daemon=True)
                for t, s in ((token, mine), (other, theirs))
            ]
            for feed in feeds:
                feed.start()
            wait_for(lambda: "feed.ready" in mine and "feed.ready" in theirs, 5, "feeds open")
            wait_for(lambda: camera_row(db, row["id"])["status"] == "online", 20, "online")

            live = f"/api/cctv/cameras/{row['id']}/live.mjpeg"
            started = time.monotonic()
            content_type, jpegs = _parts(base, f"{live}?access_token={token}", 6)
            took = time.monotonic() - started
            assert content_type == "multipart/x-mixed-replace; boundary=frame"
            assert all(j.startswith(b"\xff\xd8") and j.endswith(b"\xff\xd9") for j in jpegs)
            assert took >= 5 / 5.0 * 0.8, "at most 5 frames a second"
            with db.read() as conn:
                viewed = conn.execute(
                    select(audit_log.c.actor, audit_log.c.object_id).where(
                        audit_log.c.action == "cctv.live_viewed"
                    )
                ).all()
            assert [tuple(v) for v in viewed] == [("thandi", row["id"])]

            assert httpx.get(f"{base}{live}?access_token={other}").status_code == 404
            assert httpx.get(f"{base}{live}").status_code == 401
            bearer = {"Authorization": f"Bearer {token}"}
            snap = httpx.get(f"{base}/api/cctv/cameras/{row['id']}/snapshot.jpg", headers=bearer)
            assert snap.status_code == 200
            assert snap.content.startswith(b"\xff\xd8")
            hidden = httpx.get(
                f"{base}/api/cctv/cameras/{row['id']}/snapshot.jpg",
                headers={"Authorization": f"Bearer {other}"},
            )
            assert hidden.status_code == 404

            def events() -> list[dict[str, object]]:
                response = httpx.get(f"{base}/api/cctv/events", params={"label": "person"}, headers=bearer)
                assert response.status_code == 200
                found: list[dict[str, object]] = response.json()
                return found

            wait_for(events, 20, "a person event listed")
            event = events()[0]
            assert event["camera_name"] == "Hillbrow Tower North"
            snapshot = httpx.get(f"{base}{event['snapshot_url']}", headers=bearer)
            assert snapshot.status_code == 200
            assert snapshot.content.startswith(b"\xff\xd8")
            assert (
                httpx.get(f"{base}/api/cctv/events", headers={"Authorization": f"Bearer {other}"}).json()
                == []
            )

            camera.stop()
            wait_for(lambda: camera_row(db, row["id"])["status"] == "offline", 5, "offline")
            wait_for(lambda: "cctv.camera_offline" in mine, 5, "offline on the feed")
            assert "cctv.event" in mine
            uptime = httpx.get(f"{base}/api/cctv/uptime", headers=bearer, params={"group_by": "owner"})
            assert uptime.status_code == 200, uptime.text
            [group] = uptime.json()["rows"]
            assert group["name"] == "City of Johannesburg"
            assert 0 < group["uptime"] < 1
            health = httpx.get(f"{base}/api/cctv/cameras/{row['id']}/health", headers=bearer).json()
            assert health["status"] == "offline"
            assert health["reason"]
            stop.set()
            assert not any(s.startswith("cctv.") for s in theirs), theirs
    finally:
        camera.stop()


@pytest.fixture
def no_workers(platform: Platform) -> Platform:
    return platform


def test_live_view_without_workers_is_503(no_workers: Platform, people: People) -> None:
    camera = city_camera(no_workers.db, people, no_workers.gazetteer, "rtsp://u:secret@cam.local/main")
    thandi = people.user("thandi", Role.OPERATOR, agency_id=people.agency("City of Johannesburg"))
    with live_server(no_workers) as base:
        token = _token(base, thandi)
        response = httpx.get(f"{base}/api/cctv/cameras/{camera['id']}/live.mjpeg?access_token={token}")
    assert response.status_code == 503
    assert "secret" not in response.text
