"""Console benchmark: the operator's live picture in a real browser under a heavy load.

    .venv/bin/python bench/console.py            # 2,000 open alerts, 5,000 units, about a minute
    .venv/bin/python bench/console.py --quick    # 300 alerts, 800 units, a few seconds

Seeds a throw-away embedded database (SQLite, in-process bus: the README's first command)
with open alerts spread over Gauteng and units reporting fresh positions, starts the API in
its own process (`bench.server`), and opens the console in Debian's Chromium (headless,
1920x1080) driven by Playwright, signed in as an operator. Measures:

1. first render: from navigation to the queue and every marker drawn
   (`window.khusela.ready`, resolved by the console itself), over several page loads;
2. live updates while traffic flows: operators acknowledging alerts, units reporting
   positions, residents raising new alerts, each through the HTTP API. For every feed
   event the console records when it arrived and when the frame showing it was drawn
   (`window.khusela.applied`); the figure is arrival → drawn. The end-to-end time, from
   the API's answer to the frame, is reported beside it (one clock: same machine).

Targets (issue: console speed): first render <= 2 s, live updates applied <= 250 ms (p99).
Prints tables and writes bench/results/console.json.
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import threading
import time
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script: make `bench` and `khusela` importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import httpx
from playwright.sync_api import Page, sync_playwright
from sqlalchemy import insert

from bench.common import Target, fmt, print_table, progress, summarise, write_results
from bench.foundation import issue_tokens
from bench.server import serve
from khusela.core.gazetteer import BundledGazetteer
from khusela.core.geo import cell_of
from khusela.core.ids import new_id
from khusela.demo.geodata import gauteng
from khusela.identity import directory
from khusela.identity.model import SYSTEM, AgencyType, Jurisdiction, Role
from khusela.panic.model import AlertType, UnitKind
from khusela.panic.tables import alerts, units
from khusela.store.database import Database
from khusela.store.migrate import upgrade

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
BENCH_PASSWORD = "bench-password-not-used"  # noqa: S105 - tokens are issued directly; nobody signs in
READY_TIMEOUT_MS = 60_000
UNIT_KINDS = [kind.value for kind in UnitKind]
UNIT_STATUSES = ("available",) * 6 + ("assigned", "en_route", "on_scene", "off_duty")


@dataclass(frozen=True)
class Config:
    alerts: int
    units: int
    loads: int
    acknowledgements: int
    unit_reports: int
    new_alerts: int
    rate_per_second: float


FULL = Config(
    alerts=2000,
    units=5000,
    loads=5,
    acknowledgements=300,
    unit_reports=600,
    new_alerts=60,
    rate_per_second=40,
)
QUICK = Config(
    alerts=300, units=800, loads=2, acknowledgements=40, unit_reports=80, new_alerts=10, rate_per_second=40
)


@dataclass
class World:
    operator_token: str
    crew_token: str
    resident_tokens: list[str]
    new_alert_ids: list[str]
    unit_ids: list[str]


def _places(rng: random.Random, n: int) -> list[tuple[float, float]]:
    """Points near Gauteng's police stations, where alerts and units cluster."""
    stations = gauteng().stations
    out = []
    for _ in range(n):
        s = rng.choice(stations)
        out.append((s.lat + rng.uniform(-0.03, 0.03), s.lon + rng.uniform(-0.03, 0.03)))
    return out


