"""An event's snapshot kept as evidence: copied write-once into the case with its source
(camera, event, box, plate) and a custody entry; need-to-know holds on both sides."""

from __future__ import annotations

from datetime import UTC, datetime

import cv2
import numpy as np
from fastapi.testclient import TestClient

from khusela.bootstrap import Platform
from khusela.cctv import cameras
from khusela.cctv.cameras import CameraSpec
from khusela.cctv.events import record_event
from khusela.cctv.tables import cctv_events
from khusela.cctv.video.pipeline import CctvEvent
from khusela.evidence.storage import local_store
from khusela.identity.model import AgencyType, Jurisdiction, Role
from tests.conftest import People, bearer
from tests.panic_support import HILLBROW


def test_an_event_snapshot_becomes_evidence_with_custody(client: TestClient, platform: Platform) -> None:
    people = People(platform.db)
    agency = people.agency()
    other = people.agency(
        "Tshwane Metro Police", AgencyType.METRO_POLICE, Jurisdiction(municipalities=frozenset({"TSH"}))
    )
    admin = people.user("admin", Role.ADMIN).principal
    operator = bearer(client, people.user("thandi", Role.OPERATOR, agency_id=agency))
    outsider = bearer(client, people.user("pieter", Role.OPERATOR, agency_id=other))
    ok, jpeg = cv2.imencode(".jpg", np.full((90, 160, 3), 120, dtype=np.uint8))
    assert ok
    with platform.db.write() as conn:
        camera = cameras.register(
            conn, admin, CameraSpec(agency, "Hillbrow Tower", *HILLBROW, "rtsp://cam/x"), platform.gazetteer
        )
        event = CctvEvent(
            camera_id=str(camera["id"]),
            kind="start",
            at=datetime.now(UTC),
            offset_s=0.0,
            label="person",
            score=0.91,
            box=(10, 20, 30, 60),
            zone=None,
            track_id=7,
            plate=None,
            snapshot_jpeg=bytes(jpeg),
        )
        record_event(conn, camera, event, local_store(platform.settings.data_dir), report_hit=False)
        event_id = conn.execute(cctv_events.select()).one().id
    case = client.post(
        "/api/evidence/cases", json={"case_number": "CAS 9/11/2026", "title": "Assault"}, headers=operator
    )
    assert case.status_code == 201, case.text
    case_id = case.json()["id"]

    kept = client.post(f"/api/cctv/events/{event_id}/evidence", json={"case_id": case_id}, headers=operator)
    assert kept.status_code == 201, kept.text
    item = kept.json()
    assert item["kind"] == "snapshot"
    assert item["media_type"] == "image/jpeg"
    assert item["source"]["event_id"] == event_id
    assert item["source"]["track_id"] == 7
    content = client.get(f"/api/evidence/cases/{case_id}/items/{item['id']}/content", headers=operator)
    assert content.content == bytes(jpeg)
    custody = client.get(f"/api/evidence/cases/{case_id}/custody", headers=operator).json()
    assert [e["action"] for e in custody["entries"]][:2] == ["created", "added"]
    assert custody["ok"] is True

    refused = client.post(
        f"/api/cctv/events/{event_id}/evidence", json={"case_id": case_id}, headers=outsider
    )
    assert refused.status_code == 404, "another agency sees neither the event nor the case"
    missing = client.post("/api/cctv/events/nope/evidence", json={"case_id": case_id}, headers=operator)
    assert missing.status_code == 404
