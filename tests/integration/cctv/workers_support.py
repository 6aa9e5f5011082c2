"""What the camera-worker tests share: a loopback MJPEG camera of the real footage at full
size (people must be large enough for HOG), a registered camera, and waiting."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import av
import cv2
import pytest
from sqlalchemy import select

from khusela.cctv import cameras
from khusela.cctv.cameras import CameraSpec
from khusela.cctv.tables import cameras as cameras_table
from khusela.cctv.worker_process import WorkerOptions
from khusela.core.gazetteer import Gazetteer
from khusela.identity.model import AgencyType, Jurisdiction, Role
from khusela.store.database import Database
from tests.conftest import People
from tests.integration.cctv.test_stream import MjpegCamera
from tests.panic_support import HILLBROW
from tests.services import shared_data

FAST = WorkerOptions(backoff_max_s=1.0)
"""Reconnect quickly once the test camera is back."""


def full_size_jpegs(count: int) -> list[bytes]:
    out: list[bytes] = []
    with av.open(shared_data("video", "vtest_h264.mp4")) as container:
        for frame in container.decode(video=0):
            ok, jpeg = cv2.imencode(".jpg", frame.to_ndarray(format="bgr24"), [cv2.IMWRITE_JPEG_QUALITY, 80])
            assert ok
            out.append(jpeg.tobytes())
            if len(out) == count:
                break
    return out


def footage_camera() -> MjpegCamera:
    camera = MjpegCamera(full_size_jpegs(80), fps=10.0)
    camera.start()
    return camera


def city_camera(db: Database, people: People, gazetteer: Gazetteer, url: str) -> dict[str, Any]:
    city = people.agency(
        "City of Johannesburg", AgencyType.MUNICIPALITY, Jurisdiction(municipalities=frozenset({"JHB"}))
    )
    admin = people.user("admin", Role.ADMIN).principal
    spec = CameraSpec(city, "Hillbrow Tower North", HILLBROW[0], HILLBROW[1], url)
    with db.write() as conn:
        return cameras.register(conn, admin, spec, gazetteer)


def camera_row(db: Database, camera_id: str) -> dict[str, Any]:
    with db.read() as conn:
        return dict(conn.execute(select(cameras_table).where(cameras_table.c.id == camera_id)).one()._mapping)


def wait_for(predicate: Callable[[], object], timeout: float, what: str) -> float:
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        if predicate():
            return time.monotonic() - start
        time.sleep(0.05)
    pytest.fail(f"{what}: not within {timeout} s")
