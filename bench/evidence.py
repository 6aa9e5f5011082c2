"""Evidence locker benchmark: hashing and write-once storage, package export/verify, custody.

    .venv/bin/python bench/evidence.py            # 50 MB clip, 20 items of 5 MB, 5,000 custody entries
    .venv/bin/python bench/evidence.py --quick    # 50 MB clip, 20 items of 1 MB, 1,000 custody entries

On the embedded default (SQLite, WAL, synchronous=FULL) in a throw-away data dir:
1. SHA-256 over a 50 MB clip in memory (the floor for everything else) and
   `LocalWriteOnceStore.put` of the same clip (hash + write + fsync + link + chmod), then a
   verified read back;
2. `export_case` of a case with 20 items (custody entry, verified copy of every file,
   manifest, custody log, Ed25519 signature) and `verify_package` of the result;
3. `custody.verify_case` over one case's chain, in records per second.

Targets (ours, for a court-ready locker on a laptop): store a clip at >= 100 MB/s, export
and verify 20 items in < 5 s each, verify >= 20,000 custody records/s.
Writes bench/results/evidence.json.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import os
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script: make `bench` and `khusela` importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import Target, fmt, print_table, progress, stopwatch, write_results
from khusela.evidence import custody, keys, locker
from khusela.evidence.custody import CustodyAction
from khusela.evidence.package import export_case, verify_package
from khusela.evidence.storage import LocalWriteOnceStore
from khusela.identity import directory
from khusela.identity.model import SYSTEM, AgencyType, Jurisdiction
from khusela.store.database import Database
from khusela.store.migrate import upgrade

MB = 1024 * 1024


def _mb_per_s(size: int, seconds: float) -> float:
    return size / MB / seconds if seconds > 0 else float("nan")


def run(quick: bool) -> tuple[dict[str, Any], list[Target]]:
    item_mb, entries = (1, 1_000) if quick else (5, 5_000)
    with tempfile.TemporaryDirectory(prefix="khusela-bench-evidence-") as tmp:
        root = Path(tmp)
        db = Database(f"sqlite:///{root / 'khusela.db'}")
        try:
            upgrade(db)
            store = LocalWriteOnceStore(root / "evidence")
            figures: dict[str, Any] = {
                "storage": _storage(store),
                "package": _package(db, store, root, item_mb),
                "custody": _custody(db, entries),
            }
        finally:
            db.dispose()
    figures["database"] = "sqlite (embedded default)"
    targets = [
        Target(
            "store a 50 MB clip", "write-once put", figures["storage"]["store_mb_per_s"], 100, "MB/s", True
        ),
        Target("export 20 items", "export_case", figures["package"]["export_seconds"], 5, "s", False),
        Target("verify 20 items", "verify_package", figures["package"]["verify_seconds"], 5, "s", False),
        Target(
            "custody verify", "verify_case", figures["custody"]["records_per_s"], 20_000, "records/s", True
        ),
    ]
    return figures, targets


def _storage(store: LocalWriteOnceStore) -> dict[str, Any]:
    progress("hashing and storing a 50 MB clip")
    clip = os.urandom(50 * MB)
    with stopwatch() as hashing:
        hashlib.sha256(clip).hexdigest()
    with stopwatch() as storing:
        stored = store.put(io.BytesIO(clip))
    with stopwatch() as again:
        store.put(io.BytesIO(clip))
    with stopwatch() as reading:
        for _ in store.chunks(stored.sha256):
            pass
    return {
        "clip_mb": 50,
        "sha256_mb_per_s": round(_mb_per_s(len(clip), hashing.seconds), 1),
        "store_mb_per_s": round(_mb_per_s(len(clip), storing.seconds), 1),
        "store_again_noop_mb_per_s": round(_mb_per_s(len(clip), again.seconds), 1),
        "verified_read_mb_per_s": round(_mb_per_s(len(clip), reading.seconds), 1),
    }


def _package(db: Database, store: LocalWriteOnceStore, root: Path, item_mb: int) -> dict[str, Any]:
    progress(f"case with 20 items of {item_mb} MB: export and verify")
    with db.write() as conn:
        agency = directory.create_agency(
            conn, SYSTEM, "SAPS Bench", AgencyType.SAPS_STATION, Jurisdiction(provinces=frozenset({"GP"}))
        )
        case = locker.create_case(conn, "bench", "CAS 1/11/2026", "Benchmark", agency.id)
        for n in range(20):
            data = io.BytesIO(os.urandom(item_mb * MB))
            locker.add_item(
                conn, store, "bench", case.id, data, locker.ItemKind.CLIP, "video/mp4", f"c{n}.mp4"
            )
    key = keys.signing_key(root)
    with stopwatch() as exporting:
        exported = export_case(db, store, key, case.id, root / "out", "bench")
    with stopwatch() as verifying:
        result = verify_package(exported.path, key.public_key())
    assert result.ok, result.summary()
    total = 20 * item_mb * MB
    return {
        "items": 20,
        "item_mb": item_mb,
        "export_seconds": round(exporting.seconds, 3),
        "export_mb_per_s": round(_mb_per_s(total, exporting.seconds), 1),
        "verify_seconds": round(verifying.seconds, 3),
        "verify_mb_per_s": round(_mb_per_s(total, verifying.seconds), 1),
    }


def _custody(db: Database, entries: int) -> dict[str, Any]:
    progress(f"custody chain of {entries:,} entries")
    with db.write() as conn:
        case = locker.create_case(
            conn, "bench", "CAS 2/11/2026", "Custody", locker.all_cases(conn)[0].agency_id
        )
        with stopwatch() as appending:
            for n in range(entries - 1):
                custody.append(conn, case.id, "bench", CustodyAction.VIEWED, details={"n": n})
    with db.snapshot() as conn, stopwatch() as verifying:
        result = custody.verify_case(conn, case.id)
    assert result.ok, result.describe()
    return {
        "entries": result.checked,
        "append_per_s_one_transaction": round((entries - 1) / appending.seconds, 0),
        "verify_seconds": round(verifying.seconds, 4),
        "records_per_s": round(result.checked / verifying.seconds, 0),
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="1 MB items, 1,000 custody entries")
    args = parser.parse_args(argv)
    figures, targets = run(args.quick)
    s, p, c = figures["storage"], figures["package"], figures["custody"]
    print_table(
        "Evidence locker (SQLite, local write-once store)",
        ["figure", "value"],
        [
            ["SHA-256, MB/s", fmt(s["sha256_mb_per_s"], 0)],
            ["store 50 MB clip (write-once), MB/s", fmt(s["store_mb_per_s"], 0)],
            ["store again (no-op), MB/s", fmt(s["store_again_noop_mb_per_s"], 0)],
            ["verified read, MB/s", fmt(s["verified_read_mb_per_s"], 0)],
            [f"export 20 x {p['item_mb']} MB, s", fmt(p["export_seconds"], 3)],
            [f"verify 20 x {p['item_mb']} MB, s", fmt(p["verify_seconds"], 3)],
            [f"custody verify ({c['entries']:,} entries), records/s", fmt(c["records_per_s"], 0)],
        ],
    )
    for t in targets:
        verdict = "ok" if t.passed else "MISSED"
        print(f"target: {t.name}: {fmt(t.value, 2)} {t.unit} (limit {fmt(t.limit, 0)}) {verdict}")
    print(f"wrote {write_results('evidence', figures, targets)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
