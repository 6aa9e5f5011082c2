"""Camera registry benchmark: 5,000 cameras imported by CSV, then listed and filtered.

    .venv/bin/python bench/cctv_registry.py            # 5,000 cameras, 30 requests per query
    .venv/bin/python bench/cctv_registry.py --quick    # 1,000 cameras, 10 requests

Imports a province's worth of cameras (placed around Gauteng's police stations) through
`POST /api/cctv/cameras/import` on the embedded default (SQLite) served by `bench.server`,
then times, over real HTTP from one client, the whole list as a provincial operator sees
it (policy-filtered) and three filters (municipality, owner, name search), and the CSV
export. Target (issue: CCTV): 5,000 cameras list and filter in < 200 ms.
Writes bench/results/cctv_registry.json.
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script: make `bench` and `khusela` importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import httpx

from bench.common import Target, fmt, print_table, progress, summarise, write_results
from bench.foundation import issue_tokens
from bench.server import serve
from khusela.demo.geodata import gauteng
from khusela.identity import directory
from khusela.identity.model import SYSTEM, AgencyType, Jurisdiction, Role
from khusela.store.database import Database
from khusela.store.migrate import upgrade

PASSWORD = "bench-password-not-used"  # noqa: S105 - tokens are issued directly; nobody signs in


def _csv(n: int, owners: Sequence[str], rng: random.Random) -> str:
    stations = gauteng().stations
    lines = [
        "external_ref,name,owner_agency_id,lat,lon,bearing_deg,main_stream_url,sub_stream_url,detect_fps"
    ]
    for i in range(n):
        s = rng.choice(stations)
        lat, lon = s.lat + rng.uniform(-0.02, 0.02), s.lon + rng.uniform(-0.02, 0.02)
        host = f"10.{i // 65536}.{i // 256 % 256}.{i % 256}"
        lines.append(
            f"GP-{i:05d},{s.name} camera {i},{rng.choice(owners)},{lat:.6f},{lon:.6f},{rng.randrange(360)},"
            f"rtsp://view:pw{i}@{host}:554/main,rtsp://view:pw{i}@{host}:554/sub,5"
        )
    return "\n".join(lines) + "\n"


def _time(client: httpx.Client, path: str, params: dict[str, str], n: int) -> tuple[list[float], int]:
    seconds, count = [], 0
    for _ in range(n):
        started = time.perf_counter()
        response = client.get(path, params=params)
        seconds.append(time.perf_counter() - started)
        response.raise_for_status()
        count = len(response.json()) if path.endswith("/cameras") else response.text.count("\n") - 1
    return seconds, count


def run(quick: bool) -> tuple[dict[str, Any], list[Target]]:
    n, repeats = (1000, 10) if quick else (5000, 30)
    rng = random.Random(2026)
    with tempfile.TemporaryDirectory(prefix="khusela-cctv-bench-") as tmp:
        url = f"sqlite:///{Path(tmp) / 'khusela.db'}"
        db = Database(url)
        upgrade(db)
        with db.write() as conn:
            centre = directory.create_agency(
                conn,
                SYSTEM,
                "Bench Command Centre",
                AgencyType.PROVINCIAL_DEPARTMENT,
                Jurisdiction(frozenset({"GP"})),
            )
            owners = [
                directory.create_agency(
                    conn,
                    SYSTEM,
                    f"Camera owner {k}",
                    AgencyType.PRIVATE_SECURITY,
                    Jurisdiction(frozenset({"GP"})),
                ).id
                for k in range(20)
            ]
            admin = directory.create_user(
                conn,
                SYSTEM,
                username="bench-admin",
                roles=[Role.ADMIN],
                password=PASSWORD,
                agency_id=centre.id,
            )
            operator = directory.create_user(
                conn,
                SYSTEM,
                username="bench-operator",
                roles=[Role.OPERATOR],
                password=PASSWORD,
                agency_id=centre.id,
            )
        [admin_token] = issue_tokens(db, admin.user.user_id, 1)
        [operator_token] = issue_tokens(db, operator.user.user_id, 1)
        db.dispose()
        body = _csv(n, owners, rng)
        with serve(url, log_level="WARNING") as server:
            admin_http = httpx.Client(
                base_url=server.base_url, timeout=120, headers={"Authorization": f"Bearer {admin_token}"}
            )
            progress(f"importing {n:,} cameras by CSV ({len(body) / 1e6:.1f} MB)")
            started = time.perf_counter()
            imported = admin_http.post(
                "/api/cctv/cameras/import", content=body, headers={"content-type": "text/csv"}
            )
            import_s = time.perf_counter() - started
            imported.raise_for_status()
            http = httpx.Client(
                base_url=server.base_url, timeout=60, headers={"Authorization": f"Bearer {operator_token}"}
            )
            progress(f"timing lists and filters, {repeats} requests each")
            queries = {
                "all cameras (operator, policy-filtered)": ("/api/cctv/cameras", {}),
                "municipality = JHB": ("/api/cctv/cameras", {"municipality": "JHB"}),
                "owner = one of 20": ("/api/cctv/cameras", {"owner_agency_id": owners[0]}),
                "name contains 'hillbrow'": ("/api/cctv/cameras", {"q": "hillbrow"}),
                "CSV export (all)": ("/api/cctv/cameras.csv", {}),
            }
            _time(http, "/api/cctv/cameras", {}, 2)  # warm up
            timings = {}
            for name, (path, params) in queries.items():
                seconds, count = _time(http, path, params, repeats)
                timings[name] = {"rows": count, **summarise(seconds).as_dict(2)}
            http.close()
            admin_http.close()
    figures = {
        "cameras": n,
        "import": {
            "seconds": round(import_s, 2),
            "cameras_per_second": round(n / import_s, 1),
            **imported.json(),
        },
        "queries": timings,
    }
    worst_list = max(t["p99_ms"] for name, t in timings.items() if not name.startswith("CSV"))
    targets = [
        Target(
            f"list and filter {n:,} cameras (worst p99)",
            "one client, loopback HTTP",
            worst_list,
            200,
            "ms",
            False,
        )
    ]
    return figures, targets


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="1,000 cameras, fewer requests")
    args = parser.parse_args(argv)
    figures, targets = run(args.quick)
    imp = figures["import"]
    rate = fmt(imp["cameras_per_second"], 0)
    print(f"\nimport: {figures['cameras']:,} cameras in {imp['seconds']} s ({rate}/s)")
    print_table(
        "Camera registry over HTTP (SQLite, one client)",
        ["query", "rows", "p50 ms", "p99 ms"],
        [
            [q, fmt(t["rows"]), fmt(t["p50_ms"], 1), fmt(t["p99_ms"], 1)]
            for q, t in figures["queries"].items()
        ],
    )
    for t in targets:
        verdict = "ok" if t.passed else "MISSED"
        print(f"target: {t.name}: {fmt(t.value, 1)} {t.unit} (limit {fmt(t.limit, 0)}) {verdict}")
    print(f"wrote {write_results('cctv_registry', figures, targets)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
