"""Recording, the segment hash chain, retention and clips on the real footage and real
databases (SQLite and PostgreSQL): stream copy proven packet for packet, every kind of
tampering named, held footage never deleted, clips that cover their window and verify as
evidence, and need-to-know on every route."""

from __future__ import annotations

import hashlib
import itertools
import logging
import os
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import av
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import delete, insert, select, update
from typer.testing import CliRunner

from khusela.audit import log as audit_log
from khusela.bootstrap import Platform
from khusela.cctv.cli import app as cctv_cli
from khusela.cctv.recording import clips
from khusela.cctv.recording.chain import recorder_sink, verify_recordings
from khusela.cctv.recording.recorder import SegmentRecorder, file_sha256, recordings_root
from khusela.cctv.recording.retention import enforce_retention, hold_range
from khusela.cctv.recording.tables import camera_segments
from khusela.cctv.tables import cameras
from khusela.core.errors import NotFound
from khusela.core.ids import new_id
from khusela.evidence import keys, locker
from khusela.evidence.package import export_case, verify_package
from khusela.evidence.storage import LocalWriteOnceStore
from khusela.identity import directory
from khusela.identity.model import SYSTEM, AgencyType, Clearance, Jurisdiction, Principal, Role
from khusela.store.database import Database
from tests.conftest import People, bearer
from tests.panic_support import HILLBROW
from tests.services import shared_data

T0 = datetime(2026, 11, 20, 21, 0, tzinfo=UTC)
FOOTAGE_FRAMES = 795  # 79.5 s at 10 fps, a keyframe every 2 s


def footage() -> str:
    return shared_data("video", "vtest_h264.mp4")


def record(db: Database, camera_id: str, data_dir: Path, segment_seconds: float = 2.0) -> SegmentRecorder:
    """Record the whole file as if the camera had started at T0."""
    root = recordings_root(data_dir)
    recorder = SegmentRecorder(
        camera_id,
        f"file://{footage()}",
        root / camera_id,
        segment_seconds,
        recorder_sink(db, root),
        clock=lambda: T0,
    )
    recorder.run(threading.Event())
    return recorder


def add_camera(db: Database, agency_id: str, retention_days: int = 30) -> str:
    camera_id = new_id()
    with db.write() as conn:
        conn.execute(
            insert(cameras).values(
                id=camera_id,
                owner_agency_id=agency_id,
                name="Hillbrow Tower North",
                lat=HILLBROW[0],
                lon=HILLBROW[1],
                main_stream_url=f"file://{footage()}",
                detect_fps=5.0,
                detect_width=640,
                detect_height=360,
                zones=[],
                masks=[],
                record=True,
                retention_days=retention_days,
                status="online",
                created_at=T0,
                updated_at=T0,
            )
        )
    return camera_id


@dataclass
class Recorded:
    db: Database
    data_dir: Path
    root: Path
    camera_id: str
    agency_id: str

    def rows(self) -> list[dict[str, object]]:
        with self.db.read() as conn:
            query = select(camera_segments).where(camera_segments.c.camera_id == self.camera_id)
            return [dict(r._mapping) for r in conn.execute(query.order_by(camera_segments.c.seq))]

    def verify(self) -> list[str]:
        with self.db.snapshot() as conn:
            return verify_recordings(conn, self.camera_id, self.root).problems


@pytest.fixture
def recorded(database: Database, tmp_path: Path) -> Recorded:
    data_dir = tmp_path / "data"
    with database.write() as conn:
        agency = directory.create_agency(
            conn,
            SYSTEM,
            "City of Johannesburg",
            AgencyType.MUNICIPALITY,
            Jurisdiction(provinces=frozenset({"GP"})),
        )
    camera_id = add_camera(database, agency.id, retention_days=1)
    recorder = record(database, camera_id, data_dir)
    assert recorder.segments == 40
    assert recorder.last_error is None
    return Recorded(database, data_dir, recordings_root(data_dir), camera_id, agency.id)


def _packets(path: str | Path) -> Iterator[tuple[bytes, bool]]:
    with av.open(str(path)) as container:
        for packet in container.demux(container.streams.video[0]):
            if packet.size:
                yield bytes(packet), packet.is_keyframe


# --- recording -------------------------------------------------------------------------------


