"""Panic dispatch benchmark: nearest-unit recommendation among 10,000 units over Gauteng.

    .venv/bin/python bench/panic_dispatch.py            # full run, about a minute
    .venv/bin/python bench/panic_dispatch.py --quick    # smaller run, a few seconds

Places 10,000 synthetic units where Gauteng's would be (police around the 141 SAPS
stations, metro police and security companies in the three metros, ambulances and fire
engines across every municipality, CPF and foot patrols around stations; positions on the
province's H3 cells from `khusela.demo.geodata`), most reporting every few seconds and
some gone quiet (positions past 300 s are unusable). Alerts fall on random cells with a
realistic mix of types. Measures, in-process, one query at a time:

1. `recommend` (the whole rule set: needs, dispatch reach, staleness, k = 5, straight
   line): p50/p90/p99 overall and per alert type; the target is p99 <= 2 ms;
2. the bare index search (`UnitIndex.nearest`, k = 5, policing kinds);
3. a linear scan doing the same work, as the baseline, and agreement of the index with it;
4. building the index, and moving a unit in it (what an AVL report costs the index);
5. `LiveIndex` on an SQLite file holding the 10,000 units: full rebuild, and catching up
   after 100 units moved (the per-request refresh).

Prints tables and writes bench/results/panic_dispatch.json.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script: make `bench` and `khusela` importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import h3
from sqlalchemy import insert, update

from bench.common import Target, fmt, print_table, progress, sample, summarise, write_results
from khusela.core.gazetteer import BundledGazetteer
from khusela.core.geo import cell_of
from khusela.core.ids import new_id
from khusela.demo.geodata import Province, gauteng
from khusela.identity.model import AgencyType, Jurisdiction
from khusela.identity.tables import agencies, agency_cells
from khusela.panic.avl import USABLE_FOR
from khusela.panic.model import AlertType, UnitKind
from khusela.panic.recommend import (
    NEEDS,
    ROAD_FACTOR,
    AgencyInfo,
    IndexedUnit,
    LiveIndex,
    Scene,
    UnitIndex,
    haversine_m,
    may_send,
    recommend,
    shortlist,
)
from khusela.panic.tables import units
from khusela.store.database import Database
from khusela.store.migrate import upgrade

NAME = "panic_dispatch"
TARGET_P99_MS = 2.0
K = 5
NOW = datetime(2026, 3, 2, 18, 0, tzinfo=UTC)
ALERT_MIX = (
    (AlertType.CRIME, 0.50),
    (AlertType.MEDICAL, 0.20),
    (AlertType.GBV, 0.10),
    (AlertType.ACCIDENT, 0.10),
    (AlertType.FIRE, 0.05),
    (AlertType.OTHER, 0.05),
)


@dataclass(frozen=True)
class Config:
    units: int
    queries: int
    baseline_queries: int
    moves: int
    warmup: int


FULL = Config(units=10_000, queries=20_000, baseline_queries=500, moves=20_000, warmup=1_000)
QUICK = Config(units=10_000, queries=3_000, baseline_queries=100, moves=3_000, warmup=300)


# --- a synthetic Gauteng fleet ------------------------------------------------------------


def _near(rng: random.Random, cell: str) -> tuple[float, float]:
    """A point inside (or just beside) an H3 res-7 cell (edge about 1.2 km)."""
    lat, lon = h3.cell_to_latlng(cell)
    return lat + rng.uniform(-0.008, 0.008), lon + rng.uniform(-0.008, 0.008)


def _age(rng: random.Random) -> float:
    """Seconds since the last report: most units report every few seconds, 5 % went quiet."""
    return rng.uniform(400, 3_600) if rng.random() < 0.05 else rng.expovariate(1 / 20)


def fleet(gp: Province, total: int, rng: random.Random) -> tuple[list[IndexedUnit], dict[str, AgencyInfo]]:
    """About `total` units of every kind, and their agencies, spread as Gauteng's would be."""
    found: dict[str, AgencyInfo] = {}

    def agency(name: str, kind: AgencyType, where: Jurisdiction) -> str:
        ident = new_id()
        found[ident] = AgencyInfo(ident, name, kind, where)
        return ident

    whole = Jurisdiction(provinces=frozenset({gp.code}))
    locals_ = [m for m in gp.municipalities if m.kind != "district"]
    metros = [m for m in locals_ if m.code in ("JHB", "TSH", "EKU")]
    stations = [
        (s, agency(f"SAPS {s.name}", AgencyType.SAPS_STATION, Jurisdiction(cells=s.precinct)))
        for s in gp.stations
    ]
    cpfs = [(s, agency(f"{s.name} CPF", AgencyType.CPF, Jurisdiction(cells=s.precinct))) for s in gp.stations]
    metro_police = [
        (
            m,
            agency(
                f"{m.code} Metro Police",
                AgencyType.METRO_POLICE,
                Jurisdiction(municipalities=frozenset({m.code})),
            ),
        )
        for m in metros
    ]
    security = [
        (
            m,
            agency(
                f"{m.code} Armed Response",
                AgencyType.PRIVATE_SECURITY,
                Jurisdiction(municipalities=frozenset({m.code})),
            ),
        )
        for m in metros
    ]
    fire = [
        (m, agency(m.name, AgencyType.MUNICIPALITY, Jurisdiction(municipalities=frozenset({m.code}))))
        for m in locals_
    ]
    ems = agency("Gauteng EMS", AgencyType.EMS, whole)
    plan = (  # kind, share of the fleet, where (agency, cells to stand on)
        (UnitKind.POLICE_VEHICLE, 0.40, [(a, tuple(s.precinct)) for s, a in stations]),
        (UnitKind.METRO_POLICE_VEHICLE, 0.15, [(a, tuple(m.cells)) for m, a in metro_police]),
        (UnitKind.AMBULANCE, 0.15, [(ems, tuple(m.cells)) for m in locals_]),
        (UnitKind.FIRE_ENGINE, 0.05, [(a, tuple(m.cells)) for m, a in fire]),
        (UnitKind.SECURITY_VEHICLE, 0.15, [(a, tuple(m.cells)) for m, a in security]),
        (UnitKind.CPF_PATROL, 0.08, [(a, tuple(s.precinct)) for s, a in cpfs]),
        (UnitKind.FOOT_PATROL, 0.02, [(a, tuple(s.precinct)) for s, a in stations]),
    )
    out: list[IndexedUnit] = []
    for kind, share, places in plan:
        for _ in range(round(total * share)):
            agency_id, cells = rng.choice(places)
            lat, lon = _near(rng, rng.choice(cells))
            capabilities = (
                frozenset({"medical"})
                if kind is UnitKind.SECURITY_VEHICLE and rng.random() < 0.1
                else frozenset()
            )
            out.append(
                IndexedUnit(
                    id=new_id(),
                    agency_id=agency_id,
                    callsign=f"{kind.value[:3].upper()}-{len(out):05d}",
                    kind=kind,
                    lat=lat,
                    lon=lon,
                    location_at=NOW - timedelta(seconds=_age(rng)),
                    province=gp.code,
                    capabilities=capabilities,
                )
            )
    return out[:total], found


