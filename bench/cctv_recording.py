"""CCTV recording benchmark: stream-copy cost per camera, chaining, verify and clip assembly.

    .venv/bin/python bench/cctv_recording.py            # the real footage recorded 3 times
    .venv/bin/python bench/cctv_recording.py --quick    # once

On the embedded default (SQLite, WAL, synchronous=FULL) in a throw-away data dir, with the
real footage (H.264 768x576, 10 fps, GOP 20) read as fast as the disk allows:
1. recording CPU: CPU-seconds spent remuxing per recorded minute of video (2 s segments,
   each fsynced and hashed), i.e. the share of a core one camera costs;
2. chaining: segments hashed and appended to the chain per second (one transaction each,
   as the recorder's sink does);
3. verify: `verify_recordings` throughput in MB/s (re-hash every file and walk the chain);
4. a 60 s clip (with 10 s pre- and post-roll) assembled from the segments.

Targets (ours): <= 0.6 CPU-s per recorded minute (1 % of a core: 100 cameras per core),
>= 50 segments/s chained, verify >= 100 MB/s, a 60 s clip in < 1 s.
Writes bench/results/cctv_recording.json.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import threading
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script: make `bench` and `khusela` importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import insert

from bench.common import Target, fmt, print_table, progress, stopwatch, write_results
from khusela.cctv.recording import clips
from khusela.cctv.recording.chain import append_segment, verify_recordings
from khusela.cctv.recording.recorder import RecordedSegment, SegmentRecorder, recordings_root
from khusela.cctv.tables import cameras
from khusela.identity import directory
from khusela.identity.model import SYSTEM, AgencyType, Jurisdiction
from khusela.store.database import Database
from khusela.store.migrate import upgrade

FOOTAGE = Path(__file__).resolve().parent.parent.parent / "shared" / "data" / "video" / "vtest_h264.mp4"
T0 = datetime(2026, 11, 20, 21, 0, tzinfo=UTC)
MB = 1024 * 1024


def _camera(db: Database) -> str:
    with db.write() as conn:
        agency = directory.create_agency(
            conn, SYSTEM, "Bench City", AgencyType.MUNICIPALITY, Jurisdiction(provinces=frozenset({"GP"}))
        )
        conn.execute(
            insert(cameras).values(
                id="bench-cam",
                owner_agency_id=agency.id,
                name="Bench camera",
                lat=-26.19,
                lon=28.05,
                main_stream_url=f"file://{FOOTAGE}",
                detect_fps=5.0,
                detect_width=640,
                detect_height=360,
                zones=[],
                masks=[],
                record=True,
                retention_days=30,
                status="online",
                created_at=T0,
                updated_at=T0,
            )
        )
    return "bench-cam"


def _pinned(at: datetime) -> Callable[[], datetime]:
    """A clock that always says `at`: each pass records as if the camera started then."""
    return lambda: at


def run(quick: bool) -> tuple[dict[str, Any], list[Target]]:
    passes = 1 if quick else 3
    with tempfile.TemporaryDirectory(prefix="khusela-bench-recording-") as tmp:
        data_dir = Path(tmp)
        db = Database(f"sqlite:///{data_dir / 'khusela.db'}")
        try:
            upgrade(db)
            camera_id = _camera(db)
            root = recordings_root(data_dir)
            recorded: list[RecordedSegment] = []
            progress(f"recording the footage {passes}x by stream copy")
            with stopwatch() as rec:
                for n in range(passes):
                    start = T0 + timedelta(minutes=2 * n)
                    recorder = SegmentRecorder(
                        camera_id,
                        f"file://{FOOTAGE}",
                        root / camera_id,
                        2.0,
                        recorded.append,
                        clock=_pinned(start),
                    )
                    recorder.run(threading.Event())
            seconds = sum((s.ended_at - s.started_at).total_seconds() for s in recorded)
            progress(f"chaining {len(recorded)} segments")
            with stopwatch() as chain:
                for s in recorded:
                    with db.write() as conn:
                        append_segment(
                            conn,
                            camera_id,
                            s.path.relative_to(root).as_posix(),
                            s.started_at,
                            s.ended_at,
                            s.size,
                            s.sha256,
                            s.clock_offset_s,
                        )
            progress("verifying")
            with stopwatch() as ver, db.snapshot() as conn:
                check = verify_recordings(conn, camera_id, root)
            assert check.ok, check.summary()
            progress("assembling a 60 s clip")
            with stopwatch() as clip_sw, db.read() as conn:
                clip = clips.make_clip(
                    conn,
                    root,
                    camera_id,
                    T0 + timedelta(seconds=10),
                    T0 + timedelta(seconds=70),
                    10,
                    10,
                    out_path=data_dir / "clip.mp4",
                )
            clip_seconds = (clip.ended_at - clip.started_at).total_seconds()
        finally:
            db.dispose()
    total_bytes = sum(s.size for s in recorded)
    figures: dict[str, Any] = {
        "recording": {
            "segments": len(recorded),
            "video_seconds": round(seconds, 1),
            "bytes": total_bytes,
            "source_bytes_per_pass": os.path.getsize(FOOTAGE),
            "wall_seconds": round(rec.seconds, 4),
            "cpu_seconds": round(rec.cpu_seconds, 4),
            "cpu_seconds_per_recorded_minute": round(rec.cpu_seconds / (seconds / 60), 5),
            "realtime_factor": round(seconds / rec.seconds, 1) if rec.seconds else None,
        },
        "chain": {
            "segments": len(recorded),
            "seconds": round(chain.seconds, 4),
            "segments_per_s": round(len(recorded) / chain.seconds, 1),
        },
        "verify": {
            "segments": check.segments,
            "bytes": check.bytes_hashed,
            "seconds": round(ver.seconds, 4),
            "mb_per_s": round(check.bytes_hashed / MB / ver.seconds, 1),
        },
        "clip": {
            "requested_seconds": 60,
            "with_roll_seconds": 80,
            "clip_seconds": round(clip_seconds, 2),
            "segments": len(clip.segments),
            "bytes": clip.size,
            "seconds": round(clip_sw.seconds, 4),
        },
    }
    targets = [
        Target(
            "recording CPU per camera",
            "CPU-seconds per recorded minute (stream copy)",
            figures["recording"]["cpu_seconds_per_recorded_minute"],
            0.6,
            "cpu-s/min",
            higher_is_better=False,
        ),
        Target(
            "segments chained",
            "hashed + appended, one transaction each",
            figures["chain"]["segments_per_s"],
            50,
            "/s",
            True,
        ),
        Target(
            "verify throughput",
            "re-hash files and walk the chain",
            figures["verify"]["mb_per_s"],
            100,
            "MB/s",
            True,
        ),
        Target(
            "60 s clip assembly", "80 s with pre/post-roll, stream copy", clip_sw.seconds, 1.0, "s", False
        ),
    ]
    return figures, targets


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="record the footage once")
    args = parser.parse_args(argv)
    if not FOOTAGE.is_file():
        print(f"the real footage is missing: {FOOTAGE}", file=sys.stderr)
        return 2
    figures, targets = run(args.quick)
    print_table(
        "CCTV recording",
        ["figure", "value", "target", "pass"],
        [
            [
                t.name,
                f"{fmt(t.value, 4)} {t.unit}",
                f"{'>=' if t.higher_is_better else '<='} {t.limit}",
                "yes" if t.passed else "NO",
            ]
            for t in targets
        ],
    )
    path = write_results(
        "cctv_recording",
        figures,
        targets,
        notes=["file source read as fast as possible; CPU per minute is the remux + fsync + hash cost"],
    )
    print(f"\nwrote {path}")
    return 0 if all(t.passed for t in targets) else 1


if __name__ == "__main__":
    raise SystemExit(main())
