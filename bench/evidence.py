"""Evidence locker benchmark: hashing and write-once storage, uploads, package export/verify, custody.

    .venv/bin/python bench/evidence.py            # 50 MB clip, 20 items of 5 MB, 5,000 custody entries
    .venv/bin/python bench/evidence.py --quick    # 50 MB clip, 20 items of 1 MB, 1,000 custody entries

On the embedded default (SQLite, WAL, synchronous=FULL) in a throw-away data dir:
1. SHA-256 over a 50 MB clip in memory (the floor for everything else) and
   `LocalWriteOnceStore.put` of the same clip (hash + write + fsync + link + chmod), then a
   verified read back;
2. `export_case` of a case with 20 items (custody entry, verified copy of every file,
   manifest, custody log, Ed25519 signature) and `verify_package` of the result;
3. `custody.verify_case` over one case's chain, in records per second;
4. one 200 MB multipart upload through the whole API stack (middleware included), fed to
   the ASGI app in 64 KiB messages as a server would, in a fresh process: how far the
   process's peak RSS grows above what it held before (the body is streamed to disk, so
   it should not grow with the upload), and the upload's MB/s.

Targets (ours, for a court-ready locker on a laptop): store a clip at >= 100 MB/s, export
and verify 20 items in < 5 s each, verify >= 20,000 custody records/s, a 200 MB upload
grows peak RSS by <= 64 MB.
Writes bench/results/evidence.json.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Iterator, Sequence
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
from khusela.identity.model import SYSTEM, AgencyType, Jurisdiction, Role
from khusela.store.database import Database
from khusela.store.migrate import upgrade

MB = 1024 * 1024
UPLOAD_MB = 200
BUFFERED_BEFORE_MB = 538
"""Peak RSS growth for the same 200 MB upload when `BodyLimit` buffered evidence bodies in
memory (measured 2026-11-22 with this benchmark's upload step, before streaming)."""


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
            figures["upload"] = _upload(UPLOAD_MB)
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
        Target(
            f"upload {UPLOAD_MB} MB: peak RSS growth",
            "streamed multipart upload",
            figures["upload"]["peak_rss_growth_mb"],
            64,
            "MB",
            False,
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


def _upload(size_mb: int) -> dict[str, Any]:
    """Run `_upload_child` in a fresh process, so its peak RSS is this upload's alone."""
    progress(f"one {size_mb} MB evidence upload through the API, in a fresh process")
    child = subprocess.run(  # noqa: S603 - our own interpreter and this script
        [sys.executable, __file__, "--upload-child", str(size_mb)],
        check=True,
        capture_output=True,
        text=True,
    )
    figures: dict[str, Any] = json.loads(child.stdout.strip().splitlines()[-1])
    figures["buffered_before_peak_rss_growth_mb"] = BUFFERED_BEFORE_MB
    return figures


def _upload_child(size_mb: int) -> dict[str, Any]:
    """Set up a platform, a user and a case; then upload `size_mb` MB and measure RSS."""
    from fastapi.testclient import TestClient

    from khusela.api.app import create_app
    from khusela.bootstrap import bootstrap
    from khusela.bus.adapters.inprocess import InProcessBus
    from khusela.core.settings import Settings

    with tempfile.TemporaryDirectory(prefix="khusela-bench-upload-") as tmp:
        root = Path(tmp)
        db = Database(f"sqlite:///{root / 'khusela.db'}")
        upgrade(db)
        settings = Settings(environment="test", data_dir=root, rate_limit_per_minute=10_000)
        with TestClient(create_app(bootstrap(settings, db=db, bus=InProcessBus()))) as client:
            auth, case_id = _upload_case(client, db)
            upload = _MultipartClip(size_mb * MB)
            rss_before = _rss_mb("VmRSS")
            reset = _reset_peak_rss()
            with stopwatch() as uploading:
                status = client.portal.call(  # type: ignore[union-attr]  # set while the client is open
                    upload.post, client.app, f"/api/evidence/cases/{case_id}/items", auth
                )
            peak = _rss_mb("VmHWM")
        db.dispose()
    if status != 201:
        raise SystemExit(f"the upload answered {status}")
    return {
        "upload_mb": size_mb,
        "upload_mb_per_s": round(_mb_per_s(size_mb * MB, uploading.seconds), 1),
        "rss_before_mb": round(rss_before, 1),
        "peak_rss_mb": round(peak, 1),
        "peak_rss_growth_mb": round(peak - rss_before, 1) if reset else float("nan"),
    }


def _upload_case(client: Any, db: Database) -> tuple[bytes, str]:
    """An operator (signed in) and a case to upload into."""
    from khusela.identity import totp

    password = "bench horse battery staple"  # noqa: S105 - a user in a throw-away database
    with db.write() as conn:
        agency = directory.create_agency(
            conn, SYSTEM, "SAPS Bench", AgencyType.SAPS_STATION, Jurisdiction(provinces=frozenset({"GP"}))
        )
        created = directory.create_user(
            conn, SYSTEM, username="bench", roles=(Role.OPERATOR,), password=password, agency_id=agency.id
        )
    login = {"username": "bench", "password": password}
    if created.totp_secret:
        login["totp"] = totp.current_code(created.totp_secret)
    token = client.post("/api/auth/login", json=login).json()["access_token"]
    headers = {"Authorization": f"Bearer {token}"}
    case = client.post(
        "/api/evidence/cases", json={"case_number": "CAS 3/11/2026", "title": "Upload"}, headers=headers
    )
    return f"Bearer {token}".encode(), str(case.json()["id"])


class _MultipartClip:
    """A multipart/form-data body of `size` random-looking bytes, made 64 KiB at a time."""

    BOUNDARY = "khusela-bench"

    def __init__(self, size: int) -> None:
        self.size, self.block = size, os.urandom(64 * 1024)
        self.head = (
            f'--{self.BOUNDARY}\r\nContent-Disposition: form-data; name="kind"\r\n\r\nclip\r\n'
            f'--{self.BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="export.mp4"\r\n'
            "Content-Type: video/mp4\r\n\r\n"
        ).encode()
        self.tail = f"\r\n--{self.BOUNDARY}--\r\n".encode()

    def messages(self) -> Iterator[bytes]:
        yield self.head
        for n in range(self.size // len(self.block)):
            yield n.to_bytes(8, "big") + self.block[8:]
        yield self.tail

    async def post(self, app: Any, path: str, authorization: bytes) -> int:
        """Drive `app` as an ASGI server would; return the response status."""
        chunks, statuses = self.messages(), []
        length = len(self.head) + self.size + len(self.tail)

        async def receive() -> dict[str, Any]:
            chunk = next(chunks, None)
            if chunk is None:
                return {"type": "http.disconnect"}
            return {"type": "http.request", "body": chunk, "more_body": chunk is not self.tail}

        async def send(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                statuses.append(int(message["status"]))

        headers = [
            (b"host", b"bench"),
            (b"authorization", authorization),
            (b"content-type", f"multipart/form-data; boundary={self.BOUNDARY}".encode()),
            (b"content-length", str(length).encode()),
        ]
        scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": "POST",
            "scheme": "http",
            "path": path,
            "raw_path": path.encode(),
            "query_string": b"",
            "root_path": "",
            "headers": headers,
            "client": ("127.0.0.1", 50000),
            "server": ("bench", 80),
        }
        await app(scope, receive, send)
        return statuses[0]


def _rss_mb(field: str) -> float:
    """`VmRSS` (now) or `VmHWM` (peak) of this process, in MB (Linux)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _reset_peak_rss() -> bool:
    """Reset `VmHWM` to the current RSS, so the peak read after is the upload's (Linux)."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        return False
    return True


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="1 MB items, 1,000 custody entries")
    parser.add_argument("--upload-child", type=int, metavar="MB", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.upload_child:
        print(json.dumps(_upload_child(args.upload_child)))
        return 0
    figures, targets = run(args.quick)
    s, p, c, u = figures["storage"], figures["package"], figures["custody"], figures["upload"]
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
            [f"upload {u['upload_mb']} MB (streamed), MB/s", fmt(u["upload_mb_per_s"], 0)],
            [
                f"upload {u['upload_mb']} MB: peak RSS growth, MB (was buffered: {BUFFERED_BEFORE_MB})",
                fmt(u["peak_rss_growth_mb"], 1),
            ],
        ],
    )
    for t in targets:
        verdict = "ok" if t.passed else "MISSED"
        print(f"target: {t.name}: {fmt(t.value, 2)} {t.unit} (limit {fmt(t.limit, 0)}) {verdict}")
    print(f"wrote {write_results('evidence', figures, targets)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