def seed(db: Database, cfg: Config, rng: random.Random) -> World:
    gazetteer = BundledGazetteer()
    now = datetime.now(UTC)
    with db.write() as conn:
        centre = directory.create_agency(
            conn,
            SYSTEM,
            "Bench Command Centre",
            AgencyType.PROVINCIAL_DEPARTMENT,
            Jurisdiction(frozenset({"GP"})),
        )
        fleet = directory.create_agency(
            conn, SYSTEM, "Bench Fleet", AgencyType.METRO_POLICE, Jurisdiction(frozenset({"GP"}))
        )
        operator = directory.create_user(
            conn,
            SYSTEM,
            username="bench-operator",
            roles=[Role.OPERATOR],
            password=BENCH_PASSWORD,
            agency_id=centre.id,
        )
        crew = directory.create_user(
            conn,
            SYSTEM,
            username="bench-crew",
            roles=[Role.RESPONDER],
            password=BENCH_PASSWORD,
            agency_id=fleet.id,
        )
        residents = [
            directory.create_user(
                conn, SYSTEM, username=f"bench-resident-{i}", roles=[Role.RESIDENT], phone=f"+2782{i:07d}"
            )
            for i in range(cfg.new_alerts)
        ]
        unit_rows = []
        for i, (lat, lon) in enumerate(_places(rng, cfg.units)):
            place = gazetteer.locate(lat, lon)
            unit_rows.append(
                {
                    "id": new_id(),
                    "agency_id": fleet.id,
                    "callsign": f"B-{i:05d}",
                    "kind": rng.choice(UNIT_KINDS),
                    "status": rng.choice(UNIT_STATUSES),
                    "lat": lat,
                    "lon": lon,
                    "province": place.province,
                    "municipality": place.municipality,
                    "cell": place.cell,
                    "updated_at": now,
                    "capabilities": [],
                    "location_at": now - timedelta(seconds=rng.uniform(0, 50)),
                }
            )
        conn.execute(insert(units), unit_rows)
        alert_rows = []
        types = list(AlertType)
        for lat, lon in _places(rng, cfg.alerts):
            place = gazetteer.locate(lat, lon)
            created = now - timedelta(seconds=rng.uniform(5, 1800))
            unknown = rng.random() < 0.03
            acknowledged = rng.random() < 0.5
            alert_rows.append(
                {
                    "id": new_id(),
                    "resident_id": None,
                    "device_id": None,
                    "channel": "app",
                    "type": rng.choice(types).value,
                    "status": "acknowledged" if acknowledged else "new",
                    "priority": rng.choice((1, 2, 2, 3, 3, 3, 4)),
                    "silent": rng.random() < 0.1,
                    "duress": False,
                    "presses": 1,
                    "location_unknown": unknown,
                    "outside_coverage": not place.covered,
                    "lat": None if unknown else lat,
                    "lon": None if unknown else lon,
                    "accuracy_m": None if unknown else rng.uniform(5, 60),
                    "location_source": "gps",
                    "location_at": None if unknown else created,
                    "province": place.province,
                    "municipality": None if unknown else place.municipality,
                    "cell": None if unknown else cell_of(lat, lon),
                    "created_at": created,
                    "acknowledged_at": created + timedelta(seconds=4) if acknowledged else None,
                    "updated_at": created,
                    "version": 2 if acknowledged else 1,
                }
            )
        conn.execute(insert(alerts), alert_rows)
    [operator_token] = issue_tokens(db, operator.user.user_id, 1)
    [crew_token] = issue_tokens(db, crew.user.user_id, 1)
    resident_tokens = [issue_tokens(db, r.user.user_id, 1)[0] for r in residents]
    new_ids = [r["id"] for r in alert_rows if r["status"] == "new"]
    unit_ids = [str(u["id"]) for u in unit_rows]
    return World(operator_token, crew_token, resident_tokens, [str(i) for i in new_ids], unit_ids)


# --- the browser ---------------------------------------------------------------------------


def first_render(page: Page, base_url: str) -> dict[str, float]:
    """Load the console and wait until it says the first full render is done."""
    page.goto(f"{base_url}/#/live")
    page.wait_for_function("() => window.khusela && window.khusela.ready", timeout=READY_TIMEOUT_MS)
    result: dict[str, Any] = page.evaluate(
        """async (limit) => {
            const late = new Promise((_, fail) => setTimeout(() => fail(new Error("not ready")), limit));
            const r = await Promise.race([window.khusela.ready, late]);
            return {...(r || {}), now: performance.now()};
        }""",
        READY_TIMEOUT_MS,
    )
    counts: dict[str, Any] = page.evaluate(
        "() => ({rows: Number(document.querySelector('.queue-count')?.textContent || 0)})"
    )
    return {"ready_ms": float(result["now"]), "render_ms": float(result.get("renderMs") or 0), **counts}