def test_segments_are_stream_copies_of_the_camera(recorded: Recorded) -> None:
    rows = recorded.rows()
    assert [r["seq"] for r in rows] == list(range(1, 41))
    assert rows[0]["started_at"] == T0
    assert rows[-1]["ended_at"] == T0 + timedelta(seconds=79.5)
    for before, after in itertools.pairwise(rows):
        assert before["ended_at"] == after["started_at"], "segments are contiguous"
        assert after["prev_hash"] == before["chain_hash"]
    frames = 0
    copied = hashlib.sha256()
    for row in rows:
        path = recorded.root / str(row["path"])
        assert file_sha256(path) == (row["sha256"], row["size"])
        with av.open(str(path)) as container:
            stream = container.streams.video[0]
            seconds = (row["ended_at"] - row["started_at"]).total_seconds()  # type: ignore[operator]
            assert stream.codec_context.name == "h264"
            assert (stream.width, stream.height) == (768, 576)
            assert container.duration is not None
            assert abs(container.duration / 1e6 - seconds) < 0.15
            frames += sum(1 for _ in container.decode(stream))
        packets = list(_packets(path))
        assert packets[0][1], "every segment starts with a keyframe"
        for payload, _ in packets:
            copied.update(payload)
    source = hashlib.sha256()
    for payload, _ in _packets(footage()):
        source.update(payload)
    assert frames == FOOTAGE_FRAMES
    assert copied.hexdigest() == source.hexdigest(), "the camera's H.264 packets, byte for byte: no re-encode"
    total = sum(int(str(r["size"])) for r in rows)
    assert abs(total - os.path.getsize(footage())) / os.path.getsize(footage()) < 0.05
    assert recorded.verify() == []


def test_a_dead_camera_is_retried_without_touching_the_others(tmp_path: Path) -> None:
    stop = threading.Event()
    recorder = SegmentRecorder("dead", "rtsp://127.0.0.1:9/none", tmp_path, 2.0, open_timeout_s=0.5)
    thread = recorder.start(stop)
    stop.wait(1.5)
    stop.set()
    thread.join(timeout=10)
    assert not thread.is_alive()
    assert recorder.reconnects >= 1
    assert recorder.last_error
    assert recorder.segments == 0


# --- the chain ---------------------------------------------------------------------------------


def test_a_flipped_byte_names_the_segment(recorded: Recorded) -> None:
    row = recorded.rows()[6]
    path = recorded.root / str(row["path"])
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    path.write_bytes(bytes(data))
    problems = recorded.verify()
    assert len(problems) == 1
    assert problems[0].startswith(f"segment 7 ({row['path']}) altered")


def test_a_deleted_file_and_a_deleted_row_are_named(recorded: Recorded) -> None:
    rows = recorded.rows()
    (recorded.root / str(rows[11]["path"])).unlink()
    with recorded.db.write() as conn:
        conn.execute(delete(camera_segments).where(camera_segments.c.id == rows[19]["id"]))
    problems = recorded.verify()
    assert problems[0] == f"segment 12 ({rows[11]['path']}) removed: the file is missing"
    assert problems[1] == "segment 20 removed: its row is missing from the chain"


def test_reordered_rows_and_removed_newest_rows_are_named(recorded: Recorded) -> None:
    rows = recorded.rows()
    with recorded.db.write() as conn:
        seg = camera_segments.c
        conn.execute(update(camera_segments).where(seg.id == rows[2]["id"]).values(seq=-3))
        conn.execute(update(camera_segments).where(seg.id == rows[3]["id"]).values(seq=3))
        conn.execute(update(camera_segments).where(seg.id == rows[2]["id"]).values(seq=4))
        conn.execute(delete(camera_segments).where(seg.seq >= 39, seg.camera_id == recorded.camera_id))
    problems = recorded.verify()
    assert "segment 3" in problems[0]
    assert "reordered" in problems[0]
    assert problems[-1] == "segment 39 to 40 removed: the newest rows are missing"


def test_cli_verify_recordings(sqlite_db: Database, tmp_path: Path) -> None:
    with sqlite_db.write() as conn:
        agency = directory.create_agency(
            conn,
            SYSTEM,
            "City of Johannesburg",
            AgencyType.MUNICIPALITY,
            Jurisdiction(provinces=frozenset({"GP"})),
        )
    camera_id = add_camera(sqlite_db, agency.id)
    record(sqlite_db, camera_id, tmp_path, segment_seconds=10.0)
    env = {"KHUSELA_DATA_DIR": str(tmp_path), "KHUSELA_ENVIRONMENT": "development"}
    runner = CliRunner()
    ok = runner.invoke(cctv_cli, ["verify-recordings", camera_id], env=env)
    assert ok.exit_code == 0, ok.output
    assert "OK: 8 segments" in ok.output
    first = sorted((tmp_path / "recordings" / camera_id).rglob("*.mp4"))[0]
    first.unlink()
    bad = runner.invoke(cctv_cli, ["verify-recordings", camera_id], env=env)
    assert bad.exit_code == 1
    assert "segment 1" in bad.output
    assert "removed: the file is missing" in bad.output


