"""Camera workers benchmark: N cameras through the supervisor, one process each.

    .venv/bin/python bench/cctv_workers.py            # 4 and 8 cameras, ~1.5 min
    .venv/bin/python bench/cctv_workers.py --quick    # 4 cameras, shorter, ~30 s

Each camera is a loopback HTTP MJPEG server of the real footage
(/work/shared/data/video/vtest_h264.mp4, read in place, 768x576 at 10 fps) registered in
a throw-away SQLite registry; the `CameraSupervisor` runs the real workers (decode, motion
gate, HOG people, tracker, live frames). Measures per camera: CPU (% of one core, from
/proc), sampled frames/s against the 5 fps target; then stops every source one by one and
measures how long until the camera row says offline (target: max < 5 s).
Writes bench/results/cctv_workers.json.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script: make `bench` and `khusela` importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import av
import cv2
from sqlalchemy import select

from bench.common import Target, fmt, print_table, process_cpu_seconds, progress, summarise, write_results
from khusela.cctv import cameras
from khusela.cctv.cameras import CameraSpec
from khusela.cctv.tables import cameras as cameras_table
from khusela.cctv.worker_process import WorkerOptions
from khusela.cctv.workers import CameraSupervisor
from khusela.core.gazetteer import BundledGazetteer
from khusela.identity import directory
from khusela.identity.model import SYSTEM, AgencyType, Jurisdiction, Role
from khusela.store.database import Database
from khusela.store.migrate import upgrade
from tests.integration.cctv.test_stream import MjpegCamera

NAME = "cctv_workers"
ROOT = Path(__file__).resolve().parent.parent
FOOTAGE = ROOT.parent / "shared" / "data" / "video" / "vtest_h264.mp4"
TARGET_FPS = 5.0
TARGET_OFFLINE_S = 5.0
HILLBROW = (-26.1885, 28.0470)
PASSWORD = "bench-password-not-used"  # noqa: S105 - nobody signs in


def _jpegs(count: int) -> list[bytes]:
    out: list[bytes] = []
    with av.open(str(FOOTAGE)) as container:
        for frame in container.decode(video=0):
            ok, jpeg = cv2.imencode(".jpg", frame.to_ndarray(format="bgr24"), [cv2.IMWRITE_JPEG_QUALITY, 80])
            if ok:
                out.append(jpeg.tobytes())
            if len(out) == count:
                break
    return out


def _statuses(db: Database) -> dict[str, str]:
    with db.read() as conn:
        return {r.id: r.status for r in conn.execute(select(cameras_table.c.id, cameras_table.c.status))}


def _run_n(n: int, seconds: float, jpegs: list[bytes]) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="khusela-cctv-workers-") as tmp:
        db = Database(f"sqlite:///{Path(tmp) / 'khusela.db'}")
        upgrade(db)
        sources = [MjpegCamera(jpegs, fps=10.0) for _ in range(n)]
        for source in sources:
            source.start()
        with db.write() as conn:
            agency = directory.create_agency(
                conn, SYSTEM, "City", AgencyType.MUNICIPALITY, Jurisdiction(municipalities=frozenset({"JHB"}))
            ).id
            admin = directory.create_user(
                conn,
                SYSTEM,
                username="admin",
                roles=[Role.ADMIN],
                password=PASSWORD,
                agency_id=agency,
            ).user
            ids = [
                cameras.register(
                    conn,
                    admin,
                    CameraSpec(agency, f"cam {i}", HILLBROW[0], HILLBROW[1], source.url),
                    BundledGazetteer(),
                )["id"]
                for i, source in enumerate(sources)
            ]
        supervisor = CameraSupervisor(db, Path(tmp), options=WorkerOptions(backoff_max_s=2.0), poll_s=1.0)
        loop = asyncio.new_event_loop()
        thread = threading.Thread(target=loop.run_forever, daemon=True)
        thread.start()
        asyncio.run_coroutine_threadsafe(supervisor.start(), loop).result(10)
        try:
            deadline = time.monotonic() + 60
            while not all(s == "online" for s in _statuses(db).values()):
                if time.monotonic() > deadline:
                    raise RuntimeError("cameras did not come online")
                time.sleep(0.2)
            time.sleep(2.0)  # past the first whole-frame detections
            pids = {c: supervisor.workers[c].process.pid for c in ids}  # type: ignore[union-attr]
            cpu0 = {c: process_cpu_seconds(p or 0) or 0.0 for c, p in pids.items()}
            frames0 = {c: supervisor.monitor.get(c).frames for c in ids}
            started = time.monotonic()
            time.sleep(seconds)
            wall = time.monotonic() - started
            cpu = {c: ((process_cpu_seconds(p or 0) or 0.0) - cpu0[c]) / wall * 100 for c, p in pids.items()}
            fps = {c: (supervisor.monitor.get(c).frames - frames0[c]) / wall for c in ids}
            latencies: list[float] = []
            for camera_id, source in zip(ids, sources, strict=True):
                source.stop()
                stopped = time.monotonic()
                while _statuses(db)[camera_id] != "offline":
                    if time.monotonic() - stopped > 15:
                        break
                    time.sleep(0.02)
                latencies.append(time.monotonic() - stopped)
        finally:
            asyncio.run_coroutine_threadsafe(supervisor.stop(), loop).result(20)
            loop.call_soon_threadsafe(loop.stop)
            thread.join(5)
            for source in sources:
                source.stop()
            db.dispose()
    return {
        "cameras": n,
        "seconds": round(wall, 2),
        "cpu_pct_of_one_core_per_camera": {
            "mean": round(sum(cpu.values()) / n, 1),
            "max": round(max(cpu.values()), 1),
        },
        "fps_per_camera": {"mean": round(sum(fps.values()) / n, 2), "min": round(min(fps.values()), 2)},
        "offline_latency": summarise(latencies).as_dict(),
    }


def run(quick: bool) -> tuple[dict[str, Any], list[Target]]:
    jpegs = _jpegs(80)
    counts = (4,) if quick else (4, 8)
    runs = []
    for n in counts:
        progress(f"{n} cameras")
        runs.append(_run_n(n, 8.0 if quick else 20.0, jpegs))
    figures = {"footage": "vtest_h264.mp4 as 768x576 MJPEG at 10 fps", "runs": runs}
    first = runs[0]
    targets = [
        Target(
            f"frames/s per camera ({first['cameras']} cameras)",
            "min over cameras, sampled for analytics",
            first["fps_per_camera"]["min"],
            TARGET_FPS * 0.9,
            "fps",
            True,
        ),
        Target(
            "offline detected (max)",
            "source stopped → camera row offline",
            max(r["offline_latency"]["max_ms"] for r in runs) / 1000,
            TARGET_OFFLINE_S,
            "s",
            False,
        ),
    ]
    return figures, targets


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="4 cameras only, shorter")
    args = parser.parse_args(argv)
    figures, targets = run(args.quick)
    print_table(
        "Camera workers",
        ["cameras", "CPU %/camera (mean, max)", "fps/camera (mean, min)", "offline p50 / max ms"],
        [
            [
                str(r["cameras"]),
                ", ".join(fmt(r["cpu_pct_of_one_core_per_camera"][k], 1) for k in ("mean", "max")),
                f"{fmt(r['fps_per_camera']['mean'])}, {fmt(r['fps_per_camera']['min'])}",
                f"{fmt(r['offline_latency']['p50_ms'], 0)} / {fmt(r['offline_latency']['max_ms'], 0)}",
            ]
            for r in figures["runs"]
        ],
    )
    path = write_results(NAME, figures, targets, notes=["2-core machine; sources served from this process."])
    print(f"\nwrote {path.relative_to(ROOT)}")
    return 0 if all(t.passed for t in targets) else 1


if __name__ == "__main__":
    sys.exit(main())