def drive_traffic(
    base_url: str, world: World, cfg: Config, rng: random.Random
) -> tuple[dict[str, int], dict[str, float]]:
    """Acknowledgements, unit reports and new alerts through the API, interleaved at a
    steady rate. Returns how many of each were answered, and for each acknowledged alert
    the epoch-ms time its answer arrived."""
    answered: dict[str, int] = defaultdict(int)
    acknowledged: dict[str, float] = {}
    jobs: list[tuple[str, Any]] = (
        [
            ("ack", a)
            for a in rng.sample(world.new_alert_ids, min(cfg.acknowledgements, len(world.new_alert_ids)))
        ]
        + [("unit", rng.choice(world.unit_ids)) for _ in range(cfg.unit_reports)]
        + [("raise", i) for i in range(cfg.new_alerts)]
    )
    rng.shuffle(jobs)
    operator = {"Authorization": f"Bearer {world.operator_token}"}
    crew = {"Authorization": f"Bearer {world.crew_token}"}
    interval = 1.0 / cfg.rate_per_second
    with httpx.Client(base_url=base_url, timeout=10) as client:
        next_at = time.monotonic()
        for kind, arg in jobs:
            if kind == "ack":
                r = client.post(f"/api/panic/alerts/{arg}/acknowledge", headers=operator)
            elif kind == "unit":
                lat, lon = _places(rng, 1)[0]
                r = client.post(
                    f"/api/panic/units/{arg}/location",
                    json={"lat": lat, "lon": lon, "accuracy_m": 8},
                    headers=crew,
                )
            else:
                lat, lon = _places(rng, 1)[0]
                r = client.post(
                    "/api/panic/alerts",
                    json={"type": "crime", "lat": lat, "lon": lon, "client_alert_id": f"bench-{arg}"},
                    headers={"Authorization": f"Bearer {world.resident_tokens[arg]}"},
                )
            if r.status_code >= 400:
                raise RuntimeError(f"{kind}: HTTP {r.status_code} {r.text}")
            answered[kind] += 1
            if kind == "ack":
                acknowledged[arg] = time.time() * 1000
            next_at += interval
            time.sleep(max(0.0, next_at - time.monotonic()))
    return dict(answered), acknowledged


def run(cfg: Config, seed_value: int) -> dict[str, Any]:
    rng = random.Random(seed_value)
    with tempfile.TemporaryDirectory(prefix="khusela-console-bench-") as tmp:
        url = f"sqlite:///{Path(tmp) / 'khusela.db'}"
        db = Database(url)
        upgrade(db)
        progress(f"seeding {cfg.alerts:,} open alerts and {cfg.units:,} units")
        world = seed(db, cfg, rng)
        db.dispose()
        with serve(url, log_level="WARNING") as server, sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            context = browser.new_context(viewport={"width": 1920, "height": 1080})
            context.add_init_script(f"sessionStorage.setItem('khusela.token', {world.operator_token!r});")
            page = context.new_page()
            progress(f"first render, {cfg.loads} page loads")
            loads = [first_render(page, server.base_url) for _ in range(cfg.loads)]
            page.wait_for_timeout(1000)
            progress("live updates: acknowledgements, unit reports and new alerts through the API")
            page.evaluate("() => { window.khusela.applied.length = 0; }")
            traffic: list[tuple[dict[str, int], dict[str, float]]] = []
            worker = threading.Thread(
                target=lambda: traffic.append(drive_traffic(server.base_url, world, cfg, rng)), daemon=True
            )
            worker.start()
            worker.join()
            answered, acknowledged = traffic[0]
            page.wait_for_timeout(2000)
            applied: list[dict[str, Any]] = page.evaluate(
                "() => window.khusela.applied.map(r =>"
                " ({...r, epochApplied: r.appliedAt == null ? null : performance.timeOrigin + r.appliedAt}))"
            )
            browser.close()
    return {"loads": loads, "applied": applied, "answered": answered, "acknowledged": acknowledged}