# --- retention -------------------------------------------------------------------------------


def test_retention_deletes_old_and_over_budget_footage_but_never_held(
    recorded: Recorded, caplog: pytest.LogCaptureFixture
) -> None:
    with recorded.db.write() as conn:
        assert hold_range(conn, recorded.camera_id, T0, T0 + timedelta(seconds=9)) == 5
    now = T0 + timedelta(days=1, seconds=30)  # retention is one day: segments ending before 30 s go
    with recorded.db.write() as conn:
        first = enforce_retention(conn, recorded.root, now, disk_budget_bytes=10**12)
    assert first.expired_segments == 14 - 5, "the 5 held segments stay"
    assert first.budget_met
    assert first.budget_segments == 0
    rows = recorded.rows()
    held = [r for r in rows if r["held"]]
    assert [r["seq"] for r in held] == [1, 2, 3, 4, 5]
    assert all(r["deleted_at"] is None and (recorded.root / str(r["path"])).is_file() for r in held)
    assert all(r["deleted_at"] == now and not (recorded.root / str(r["path"])).exists() for r in rows[5:14])

    present = sum(int(str(r["size"])) for r in rows if r["deleted_at"] is None)
    budget = present // 2
    with recorded.db.write() as conn:
        second = enforce_retention(conn, recorded.root, now, disk_budget_bytes=budget)
    assert second.budget_met
    assert second.total_bytes_after <= budget
    assert second.budget_segments > 0
    after = recorded.rows()
    gone = [int(str(r["seq"])) for r in after if r["deleted_at"] is not None]
    assert gone == list(range(6, 6 + len(gone))), "the oldest go first, the held ones are skipped"

    with caplog.at_level(logging.WARNING), recorded.db.write() as conn:
        third = enforce_retention(conn, recorded.root, now, disk_budget_bytes=0)
    assert not third.budget_met
    assert third.total_bytes_after == third.held_bytes == sum(int(str(r["size"])) for r in held)
    assert "held" in caplog.text
    assert recorded.verify() == [], "deleted files keep their rows: the chain still verifies"


# --- clips -----------------------------------------------------------------------------------


def test_a_clip_covers_its_window_and_verifies_as_evidence(recorded: Recorded) -> None:
    out = recorded.data_dir / "clips" / "clip.mp4"
    start, end = T0 + timedelta(seconds=31), T0 + timedelta(seconds=39)
    with recorded.db.read() as conn:
        clip = clips.make_clip(conn, recorded.root, recorded.camera_id, start, end, 10, 10, out_path=out)
    assert clip.started_at == T0 + timedelta(seconds=20), "the keyframe at or before start - pre-roll"
    assert clip.ended_at == T0 + timedelta(seconds=50)
    assert clip.started_at <= start - timedelta(seconds=10)
    assert clip.ended_at >= end + timedelta(seconds=10)
    assert [s["seq"] for s in clip.segments] == list(range(11, 26))
    assert file_sha256(out) == (clip.sha256, clip.size)
    with av.open(str(out)) as container:
        stream = container.streams.video[0]
        assert container.duration is not None
        assert abs(container.duration / 1e6 - 30.0) < 0.2
        assert sum(1 for _ in container.decode(stream)) == 300

    store = LocalWriteOnceStore(recorded.data_dir / "evidence")
    with recorded.db.write() as conn:
        case = locker.create_case(conn, "thandi", "CAS 77/11/2026", "Robbery, Twist St", recorded.agency_id)
        thandi = Principal(
            user_id="u-thandi",
            username="thandi",
            roles=frozenset({Role.OPERATOR}),
            clearance=Clearance.UNCLASSIFIED,
            agency_id=recorded.agency_id,
        )
        row = clips.save_clip(conn, thandi, recorded.camera_id, clip, out.parent, (start, end))
        item = clips.clip_to_evidence(conn, thandi, store, case.id, row, out.parent)
    assert item.sha256 == clip.sha256
    assert item.source is not None
    assert item.source["camera_id"] == recorded.camera_id
    assert [s["sha256"] for s in item.source["segments"]] == [s["sha256"] for s in clip.segments]
    held = [int(str(r["seq"])) for r in recorded.rows() if r["held"]]
    assert held == list(range(11, 26)), "the clip's source segments are held from retention"

    key = keys.signing_key(recorded.data_dir)
    package = export_case(recorded.db, store, key, "CAS 77/11/2026", recorded.data_dir / "out", "sipho").path
    result = verify_package(package, key.public_key())
    assert result.ok, result.summary()


