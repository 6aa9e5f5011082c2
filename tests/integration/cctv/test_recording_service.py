"""The recording service on a camera-worker node: a camera set to record is recorded by
stream copy into chained segments, and retention runs within the disk budget."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from sqlalchemy import func, select

from khusela.bootstrap import Platform
from khusela.cctv import cameras
from khusela.cctv.cameras import CameraSpec
from khusela.cctv.recording.chain import verify_recordings
from khusela.cctv.recording.recorder import recordings_root
from khusela.cctv.recording.service import RecordingService
from khusela.cctv.recording.tables import camera_segments
from khusela.identity.model import AgencyType, Jurisdiction, Role
from tests.conftest import People
from tests.panic_support import HILLBROW
from tests.services import shared_data


def _segments(platform: Platform) -> int:
    with platform.db.read() as conn:
        return int(conn.execute(select(func.count()).select_from(camera_segments)).scalar_one())


def test_a_recording_camera_is_recorded_into_a_verified_chain(platform: Platform) -> None:
    people = People(platform.db)
    city = people.agency(
        "City of Johannesburg", AgencyType.MUNICIPALITY, Jurisdiction(municipalities=frozenset({"JHB"}))
    )
    admin = people.user("admin", Role.ADMIN).principal
    footage = Path(shared_data("video", "vtest_h264.mp4")).as_uri()
    with platform.db.write() as conn:
        recorded = cameras.register(
            conn, admin, CameraSpec(city, "Plaza", *HILLBROW, footage), platform.gazetteer
        )
        cameras.register(
            conn,
            admin,
            CameraSpec(city, "Not recorded", *HILLBROW, footage, record=False),
            platform.gazetteer,
        )
    service = RecordingService(platform.db, platform.settings.data_dir, budget_bytes=10**9, segment_seconds=5)

    async def run() -> None:
        await service.start()
        deadline = time.monotonic() + 30
        # a file source is recorded to its end (79.5 s of footage), then its thread ends
        while not service.recordings or any(
            r.thread is not None and r.thread.is_alive() for r in service.recordings.values()
        ):
            assert time.monotonic() < deadline, f"only {_segments(platform)} segments recorded"
            await asyncio.sleep(0.2)
        await service.stop()

    asyncio.run(run())
    assert set(service.recordings) == set(), "stopped"
    with platform.db.read() as conn:
        owners = set(conn.execute(select(camera_segments.c.camera_id)).scalars())
        check = verify_recordings(conn, str(recorded["id"]), recordings_root(platform.settings.data_dir))
    assert owners == {recorded["id"]}, "only the camera set to record"
    assert _segments(platform) >= 12, "5 s segments cut at keyframes (every 2 s)"
    assert check.ok, check
    assert service._retention().budget_met