def scenes(gp: Province, n: int, rng: random.Random, agreed: frozenset[str] = frozenset()) -> list[Scene]:
    """`n` alerts on random cells; `agreed`: the community partners under a dispatch agreement."""
    gazetteer = BundledGazetteer(gp.code)
    cells = sorted(gp.cells)
    types = [t for t, _ in ALERT_MIX]
    weights = [w for _, w in ALERT_MIX]
    out: list[Scene] = []
    for _ in range(n):
        lat, lon = _near(rng, rng.choice(cells))
        place = gazetteer.locate(lat, lon)
        out.append(
            Scene(
                lat,
                lon,
                rng.choices(types, weights)[0],
                place.province,
                place.municipality,
                place.cell,
                agreed,
            )
        )
    return out


# --- measurements -------------------------------------------------------------------------


def timed_each(fn: Any, items: Sequence[Any]) -> list[float]:
    """Wall seconds of `fn(item)` for each item."""
    return timed_with_cpu(fn, items)[0]


def timed_with_cpu(fn: Any, items: Sequence[Any]) -> tuple[list[float], list[float]]:
    """Wall and this thread's CPU seconds of `fn(item)` for each item. CPU time leaves out
    the moments the process was descheduled, which a shared machine adds to the wall tail."""
    wall, cpu = time.perf_counter, time.thread_time
    walls: list[float] = []
    cpus: list[float] = []
    for item in items:
        c0 = cpu()
        t0 = wall()
        fn(item)
        walls.append(wall() - t0)
        cpus.append(cpu() - c0)
    return walls, cpus


