"""A watchlisted plate seen by a camera becomes an alert in the operator queue, end to end:
a real photo is read (plate located, then OCR), matched against the watchlist, reported
with its snapshot, and the bus consumer opens the panic alert that operators see."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from pathlib import Path

import cv2
import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from khusela.bootstrap import Platform
from khusela.cctv import cameras
from khusela.cctv.cameras import CameraSpec
from khusela.cctv.hits import PlateSighting, report_plate_hit
from khusela.cctv.plates import Watchlist, find_and_read
from khusela.cli import app
from khusela.evidence.storage import local_store
from khusela.identity.model import AgencyType, Jurisdiction, Role
from tests.conftest import People, bearer
from tests.panic_support import HILLBROW
from tests.services import shared_data

pytestmark = pytest.mark.slow


def _camera(platform: Platform, people: People) -> dict[str, object]:
    city = people.agency(
        "City of Johannesburg", AgencyType.MUNICIPALITY, Jurisdiction(municipalities=frozenset({"JHB"}))
    )
    admin = people.user("admin", Role.ADMIN).principal
    spec = CameraSpec(city, "Hillbrow Tower North", HILLBROW[0], HILLBROW[1], "rtsp://cam.local/main")
    with platform.db.write() as conn:
        return cameras.register(conn, admin, spec, platform.gazetteer)


def _queue(client: TestClient, headers: dict[str, str]) -> list[dict[str, object]]:
    response = client.get("/api/panic/alerts", params={"status": "open"}, headers=headers)
    assert response.status_code == 200
    alerts: list[dict[str, object]] = response.json()
    return alerts


def test_a_watchlisted_plate_in_a_photo_opens_an_alert(client: TestClient, platform: Platform) -> None:
    people = People(platform.db)
    camera = _camera(platform, people)
    operator = bearer(client, people.user("thandi", Role.OPERATOR))
    watchlist = Watchlist()
    watchlist.add("M5 XSX", reason="stolen vehicle", reference="CAS 12/11/2026")

    photo = cv2.imread(shared_data("plates", "eu1.jpg"))
    assert photo is not None
    frame_at = time.monotonic()
    reads = find_and_read(photo)
    hits = [(read, watchlist.match(read.plate.canonical)) for read in reads]
    [(read, hit)] = [(r, h) for r, h in hits if h is not None]
    assert hit.entry.reference == "CAS 12/11/2026"
    ok, jpeg = cv2.imencode(".jpg", photo)
    assert ok
    sighting = PlateSighting(camera, read.text, read.confidence, datetime.now(UTC), bytes(jpeg))
    with platform.db.write() as conn:
        report_plate_hit(conn, sighting, hit, local_store(platform.settings.data_dir))
    platform.relay.notify()

    deadline = time.monotonic() + 10
    while not (queue := _queue(client, operator)):
        assert time.monotonic() < deadline, "no alert reached the queue"
        time.sleep(0.05)
    waited = time.monotonic() - frame_at
    [alert] = queue
    assert alert["channel"] == "cctv"
    assert alert["type"] == "crime"
    assert alert["municipality"] == "JHB"
    assert alert["lat"] == pytest.approx(HILLBROW[0])
    assert alert["location_text"] == "Camera Hillbrow Tower North"
    detail = client.get(f"/api/panic/alerts/{alert['id']}", headers=operator).json()
    assert "M5 XSX" in detail["note"] or "M5XSX" in detail["note"]
    assert "stolen vehicle" in detail["note"]
    assert "Snapshot sha256" in detail["note"]
    print(f"photo → plate read → alert in the queue: {waited:.2f} s")


def test_sightings_of_one_plate_within_two_minutes_are_one_alert(
    client: TestClient, platform: Platform
) -> None:
    people = People(platform.db)
    camera = _camera(platform, people)
    operator = bearer(client, people.user("thandi", Role.OPERATOR))
    watchlist = Watchlist()
    watchlist.add("CA 123-456", reason="wanted", reference="CAS 1/11/2026")
    hit = watchlist.match("CA123456")
    assert hit is not None
    seen = datetime.now(UTC).replace(second=5)  # both sightings fall in one two-minute window
    for read in ("CA 123-456", "CA 123-456"):
        with platform.db.write() as conn:
            report_plate_hit(conn, PlateSighting(camera, read, 0.9, seen), hit, None)
        platform.relay.notify()
    deadline = time.monotonic() + 10
    while not _queue(client, operator):
        assert time.monotonic() < deadline, "no alert reached the queue"
        time.sleep(0.05)
    time.sleep(0.5)
    assert len(_queue(client, operator)) == 1


def test_cli_reads_a_photos_plate_and_flags_the_watchlist(tmp_path: Path) -> None:
    watchlist = tmp_path / "watchlist.csv"
    watchlist.write_text("plate,reason,reference\nM5 XSX,stolen vehicle,CAS 12/11/2026\n")
    photo = shared_data("plates", "eu1.jpg")
    result = CliRunner().invoke(
        app, ["cctv", "analyze", photo, "--detect", "plate", "--watchlist", str(watchlist), "--json"]
    )
    assert result.exit_code == 0, result.output
    events = [json.loads(line) for line in result.output.splitlines() if line.startswith("{")]
    flagged = [e for e in events if e.get("watchlist")]
    assert flagged, events
    assert flagged[0]["plate"] == "M5XSX"
    assert "stolen vehicle" in flagged[0]["watchlist"]