def analyse(cfg: Config, raw: dict[str, Any]) -> tuple[dict[str, Any], list[Target]]:
    loads = raw["loads"]
    ready = sorted(load["ready_ms"] for load in loads)
    by_subject: dict[str, list[float]] = defaultdict(list)
    for record in raw["applied"]:
        if record.get("appliedAt") is None:
            continue
        by_subject[record["subject"]].append((record["appliedAt"] - record["receivedAt"]) / 1000.0)
    every = sorted(v for values in by_subject.values() for v in values)
    apply_summary = summarise(every)
    per_subject = {subject: summarise(values).as_dict(2) for subject, values in sorted(by_subject.items())}
    expected = sum(raw["answered"].values())
    acknowledged: dict[str, float] = raw["acknowledged"]
    end_to_end = sorted(
        (r["epochApplied"] - acknowledged[r["id"]]) / 1000.0
        for r in raw["applied"]
        if r["subject"] == "panic.alert_changed" and r.get("epochApplied") and r["id"] in acknowledged
    )
    caused_subjects = ("panic.alert_changed", "panic.unit_changed", "panic.alert_raised")
    applied_caused = sum(len(by_subject[s]) for s in caused_subjects)
    figures = {
        "config": cfg.__dict__,
        "first_render": {
            "loads": len(loads),
            "queue_rows_rendered": [load["rows"] for load in loads],
            "ready_ms": ready,
            "worst_ms": ready[-1],
            "median_ms": ready[len(ready) // 2],
        },
        "live_updates": {
            "events_expected_at_least": expected,
            "events_applied": len(every),
            "caused_events_applied": applied_caused,
            "apply_ms": apply_summary.as_dict(2),
            "per_subject_ms": per_subject,
            "api_answer_to_frame_ms": summarise(end_to_end).as_dict(2),
        },
    }
    targets = [
        Target(
            "first render (worst of loads)",
            "navigation → queue and markers drawn",
            ready[-1],
            2000,
            "ms",
            False,
        ),
        Target(
            "live update applied (p99)",
            "feed event arrived → frame drawn",
            apply_summary.p99_ms,
            250,
            "ms",
            False,
        ),
        Target(
            "every caused event applied",
            "alert/unit events applied / API calls that caused one (escalations come on top)",
            applied_caused / max(expected, 1),
            1.0,
            "ratio",
            True,
        ),
    ]
    return figures, targets


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="a smaller run (a few seconds)")
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--output", type=Path, default=None, help="where to write the JSON figures")
    args = parser.parse_args(argv)
    cfg = QUICK if args.quick else FULL
    raw = run(cfg, args.seed)
    figures, targets = analyse(cfg, raw)
    print_table(
        f"First render: {cfg.alerts:,} open alerts, {cfg.units:,} units (Chromium headless, 1920x1080)",
        ["load", "ready ms", "alerts in queue"],
        [[str(i + 1), fmt(load["ready_ms"], 0), fmt(load["rows"])] for i, load in enumerate(raw["loads"])],
    )
    live = figures["live_updates"]
    print_table(
        "Live updates: feed event arrived → frame drawn",
        ["subject", "n", "p50 ms", "p90 ms", "p99 ms", "max ms"],
        [
            [
                s,
                fmt(v["count"]),
                fmt(v["p50_ms"], 1),
                fmt(v["p90_ms"], 1),
                fmt(v["p99_ms"], 1),
                fmt(v["max_ms"], 1),
            ]
            for s, v in live["per_subject_ms"].items()
        ],
    )
    e2e = live["api_answer_to_frame_ms"]
    print(
        f"\nacknowledge answered by the API → frame drawn: p50 {fmt(e2e['p50_ms'], 1)} ms, "
        f"p99 {fmt(e2e['p99_ms'], 1)} ms (n={e2e['count']})"
    )
    print_table(
        "Targets",
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
    path = write_results("console", figures, targets, path=args.output)
    print(f"\nwrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