def linear_shortlist(
    members: Sequence[IndexedUnit], agencies_by_id: dict[str, AgencyInfo], scene: Scene, k: int
) -> list[list[str]]:
    """What `shortlist` returns, by scanning every unit: the baseline and the oracle."""
    since = NOW.timestamp() - USABLE_FOR.total_seconds()
    out: list[list[str]] = []
    for need in NEEDS[scene.type]:
        scored = []
        for u in members:
            capable = u.kind in need.kinds or (
                need.capability is not None and need.capability in u.capabilities
            )
            if not capable or u.seen < since:
                continue
            if not may_send(
                agencies_by_id.get(u.agency_id),
                u.province,
                scene.province,
                scene.municipality,
                scene.cell,
                agreed=scene.agreed,
            ):
                continue
            scored.append((haversine_m(scene.lat, scene.lon, u.lat, u.lon) * ROAD_FACTOR / u.speed, u.id))
        out.append([ident for _, ident in sorted(scored)[:k]])
    return out


def bench_recommend(cfg: Config, rng: random.Random) -> dict[str, Any]:
    gp = gauteng()
    progress(f"placing {cfg.units:,} units over Gauteng")
    members, agencies_by_id = fleet(gp, cfg.units, rng)
    usable = sum(1 for u in members if NOW.timestamp() - u.seen <= USABLE_FOR.total_seconds())
    by_kind: dict[str, int] = defaultdict(int)
    for u in members:
        by_kind[u.kind.value] += 1

    build = sample(lambda: UnitIndex.build(members), 5)
    index = UnitIndex.build(members)
    # The command centre has a dispatch agreement with every CPF, so their units take part.
    cpfs = frozenset(a.id for a in agencies_by_id.values() if a.type is AgencyType.CPF)
    queries = scenes(gp, cfg.queries + cfg.warmup, rng, cpfs)
    warm, measured = queries[: cfg.warmup], queries[cfg.warmup :]
    for s in warm:
        recommend(index, agencies_by_id, s, NOW, k=K)

    progress(f"recommend: {len(measured):,} queries")
    load_before = os.getloadavg()
    times, cpu_times = timed_with_cpu(lambda s: recommend(index, agencies_by_id, s, NOW, k=K), measured)
    load_after = os.getloadavg()
    per_type: dict[str, list[float]] = defaultdict(list)
    for s, seconds in zip(measured, times, strict=True):
        per_type[s.type.value].append(seconds)
    answered = sum(1 for s in measured[:500] if recommend(index, agencies_by_id, s, NOW, k=K).units)

    police_tags = [k.value for k in NEEDS[AlertType.CRIME][0].kinds]
    bare = timed_each(lambda s: index.nearest(s.lat, s.lon, police_tags, K), measured)

    progress(f"linear scan baseline: {cfg.baseline_queries:,} queries")
    baseline_set = measured[: cfg.baseline_queries]
    linear = timed_each(lambda s: linear_shortlist(members, agencies_by_id, s, K), baseline_set)
    agree = sum(
        1
        for s in baseline_set
        if [[r.unit.id for r in ranked] for _, ranked in shortlist(index, agencies_by_id, s, NOW, K)]
        == linear_shortlist(members, agencies_by_id, s, K)
    )

    progress(f"moving units: {cfg.moves:,} position updates")
    movers = [rng.choice(members) for _ in range(cfg.moves)]
    moved = [
        IndexedUnit(
            u.id,
            u.agency_id,
            u.callsign,
            u.kind,
            u.lat + rng.uniform(-0.005, 0.005),
            u.lon + rng.uniform(-0.005, 0.005),
            NOW,
            u.province,
            u.municipality,
            u.capabilities,
        )
        for u in movers
    ]
    put = timed_each(index.put, moved)

    overall = summarise(times)
    return {
        "units": cfg.units,
        "usable_units": usable,
        "units_by_kind": dict(sorted(by_kind.items())),
        "agencies": len(agencies_by_id),
        "k": K,
        "router": "straight_line",
        "queries": len(measured),
        "queries_with_an_answer_pct": round(100 * answered / min(500, len(measured)), 1),
        "recommend_ms": overall.as_dict(),
        "recommend_cpu_ms": summarise(cpu_times).as_dict(),
        "load_average_1min_before_after": [round(load_before[0], 2), round(load_after[0], 2)],
        "recommend_ms_by_alert_type": {t: summarise(v).as_dict() for t, v in sorted(per_type.items())},
        "index_nearest_police_k5_ms": summarise(bare).as_dict(),
        "linear_scan_ms": summarise(linear).as_dict(),
        "speedup_p50_vs_linear_scan": round(summarise(linear).p50_ms / overall.p50_ms, 1),
        "agreement_with_linear_scan_pct": round(100 * agree / len(baseline_set), 2),
        "index_build_ms": summarise(build).as_dict(),
        "index_move_unit_us": {
            k: round(v * 1000, 2) if isinstance(v, float) else v for k, v in summarise(put).as_dict().items()
        },
    }


