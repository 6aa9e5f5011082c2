"""CCTV benchmark: every figure the CCTV issue names, in one run and one JSON file.

    .venv/bin/python bench/cctv.py            # full run, a few minutes
    .venv/bin/python bench/cctv.py --quick    # smaller, about a minute

Runs, on the real footage and plate photos in ../shared/data (read in place):
1. the analytics pipeline (`bench/cctv_video.py`): decode + motion gate frames/s per core
   at 640x360, HOG ms per call, cameras per core at 5 fps with gating, frames spared;
2. plate recognition (`bench/cctv_plates.py`): exact match on crops and end to end, ms per
   read, watchlist hits with one-character fuzzy matching;
3. a watchlist hit to the operator queue: `report_plate_hit` committed → the panic alert
   committed by the bus consumer (embedded SQLite, in-process bus, as `khusela demo`);
4. the camera registry (`bench/cctv_registry.py`): 5,000 cameras listed and filtered.
Each part also writes its own JSON; this one gathers them into bench/results/cctv.json.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script: make `bench` and `khusela` importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import func, select

from bench.common import Target, fmt, print_table, progress, summarise, write_results
from khusela.bootstrap import bootstrap
from khusela.bus.adapters.inprocess import InProcessBus
from khusela.cctv import cameras
from khusela.cctv.cameras import CameraSpec
from khusela.cctv.hits import PlateSighting, report_plate_hit
from khusela.cctv.plates.watchlist import Watchlist
from khusela.core.settings import Settings
from khusela.identity import directory
from khusela.identity.model import SYSTEM, AgencyType, Jurisdiction, Role
from khusela.panic.tables import alerts
from khusela.store.database import Database
from khusela.store.migrate import upgrade

HILLBROW = (-26.1885, 28.0470)
PASSWORD = "bench-password-not-used"  # noqa: S105 - nobody signs in


async def _hit_to_queue(n: int) -> list[float]:
    with tempfile.TemporaryDirectory(prefix="khusela-cctv-hits-") as tmp:
        db = Database(f"sqlite:///{Path(tmp) / 'khusela.db'}")
        upgrade(db)
        platform = bootstrap(Settings(environment="test", data_dir=Path(tmp)), db=db, bus=InProcessBus())
        with db.write() as conn:
            city = directory.create_agency(
                conn, SYSTEM, "City", AgencyType.MUNICIPALITY, Jurisdiction(municipalities=frozenset({"JHB"}))
            )
            admin = directory.create_user(
                conn, SYSTEM, username="bench-admin", roles=[Role.ADMIN], password=PASSWORD, agency_id=city.id
            )
        with db.read() as conn:
            actor = directory.load_principal(conn, admin.user.user_id)
        assert actor is not None
        with db.write() as conn:
            camera = cameras.register(
                conn,
                actor,
                CameraSpec(city.id, "Bench camera", *HILLBROW, "rtsp://cam/x"),
                platform.gazetteer,
            )
        watchlist = Watchlist()
        plates = [f"HB{i:03d}GP" for i in range(n)]
        for plate in plates:
            watchlist.add(plate, reason="stolen vehicle", reference="CAS 1/11/2026")
        await platform.start()
        waits: list[float] = []
        try:
            for plate in plates:
                hit = watchlist.match(plate)
                assert hit is not None
                started = time.perf_counter()
                with db.write() as conn:
                    report_plate_hit(conn, PlateSighting(camera, plate, 0.9, datetime.now(UTC)), hit, None)
                platform.relay.notify()
                while True:
                    with db.read() as conn:
                        count = conn.execute(select(func.count()).select_from(alerts)).scalar_one()
                    if count > len(waits):
                        break
                    await asyncio.sleep(0.002)
                waits.append(time.perf_counter() - started)
        finally:
            await platform.stop()
            db.dispose()
    return waits


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args(argv)
    from bench import cctv_plates, cctv_registry, cctv_video

    figures: dict[str, Any] = {}
    targets: list[Target] = []
    for name, part in (("video", cctv_video), ("plates", cctv_plates), ("registry", cctv_registry)):
        progress(f"part: {name}")
        part_figures, part_targets = part.run(args.quick)
        figures[name] = part_figures
        targets += part_targets
    progress("part: watchlist hit → operator queue")
    waits = summarise(asyncio.run(_hit_to_queue(20 if args.quick else 100)))
    figures["hit_to_queue_ms"] = waits.as_dict(2)
    targets.append(
        Target(
            "watchlist hit → alert in the queue (p99)",
            "hit reported → panic alert committed",
            waits.p99_ms,
            1000,
            "ms",
            False,
        )
    )
    print_table(
        "CCTV targets",
        ["target", "value", "limit", "pass"],
        [
            [
                t.name,
                f"{fmt(t.value, 2)} {t.unit}",
                f"{fmt(t.limit, 2)} {t.unit}",
                "yes" if t.passed else "NO",
            ]
            for t in targets
        ],
    )
    print(f"\nwrote {write_results('cctv', figures, targets)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