def test_a_clip_outside_the_recording_is_not_found(recorded: Recorded) -> None:
    out = recorded.data_dir / "clips" / "none.mp4"
    with recorded.db.read() as conn, pytest.raises(NotFound):
        clips.make_clip(
            conn,
            recorded.root,
            recorded.camera_id,
            T0 - timedelta(hours=2),
            T0 - timedelta(hours=1, minutes=30),
            out_path=out,
        )
    assert not out.exists()


# --- the API -----------------------------------------------------------------------------------


def test_the_api_keeps_footage_need_to_know(client: TestClient, platform: Platform) -> None:
    people = People(platform.db)
    city = people.agency(
        "City of Johannesburg", AgencyType.MUNICIPALITY, Jurisdiction(municipalities=frozenset({"JHB"}))
    )
    tshwane = people.agency(
        "Tshwane Metro Police", AgencyType.METRO_POLICE, Jurisdiction(municipalities=frozenset({"TSH"}))
    )
    admin = bearer(client, people.user("admin", Role.ADMIN))
    made = client.post(
        "/api/cctv/cameras",
        json={
            "owner_agency_id": city,
            "name": "Hillbrow Tower North",
            "lat": HILLBROW[0],
            "lon": HILLBROW[1],
            "main_stream_url": f"file://{footage()}",
        },
        headers=admin,
    )
    assert made.status_code == 201, made.text
    camera_id = made.json()["id"]
    record(platform.db, camera_id, platform.settings.data_dir, segment_seconds=10.0)
    ours = bearer(client, people.user("thandi", Role.OPERATOR, agency_id=city))
    theirs = bearer(client, people.user("pieter", Role.OPERATOR, agency_id=tshwane))

    segments = client.get(f"/api/cctv/cameras/{camera_id}/segments", headers=ours)
    assert segments.status_code == 200, segments.text
    assert [s["seq"] for s in segments.json()] == list(range(1, 9))
    window = {
        "since": (T0 + timedelta(seconds=25)).isoformat(),
        "until": (T0 + timedelta(seconds=35)).isoformat(),
    }
    assert [
        s["seq"]
        for s in client.get(f"/api/cctv/cameras/{camera_id}/segments", params=window, headers=ours).json()
    ] == [3, 4]
    body = {
        "camera_id": camera_id,
        "start": (T0 + timedelta(seconds=30)).isoformat(),
        "end": (T0 + timedelta(seconds=35)).isoformat(),
    }
    clip = client.post("/api/cctv/clips", json=body, headers=ours)
    assert clip.status_code == 201, clip.text
    meta = clip.json()
    assert datetime.fromisoformat(meta["started_at"]) == T0 + timedelta(seconds=20)
    assert datetime.fromisoformat(meta["ended_at"]) == T0 + timedelta(seconds=46)
    content = client.get(meta["download"], headers=ours)
    assert content.status_code == 200
    assert content.headers["content-type"] == "video/mp4"
    assert hashlib.sha256(content.content).hexdigest() == meta["sha256"]

    case = client.post(
        "/api/evidence/cases", json={"case_number": "CAS 9/11/2026", "title": "Assault"}, headers=ours
    )
    assert case.status_code == 201, case.text
    item = client.post(
        f"/api/cctv/clips/{meta['id']}/evidence", json={"case_id": case.json()["id"]}, headers=ours
    )
    assert item.status_code == 201, item.text
    assert item.json()["sha256"] == meta["sha256"]
    assert item.json()["source"]["camera_id"] == camera_id

    assert client.get(f"/api/cctv/cameras/{camera_id}/segments", headers=theirs).status_code == 404
    assert client.post("/api/cctv/clips", json=body, headers=theirs).status_code == 404
    assert client.get(meta["download"], headers=theirs).status_code == 404
    assert (
        client.post(
            f"/api/cctv/clips/{meta['id']}/evidence", json={"case_id": case.json()["id"]}, headers=theirs
        ).status_code
        == 404
    )

    backwards = client.post("/api/cctv/clips", json={**body, "end": body["start"]}, headers=ours)
    assert backwards.status_code == 422
    assert backwards.headers["content-type"].startswith("application/problem+json")
    naive = client.post("/api/cctv/clips", json={**body, "start": "2026-11-20T21:00:30"}, headers=ours)
    assert naive.status_code == 422
    assert "time zone" in naive.text
    with platform.db.read() as conn:
        actions = [r.action for r in audit_log.recent(conn, 20)]
    assert "cctv.clip_viewed" in actions
    assert "cctv.clip_made" in actions