def bench_live_index(cfg: Config, rng: random.Random) -> dict[str, Any]:
    """LiveIndex against an SQLite file holding the fleet (the embedded deployment)."""
    gp = gauteng()
    members, agencies_by_id = fleet(gp, cfg.units, rng)
    with tempfile.TemporaryDirectory() as tmp:
        db = Database(f"sqlite:///{tmp}/khusela.db")
        try:
            upgrade(db)
            progress(f"loading {len(members):,} units into SQLite")
            with db.write() as conn:
                conn.execute(
                    insert(agencies),
                    [
                        {
                            "id": a.id,
                            "name": a.name,
                            "type": a.type.value,
                            "provinces": sorted(a.jurisdiction.provinces),
                            "municipalities": sorted(a.jurisdiction.municipalities),
                            "created_at": NOW,
                        }
                        for a in agencies_by_id.values()
                    ],
                )
                conn.execute(
                    insert(agency_cells),
                    [
                        {"agency_id": a.id, "cell": c}
                        for a in agencies_by_id.values()
                        for c in sorted(a.jurisdiction.cells)
                    ],
                )
                conn.execute(
                    insert(units),
                    [
                        {
                            "id": u.id,
                            "agency_id": u.agency_id,
                            "callsign": u.callsign,
                            "kind": u.kind.value,
                            "status": "available",
                            "lat": u.lat,
                            "lon": u.lon,
                            "province": u.province,
                            "cell": cell_of(u.lat, u.lon),
                            "capabilities": sorted(u.capabilities),
                            "location_at": u.location_at,
                            "updated_at": u.location_at,
                        }
                        for u in members
                    ],
                )
            rebuilds: list[float] = []
            for _ in range(5):
                live = LiveIndex()
                with db.read() as conn:
                    t0 = time.perf_counter()
                    live.refresh(conn, NOW)
                    rebuilds.append(time.perf_counter() - t0)
            catch_ups: list[float] = []
            for round_ in range(20):
                changed = rng.sample(members, 100)
                stamp = NOW + timedelta(seconds=round_)
                with db.write() as conn:
                    for u in changed:
                        conn.execute(
                            update(units)
                            .where(units.c.id == u.id)
                            .values(lat=u.lat + 0.001, location_at=stamp, updated_at=stamp)
                        )
                with db.read() as conn:
                    t0 = time.perf_counter()
                    live.refresh(conn, NOW)
                    catch_ups.append(time.perf_counter() - t0)
            indexed = len(live)
        finally:
            db.dispose()
    return {
        "backend": "sqlite",
        "units_in_table": len(members),
        "units_indexed": indexed,
        "full_rebuild_ms": summarise(rebuilds).as_dict(),
        "catch_up_after_100_moves_ms": summarise(catch_ups).as_dict(),
    }


def print_report(results: dict[str, Any], targets: Sequence[Target]) -> None:
    rec = results["recommend"]
    headers = ["what", "count", "p50 ms", "p90 ms", "p99 ms", "max ms"]

    def row(name: str, s: dict[str, Any]) -> list[str]:
        return [
            name,
            fmt(s["count"]),
            fmt(s["p50_ms"], 3),
            fmt(s["p90_ms"], 3),
            fmt(s["p99_ms"], 3),
            fmt(s["max_ms"], 3),
        ]

    rows = [
        row("recommend (all types)", rec["recommend_ms"]),
        row("  CPU time only", rec["recommend_cpu_ms"]),
    ]
    rows += [row(f"  {t}", s) for t, s in rec["recommend_ms_by_alert_type"].items()]
    rows += [
        row("index.nearest (police, k=5)", rec["index_nearest_police_k5_ms"]),
        row("linear scan (baseline)", rec["linear_scan_ms"]),
        row("index build (10,000)", rec["index_build_ms"]),
    ]
    live = results["live_index"]
    rows += [
        row("LiveIndex full rebuild (SQLite)", live["full_rebuild_ms"]),
        row("LiveIndex catch-up, 100 moved", live["catch_up_after_100_moves_ms"]),
    ]
    print_table(
        f"Recommendation among {rec['units']:,} units ({rec['usable_units']:,} usable), k={rec['k']}",
        headers,
        rows,
    )
    move = rec["index_move_unit_us"]
    print(f"\nmoving a unit in the index: p50 {move['p50_ms']:.2f} us, p99 {move['p99_ms']:.2f} us")
    print(
        f"agreement with a linear scan: {rec['agreement_with_linear_scan_pct']} %; "
        f"p50 speed-up {rec['speedup_p50_vs_linear_scan']}x"
    )
    print_table(
        "Targets",
        ["target", "value", "limit", "result"],
        [
            [t.name, f"{t.value:.3f} {t.unit}", f"{t.limit} {t.unit}", "PASS" if t.passed else "FAIL"]
            for t in targets
        ],
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="a smaller run (a few seconds)")
    parser.add_argument("--seed", type=int, default=2026, help="random seed for the fleet and the alerts")
    parser.add_argument(
        "--output", type=Path, default=None, help="result file (default bench/results/panic_dispatch.json)"
    )
    args = parser.parse_args(argv)
    cfg = QUICK if args.quick else FULL
    started = time.perf_counter()
    results: dict[str, Any] = {
        "mode": "quick" if args.quick else "full",
        "config": asdict(cfg),
        "seed": args.seed,
    }
    results["recommend"] = bench_recommend(cfg, random.Random(args.seed))
    results["live_index"] = bench_live_index(cfg, random.Random(args.seed + 1))
    results["duration_seconds"] = round(time.perf_counter() - started, 1)
    targets = [
        Target(
            name="recommendation p99 among 10,000 units",
            basis="recommend(): needs, reach, staleness, k=5, straight-line ETA; wall time, in-process",
            value=results["recommend"]["recommend_ms"]["p99_ms"],
            limit=TARGET_P99_MS,
            unit="ms",
            higher_is_better=False,
        )
    ]
    print_report(results, targets)
    notes = [
        "Timed in-process with the garbage collector on; the figure excludes the HTTP round trip and the "
        "LiveIndex refresh, measured separately (live_index).",
        "The index is a lat/lon grid per unit kind and capability, cell size chosen for ~2 units per cell, "
        "searched in rings until the k-th ETA beats every unvisited ring's lower bound.",
        "agreement_with_linear_scan_pct: each need's shortlist equals a scan of all units under the same "
        "rules.",
        "The machine is shared (2 vCPUs): other processes inflate the wall-time tail; recommend_cpu_ms "
        "counts only this thread's CPU time; load_average_1min_before_after shows how busy the machine was.",
    ]
    path = write_results(NAME, results, targets, notes, path=args.output)
    print(f"\nwrote {path} ({results['duration_seconds']:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
