"""Partners benchmark: what users of the partners module wait on, on PostgreSQL.

    .venv/bin/python -m bench.partners            # the sizes below (a few minutes)
    .venv/bin/python -m bench.partners --quick    # a tenth of the platform, under a minute

A throw-away database is filled in bulk (COPY) with a platform's worth of the figures the
agreement report reads (panic alerts with response times, cameras with their online/offline
history, intel items with their shares), then, through the module's own functions, one
agreement of 13 areas and 150 commitments with a year of progress reports. Then:

1. the quarterly report of that agreement (`reports.build`, `to_csv`, `to_pdf`);
2. a community alert over an area 10,000 people follow (residents by cell or municipality,
   CPF members by patrol area): issue → outbox → in-process bus → the real consumer
   (`partners.delivery`) with counting SMS and push senders, until the version is complete
   (then the same on the embedded default, SQLite);
3. who follows the alert (one query) and the CAP/Atom feed with 200 alerts in force;
4. the agreement rules other modules call per request (`partners_of`, `dispatch_partners`,
   the camera registry's grant subquery) with 2,000 agreements in the table;
5. anonymous tips through the HTTP app (in-process `TestClient`, one client, the anonymous
   rate limit raised for the bench), and status reads by tracking code.
Writes bench/results/partners.json.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any

import h3
import psycopg
from fastapi.testclient import TestClient
from sqlalchemy import insert, select, text
from sqlalchemy.engine import make_url

from bench.common import (
    Target,
    exit_cleanly_on_sigterm,
    fmt,
    percentile,
    postgres_info,
    print_table,
    progress,
    sample,
    summarise,
    throwaway_database,
    write_results,
)
from khusela.api.app import create_app
from khusela.api.middleware import RateLimit
from khusela.bootstrap import bootstrap
from khusela.bus.adapters.inprocess import InProcessBus
from khusela.bus.outbox import OutboxRelay
from khusela.cctv.cameras import CAMERA_COLUMNS, camera_columns
from khusela.cctv.tables import cameras
from khusela.core.ids import new_id
from khusela.core.logging import configure_logging
from khusela.core.settings import Settings
from khusela.identity.model import AgencyType, Clearance, Jurisdiction, Principal, Role
from khusela.identity.policy import Action, read_filter
from khusela.identity.tables import agencies
from khusela.partners import agreements, cap_feed, community, delivery, reports, rules
from khusela.partners.agreements import AgreementSpec, CommitmentSpec
from khusela.partners.community import AlertDraft
from khusela.partners.indicators import SOURCES, platform_figure
from khusela.partners.model import AgreementStatus, AgreementType, AreaKind, Direction, Quarter
from khusela.partners.tables import (
    partner_agreement_parties,
    partner_agreements,
    partner_areas,
    partner_operation_outcomes,
    partner_operations,
)
from khusela.store.database import Database
from khusela.store.metadata import metadata
from khusela.store.migrate import upgrade

HILLBROW = (-26.1885, 28.0470)
AREA_CELLS = sorted(h3.grid_disk(h3.latlng_to_cell(*HILLBROW, 7), 2))
"""The warned area: 19 resolution-7 cells (about 100 km²) around Hillbrow."""
ELSEWHERE = sorted(h3.grid_disk(h3.latlng_to_cell(-25.7479, 28.2293, 7), 2))
"""Pretoria: cells followed by people the alert must not reach."""
OUTCOMES = ["arrest", "seizure", "mining_site_closed", "bylaw_notice"]
RULES = ("partners_of", "dispatch_partners", "camera_grant_listing")
NOTES = (
    "report: every commitment naming a platform figure recomputes it (panic response times over "
    "the quarter's alerts, camera uptime over every camera's history), so the figures are most of "
    "the build; see report.figures_ms_once_per_source_and_party for the cost when asked once.",
    "delivery: each send is still recorded in its own committed transaction; the round keeps one "
    "connection for its records and the insert statement is built once (partners.delivery, "
    "partners.community). Before that change, 10,000 followers took 436-529 recipients/s.",
    "tips: one sequential client through the in-process TestClient, so latency, not server capacity.",
)
REPORT_BUDGET_S = 90.0
"""Stop repeating the report after this long (at least 3 timed runs): a slow report would
otherwise make the whole benchmark take many minutes."""


@dataclass(frozen=True, slots=True)
class Sizes:
    alerts: int
    cameras: int
    intel_items: int
    followers: int
    agreements: int
    tips: int
    report_runs: int
    rule_calls: int
    areas: int = 13
    commitments: int = 150
    feed_alerts: int = 200


FULL = Sizes(
    alerts=50_000,
    cameras=500,
    intel_items=20_000,
    followers=10_000,
    agreements=2_000,
    tips=1_000,
    report_runs=20,
    rule_calls=1_000,
)
QUICK = Sizes(
    alerts=5_000,
    cameras=100,
    intel_items=2_000,
    followers=1_000,
    agreements=500,
    tips=200,
    report_runs=5,
    rule_calls=200,
)


@dataclass
class World:
    """The agencies and people the measurements act as."""

    parties: list[str]
    stations: list[str]
    cpfs: list[str] = field(default_factory=list)
    agreement_id: str = ""

    def operator(self, agency_id: str, where: Jurisdiction | None = None) -> Principal:
        return Principal(
            user_id=f"op-{agency_id[:8]}",
            username=f"op-{agency_id[:8]}",
            roles=frozenset({Role.OPERATOR}),
            clearance=Clearance.SECRET,
            agency_id=agency_id,
            agency_type=AgencyType.METRO_POLICE,
            jurisdiction=where or Jurisdiction(provinces=frozenset({"GP"})),
            agency_name="bench",
        )


def _dsn(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


@contextmanager
def _copy(url: str, table: str, columns: str) -> Iterator[Callable[[Sequence[Any]], None]]:
    """COPY rows into `table`: yields a function that writes one row."""
    with (
        psycopg.connect(_dsn(url), autocommit=True) as conn,
        conn.cursor() as cur,
        cur.copy(f"COPY {table} ({columns}) FROM STDIN") as copy,
    ):
        yield copy.write_row


# --- the platform the report reads ----------------------------------------------------------


def _agencies(db: Database, now: datetime, extra: int) -> World:
    """Three parties to the agreement, 20 police stations, 10 CPFs and `extra` other agencies."""
    names = [
        ("Gauteng Community Safety", AgencyType.PROVINCIAL_DEPARTMENT),
        ("JMPD", AgencyType.METRO_POLICE),
    ]
    names += [("SAPS Hillbrow", AgencyType.SAPS_STATION)]
    names += [(f"SAPS station {n}", AgencyType.SAPS_STATION) for n in range(20)]
    names += [(f"CPF {n}", AgencyType.CPF) for n in range(20)]
    names += [(f"Agency {n}", AgencyType.PRIVATE_SECURITY) for n in range(extra)]
    rows = [
        {
            "id": new_id(),
            "name": n,
            "type": t.value,
            "provinces": ["GP"],
            "municipalities": [],
            "created_at": now,
        }
        for n, t in names
    ]
    with db.write() as conn:
        conn.execute(insert(agencies), rows)
    ids = [str(r["id"]) for r in rows]
    return World(parties=ids[:3], stations=ids[3:23], cpfs=ids[23:43])


def _load_alerts(url: str, n: int, owners: Sequence[str], now: datetime, rng: random.Random) -> None:
    """Panic alerts over the last year, assigned to the stations, with response times."""
    columns = (
        "id, channel, type, status, priority, silent, duress, presses, location_unknown, outside_coverage, "
        "lat, lon, accuracy_m, location_source, location_at, province, municipality, created_at, "
        "acknowledged_at, dispatched_at, on_scene_at, closed_at, updated_at, assigned_agency_id, version"
    )
    with _copy(url, "alerts", columns) as write:
        for _ in range(n):
            created = now - timedelta(seconds=rng.uniform(0, 365 * 86400))
            ack = created + timedelta(seconds=rng.lognormvariate(2.3, 0.8))
            dispatched = ack + timedelta(seconds=rng.lognormvariate(4.0, 0.7))
            scene = (
                dispatched + timedelta(seconds=rng.lognormvariate(6.3, 0.6)) if rng.random() < 0.9 else None
            )
            cancelled = rng.random() < 0.03
            lat, lon = HILLBROW[0] + rng.uniform(-0.2, 0.2), HILLBROW[1] + rng.uniform(-0.2, 0.2)
            write((
                new_id(), "app", "crime", "cancelled" if cancelled else "resolved", 2, False, False, 1,
                False, False, lat, lon, 15.0, "gps", created, "GP", "JHB", created, ack,
                None if cancelled else dispatched, None if cancelled else scene,
                created + timedelta(hours=2), created + timedelta(hours=2), rng.choice(owners), 3,
            ))  # fmt: skip


def _load_cameras(url: str, n: int, owners: Sequence[str], now: datetime, rng: random.Random) -> int:
    """Cameras with a year of online/offline transitions (an outage every ~3 days, ~2 h long)."""
    ids = [new_id() for _ in range(n)]
    columns = (
        "id, owner_agency_id, name, external_ref, lat, lon, province, municipality, main_stream_url, "
        "detect_fps, detect_width, detect_height, zones, masks, record, retention_days, status, "
        "created_at, updated_at"
    )
    with _copy(url, "cameras", columns) as write:
        for k, camera_id in enumerate(ids):
            lat, lon = HILLBROW[0] + rng.uniform(-0.1, 0.1), HILLBROW[1] + rng.uniform(-0.1, 0.1)
            write((
                camera_id, rng.choice(owners), f"Camera {k}", f"GP-{k:05d}", lat, lon, "GP", "JHB",
                f"rtsp://10.0.{k // 256}.{k % 256}/main", 5.0, 640, 360, "[]", "[]", False, 30, "online",
                now, now,
            ))  # fmt: skip
    changes = 0
    with _copy(url, "camera_status_changes", "camera_id, status, reason, at") as write:
        for camera_id in ids:
            at = now - timedelta(days=366)
            write((camera_id, "online", None, at))
            while True:
                at += timedelta(days=rng.expovariate(1 / 3))
                if at >= now:
                    break
                write((camera_id, "offline", "no frames for 30 s", at))
                at += timedelta(hours=rng.expovariate(1 / 2))
                write((camera_id, "online", None, at))
                changes += 2
    return changes


def _load_intel(url: str, n: int, owners: Sequence[str], now: datetime, rng: random.Random) -> int:
    """Intel items of the stations and parties; two in five shared with another agency."""
    from bench.intel import COLUMNS

    shares: list[tuple[str, datetime, str]] = []
    with _copy(url, "intel_items", COLUMNS) as write:
        for seq in range(1, n + 1):
            item_id, agency = str(uuid.uuid4()), rng.choice(owners)
            created = now - timedelta(seconds=rng.uniform(0, 365 * 86400))
            write((
                item_id, 1, seq, "active", "Cable theft syndicate near the substation",
                "Scrap buyers in the area take copper cable at night.", "infrastructure_theft", 2, 1, "[]",
                "B", 2, "P", "GP", "JHB", None, "[]", None, None, "gauteng", agency, "bench-author",
                created + timedelta(days=1825), False, None, None, False, None, "[]", "[]", None,
                created, created,
            ))  # fmt: skip
            if rng.random() < 0.4:
                shares.append((item_id, created + timedelta(hours=rng.uniform(1, 72)), rng.choice(owners)))
    columns = "item_id, item_version, channel, actor, recipient_kind, recipient, reason, sanitised, at"
    with _copy(url, "intel_disseminations", columns) as write:
        for item_id, at, recipient in shares:
            write((item_id, 1, "share", "bench-author", "agency", recipient, "joint work", False, at))
    return len(shares)


def _agreement(db: Database, world: World, sizes: Sizes, now: datetime, rng: random.Random) -> int:
    """One active agreement with 13 areas and 150 commitments, each with a year of progress
    reports, recorded through the module's functions; plus joint operations with outcomes."""
    actor = world.operator(world.parties[1])
    kinds, sources = list(AreaKind), [*SOURCES, None, None, None, None]
    reports_made = 0
    with db.write() as conn:
        spec = AgreementSpec(
            "Gauteng and Johannesburg safety cooperation", AgreementType.COOPERATION, tuple(world.parties),
            status=AgreementStatus.ACTIVE, signed_on=(now - timedelta(days=400)).date(), province="GP",
        )  # fmt: skip
        world.agreement_id = agreements.create(conn, actor, spec, now)["id"]
        areas = [
            agreements.add_area(conn, actor, world.agreement_id, kinds[k % len(kinds)], f"Area {k}", "bench")
            for k in range(sizes.areas)
        ]
        for k in range(sizes.commitments):
            responsible = world.parties[k % len(world.parties)]
            spec_c = CommitmentSpec(
                f"Commitment {k}: deliver what was agreed", responsible,
                (now + timedelta(days=rng.randint(-60, 300))).date(), f"Indicator {k}",
                sources[k % len(sources)], float(rng.randint(10, 100)), rng.choice(list(Direction)),
            )  # fmt: skip
            commitment = agreements.add_commitment(conn, actor, areas[k % len(areas)]["id"], spec_c, now)
            reporter = world.operator(responsible)
            for q in range(rng.randint(3, 8)):
                at = now - timedelta(days=360 - q * 45 - rng.randint(0, 20))
                agreements.report_progress(
                    conn, reporter, commitment["id"], percent=min(100, 12 * (q + 1)),
                    on_track=rng.random() < 0.8, note="Progress as reported at the quarterly meeting.",
                    value=float(rng.randint(0, 120)), status=None, evidence_sha256=None, now=at,
                )  # fmt: skip
                reports_made += 1
        _operations(conn, world, now, rng)
    return reports_made


def _operations(conn: Any, world: World, now: datetime, rng: random.Random) -> None:
    for k in range(12):
        op_id, starts = new_id(), now - timedelta(days=rng.randint(1, 360))
        conn.execute(
            insert(partner_operations).values(
                id=op_id, name=f"Operation {k}", objective="bench", status="closed", starts_at=starts,
                ends_at=starts + timedelta(days=2), agreement_id=world.agreement_id,
                lead_agency_id=world.parties[1], commander="bench", area=None, province="GP",
                municipality="JHB", tlp=1, classification=0, caveats=[], briefing="bench", debrief="bench",
                created_by="bench", created_at=starts, updated_at=starts,
            )
        )  # fmt: skip
        outcomes = [
            {"operation_id": op_id, "kind": rng.choice(OUTCOMES), "quantity": rng.randint(1, 12),
             "description": "bench", "at": starts + timedelta(hours=6), "recorded_by": "bench"}
            for _ in range(5)
        ]  # fmt: skip
        conn.execute(insert(partner_operation_outcomes), outcomes)


def previous_quarter(now: datetime) -> Quarter:
    """The last complete calendar quarter: the one a quarterly meeting reviews."""
    number = (now.month - 1) // 3 + 1
    return Quarter(now.year - 1, 4) if number == 1 else Quarter(now.year, number - 1)


def bench_report(db: Database, world: World, runs: int, now: datetime) -> dict[str, Any]:
    """Build, CSV and PDF of the agreement's quarterly report, up to `runs` times; and what each
    platform figure costs once, since the report asks for one per commitment that names it."""
    viewer, quarter = world.operator(world.parties[1]), previous_quarter(now)
    timings: dict[str, list[float]] = {"build": [], "csv": [], "pdf": [], "total": []}
    budget = time.perf_counter() + REPORT_BUDGET_S
    for n in range(runs + 1):
        if n > 3 and time.perf_counter() > budget:
            break
        t0 = time.perf_counter()
        with db.read() as conn:
            report = reports.build(conn, viewer, world.agreement_id, quarter, now)
        t1 = time.perf_counter()
        csv_text = reports.to_csv(report)
        t2 = time.perf_counter()
        pdf = reports.to_pdf(report)
        t3 = time.perf_counter()
        if n:  # the first run warms caches and imports
            for name, seconds in (("build", t1 - t0), ("csv", t2 - t1), ("pdf", t3 - t2), ("total", t3 - t0)):
                timings[name].append(seconds)
    per_source: dict[str, float] = {}
    with db.read() as conn:
        detail = agreements.detail(conn, viewer, world.agreement_id, now)
        commitments = [c for area in detail["areas"] for c in area["commitments"]]
        uses = {s: sum(c["source"] == s for c in commitments) for s in SOURCES}
        pairs = {(c["source"], c["responsible_agency_id"]) for c in commitments if c["source"] in SOURCES}
        for source in SOURCES:
            one = next(c for c in commitments if c["source"] == source)
            once = sample(partial(platform_figure, conn, one, quarter, now), 3)
            per_source[source] = round(sorted(once)[1] * 1000, 2)
    return {
        "quarter": quarter.label,
        "rows": len(report.rows),
        "rows_with_platform_figure": sum(r.platform_value is not None for r in report.rows),
        "csv_bytes": len(csv_text),
        "pdf_bytes": len(pdf),
        "runs": len(timings["total"]),
        **{name: _ms(seconds) for name, seconds in timings.items()},
        "platform_figure_ms_once": per_source,
        "commitments_per_source": uses,
        "figures_ms_per_report": round(sum(per_source[s] * uses[s] for s in SOURCES), 1),
        # What the figures would cost if a build asked each (source, party) once, not per row.
        "figures_ms_once_per_source_and_party": round(sum(per_source[s] for s, _ in pairs), 1),
    }


def _ms(seconds: Sequence[float]) -> dict[str, float]:
    ms = sorted(s * 1000 for s in seconds)
    return {"p50_ms": round(percentile(ms, 50), 2), "p95_ms": round(percentile(ms, 95), 2),
            "p99_ms": round(percentile(ms, 99), 2), "max_ms": round(ms[-1], 2)}  # fmt: skip


# --- community alerts ------------------------------------------------------------------------


def _followers(db: Database, world: World, n: int, now: datetime, rng: random.Random) -> None:
    """`n` people who follow the Hillbrow area (half by a cell in it, three in ten by the
    municipality, one in ten both, one in ten CPF members by patrol area) and 30 % more who
    follow elsewhere. Everyone has a phone."""
    groups = [("cell", 0.5), ("municipality", 0.3), ("both", 0.1), ("cpf", 0.1), ("elsewhere", 0.3)]
    users: list[tuple[Any, ...]] = []
    roles: list[tuple[str, str]] = []
    subs: list[tuple[Any, ...]] = []
    serial = 0
    for kind, share in groups:
        for _ in range(int(n * share)):
            user_id, serial = new_id(), serial + 1
            agency = None
            if kind == "cpf":
                agency = world.cpfs[rng.randrange(10)]
            elif kind == "elsewhere" and rng.random() < 0.1:
                agency = world.cpfs[10 + rng.randrange(10)]
            users.append(
                (user_id, f"person{serial}", f"Person {serial}", f"+2783{serial:07d}", agency, 0, True, now)
            )
            roles.append((user_id, "community_partner" if agency else "resident"))
            if kind in ("cell", "both"):
                subs.append((user_id, "cell", rng.choice(AREA_CELLS), now))
            if kind in ("municipality", "both"):
                subs.append((user_id, "municipality", "JHB", now))
            if kind == "elsewhere" and not agency:
                subs.append(
                    (user_id, *rng.choice([("municipality", "TSH"), ("cell", rng.choice(ELSEWHERE))]), now)
                )
    patrols = [
        (cpf, cell)
        for k, cpf in enumerate(world.cpfs)
        for cell in rng.sample(AREA_CELLS if k < 10 else ELSEWHERE, 4)
    ]
    _bulk(
        db, "users", "id, username, display_name, phone, agency_id, clearance, is_active, created_at", users
    )
    _bulk(db, "user_roles", "user_id, role", roles)
    _bulk(db, "community_subscriptions", "user_id, kind, value, created_at", subs)
    _bulk(db, "community_patrol_areas", "agency_id, cell", patrols)


def _bulk(db: Database, table: str, columns: str, rows: Sequence[Sequence[Any]]) -> None:
    """COPY on PostgreSQL; one multi-row INSERT on SQLite."""
    if not db.is_sqlite:
        with _copy(db.url, table, columns) as write:
            for row in rows:
                write(row)
        return
    names = columns.split(", ")
    with db.write() as conn:
        conn.execute(insert(metadata.tables[table]), [dict(zip(names, row, strict=True)) for row in rows])


@dataclass
class CountingSms:
    """The SMS port as a gateway adapter would take messages, counting them (no network)."""

    sent: int = 0

    def available(self) -> bool:
        return True

    def send(self, phone: str, message: str) -> None:
        self.sent += 1


@dataclass
class CountingPush:
    sent: int = 0

    def push(self, user_id: str, title: str, body: str) -> None:
        self.sent += 1


def _draft(headline: str, cells: Sequence[str], municipality: str | None = "JHB") -> AlertDraft:
    return AlertDraft(
        headline=headline, description="Armed robberies of commuters since Friday evening.",
        area_desc="Hillbrow and surrounds", instruction="Travel in groups after dark.",
        cells=tuple(cells), province="GP", municipality=municipality,
    )  # fmt: skip


async def _deliver(db: Database, world: World, expected: int) -> dict[str, Any]:
    """Issue one alert and wait until its version is told to everyone (the consumer's mark)."""
    bus, sms, push = InProcessBus(), CountingSms(), CountingPush()
    relay = OutboxRelay(db, bus)
    while await relay.relay_once():  # earlier events (agreement changes) reach no one
        pass
    consumer = delivery.CommunityAlertDelivery(db, bus, sms, push, sweep_seconds=3600)
    await consumer.start()
    actor = world.operator(world.parties[1])
    try:
        started = time.perf_counter()

        def issue() -> str:
            with db.write() as conn:
                return str(
                    community.issue(conn, actor, _draft("Robberies at the taxi rank", AREA_CELLS), _now())[
                        "id"
                    ]
                )

        alert_id = await asyncio.to_thread(issue)
        issued = time.perf_counter() - started
        await relay.relay_once()

        def complete() -> bool:
            with db.read() as conn:
                return delivery.is_complete(conn, alert_id, 1)

        # Completion is the consumer's mark in the database; polling it is what the API offers.
        while not await asyncio.to_thread(complete):  # noqa: ASYNC110 - no event to wait on
            await asyncio.sleep(0.02)
        seconds = time.perf_counter() - started
    finally:
        await consumer.stop()
    with db.read() as conn:
        counts = community.delivery_counts(conn, alert_id, 1)
    if sms.sent != expected or push.sent != expected or counts != {"sms": expected, "push": expected}:
        raise RuntimeError(f"expected {expected} texts and pushes, got {sms.sent}, {push.sent}, {counts}")
    return {
        "alert_id": alert_id,
        "recipients": expected,
        "texts": sms.sent,
        "pushes": push.sent,
        "issue_ms": round(issued * 1000, 1),
        "issue_to_complete_s": round(seconds, 2),
        "recipients_per_s": round(expected / seconds, 0),
        "sends_per_s": round((sms.sent + push.sent) / seconds, 0),
        "ms_per_recipient": round(seconds * 1000 / expected, 3),
        "transactions": "one per send (the delivery record), plus the plan and the completion mark",
    }


def _now() -> datetime:
    return datetime.now(UTC)


def bench_lookup_and_feed(db: Database, world: World, alert_id: str, sizes: Sizes) -> dict[str, Any]:
    """Who follows the alert (one query), then the CAP/Atom feed with `feed_alerts` in force."""
    with db.read() as conn:
        alert = community.get(conn, alert_id)
        found = sample(lambda: community.recipients(conn, alert), 20, warmup=2)
        count = len(community.recipients(conn, alert))
    actor, rng = world.operator(world.parties[1]), random.Random(9)
    with db.write() as conn:
        for k in range(sizes.feed_alerts - 1):  # the delivered alert is in force too
            cells = rng.sample(AREA_CELLS, rng.randint(1, 7))
            community.issue(
                conn, actor, _draft(f"Warning {k}: stay alert", cells, rng.choice(["JHB", None])), _now()
            )

    def feed(limit: int) -> bytes:
        with db.read() as conn:
            alerts = community.recent(conn, _now(), limit=limit)
        return cap_feed.feed(alerts, "https://khusela.example/api/partners/community-alerts.cap", _now())

    return {
        "recipients": count,
        "recipients_query": summarise(found).as_dict(2),
        "alerts_in_force": sizes.feed_alerts,
        "feed_as_served_100_newest": summarise(sample(lambda: feed(100), 10, warmup=1)).as_dict(1),
        "feed_all_200": summarise(sample(lambda: feed(200), 10, warmup=1)).as_dict(1),
        "feed_bytes_200": len(feed(200)),
    }


def _delivery_on_sqlite(path: Path, followers: int, now: datetime, rng: random.Random) -> dict[str, Any]:
    """The same delivery on the embedded default (SQLite file, synchronous=FULL)."""
    db = Database(f"sqlite:///{path}")
    try:
        upgrade(db)
        world = _agencies(db, now, extra=0)
        _followers(db, world, followers, now, rng)
        return asyncio.run(_deliver(db, world, followers))
    finally:
        db.dispose()


# --- agreement rules ---------------------------------------------------------------------------


def _load_agreements(db: Database, world: World, n: int, now: datetime, rng: random.Random) -> list[str]:
    """`n` agreements between random agencies: most active, 1-3 areas each, some ended."""
    with db.read() as conn:
        pool = [a for a in conn.execute(select(agencies.c.id)).scalars() if a not in world.cpfs]
    rows, parties, areas = [], [], []
    for k in range(n):
        agreement_id = new_id()
        status = rng.choices(list(AgreementStatus), [15, 70, 5, 5, 5])[0]
        signed = (
            (now - timedelta(days=rng.randint(1, 900))).date()
            if status is not AgreementStatus.DRAFT
            else None
        )
        ends = (now + timedelta(days=rng.randint(-200, 700))).date() if rng.random() < 0.4 else None
        rows.append({
            "id": agreement_id, "title": f"Agreement {k}", "type": "mou", "status": status.value,
            "signed_on": signed, "review_on": None, "ends_on": ends, "province": "GP", "municipality": None,
            "summary": "", "created_by": "bench", "created_at": now, "updated_at": now,
        })  # fmt: skip
        parties += [
            {"agreement_id": agreement_id, "agency_id": a} for a in rng.sample(pool, rng.randint(2, 3))
        ]
        areas += [
            {"id": new_id(), "agreement_id": agreement_id, "kind": kind.value, "title": "bench",
             "description": ""}
            for kind in rng.sample(list(AreaKind), rng.randint(1, 3))
        ]  # fmt: skip
    with db.write() as conn:
        conn.execute(insert(partner_agreements), rows)
        conn.execute(insert(partner_agreement_parties), parties)
        conn.execute(insert(partner_areas), areas)
        conn.execute(text("ANALYZE"))
    return pool


def bench_rules(db: Database, world: World, pool: Sequence[str], calls: int) -> dict[str, Any]:
    """Each rule `calls` times for random agencies, one call per timing, as a request makes it."""
    rng = random.Random(4)
    viewers = [world.operator(a, Jurisdiction(municipalities=frozenset({"EKU"}))) for a in pool[:50]]
    out: dict[str, Any] = {}
    with db.read() as conn:
        with db.read() as probe:
            grants = sum(
                len(rules.partners_of(probe, v.agency_id, (AreaKind.CCTV_INTEGRATION,)))
                for v in viewers
                if v.agency_id
            )

        def partners_of() -> None:
            rules.partners_of(conn, rng.choice(pool), (AreaKind.CCTV_INTEGRATION,))

        def dispatch_partners() -> None:
            rules.dispatch_partners(conn, [rng.choice(pool), rng.choice(pool)])

        def camera_grant() -> None:
            viewer = rng.choice(viewers)
            conn.execute(
                select(cameras.c.id).where(read_filter(viewer, Action.CCTV_READ, camera_columns(viewer)))
            ).all()

        def camera_listing_without_grant() -> None:  # the same listing, the viewer's own scope only
            viewer = rng.choice(viewers)
            conn.execute(
                select(cameras.c.id).where(read_filter(viewer, Action.CCTV_READ, CAMERA_COLUMNS))
            ).all()

        for name, fn in zip(RULES, (partners_of, dispatch_partners, camera_grant), strict=True):
            out[name] = summarise(sample(fn, calls, warmup=20)).as_dict(3)
        out["camera_listing_without_grant"] = summarise(
            sample(camera_listing_without_grant, calls, 20)
        ).as_dict(3)
    out["camera_owners_granted_to_50_viewers"] = grants
    return out


# --- anonymous tips --------------------------------------------------------------------------------


def bench_tips(url: str, n: int) -> dict[str, Any]:
    """`n` tips submitted one after another through the app, then each read back by its code."""
    limit = RateLimit.ANONYMOUS_PER_MINUTE
    RateLimit.ANONYMOUS_PER_MINUTE = 10**9  # the bench is one address; the limit is 20/minute
    try:
        with tempfile.TemporaryDirectory(prefix="khusela-partners-bench-") as tmp:
            settings = Settings(
                environment="test", database_url=url, data_dir=Path(tmp), rate_limit_per_minute=10**9,
                bus_url="inprocess://", redis_url=None, log_level="WARNING",
            )  # fmt: skip
            db = Database(url, pool_size=4)
            try:
                with TestClient(create_app(bootstrap(settings, db=db, bus=InProcessBus()))) as client:
                    return _tips_through(client, n)
            finally:
                db.dispose()
    finally:
        RateLimit.ANONYMOUS_PER_MINUTE = limit


def _tips_through(client: TestClient, n: int) -> dict[str, Any]:
    body = {
        "category": "drugs",
        "province": "GP",
        "municipality": "JHB",
        "body": "A house on the corner sells drugs to learners after school, most days from 3 pm.",
    }
    codes, submit = [], []
    started = time.perf_counter()
    for _ in range(n):
        t0 = time.perf_counter()
        response = client.post("/api/partners/tips", json=body)
        submit.append(time.perf_counter() - t0)
        response.raise_for_status()
        codes.append(response.json()["tracking_code"])
    submit_s = time.perf_counter() - started
    reads = []
    for code in codes:
        t0 = time.perf_counter()
        client.get(f"/api/partners/tips/{code}").raise_for_status()
        reads.append(time.perf_counter() - t0)
    return {
        "tips": n,
        "submit_per_s": round(n / submit_s, 1),
        "submit": summarise(submit).as_dict(2),
        "read_by_code": summarise(reads).as_dict(2),
        "client": "one client, sequential, in-process TestClient (no socket)",
    }


# --- run -------------------------------------------------------------------------------------------


def run(sizes: Sizes) -> dict[str, Any]:
    rng, now = random.Random(2026), _now()
    figures: dict[str, Any] = {"sizes": asdict(sizes)}
    with throwaway_database(prefix="khusela_bench_partners") as url:
        figures["postgres"] = postgres_info(url)
        db = Database(url, pool_size=8)
        try:
            world = _agencies(db, now, extra=300)
            owners = world.parties + world.stations
            t0 = time.perf_counter()
            progress(f"loading {sizes.alerts:,} alerts, {sizes.cameras} cameras, {sizes.intel_items:,} items")
            _load_alerts(url, sizes.alerts, owners, now, rng)
            changes = _load_cameras(url, sizes.cameras, owners, now, rng)
            shares = _load_intel(url, sizes.intel_items, owners, now, rng)
            progress("recording the agreement: 13 areas, 150 commitments, their progress")
            made = _agreement(db, world, sizes, now, rng)
            _followers(db, world, sizes.followers, now, rng)
            with db.write() as conn:
                conn.execute(text("ANALYZE"))
            figures["load"] = {
                "seconds": round(time.perf_counter() - t0, 1),
                "camera_status_changes": changes,
                "intel_shares": shares,
                "progress_reports": made,
            }
            progress(f"quarterly report, {sizes.report_runs} runs")
            figures["report"] = bench_report(db, world, sizes.report_runs, now)
            progress(f"community alert to {sizes.followers:,} followers")
            figures["delivery"] = asyncio.run(_deliver(db, world, sizes.followers))
            progress("recipients and the CAP feed")
            figures["lookup"] = bench_lookup_and_feed(db, world, figures["delivery"]["alert_id"], sizes)
            progress(f"agreement rules over {sizes.agreements:,} agreements")
            pool = _load_agreements(db, world, sizes.agreements, now, rng)
            figures["rules"] = bench_rules(db, world, pool, sizes.rule_calls)
        finally:
            db.dispose()
    with tempfile.TemporaryDirectory(prefix="khusela-partners-bench-") as tmp:
        progress(f"community alert to {sizes.followers:,} followers on SQLite (the embedded default)")
        figures["delivery_sqlite"] = _delivery_on_sqlite(Path(tmp) / "khusela.db", sizes.followers, now, rng)
    # Its own database: the app's background services would otherwise deliver the feed's
    # 200 alerts (their events wait in the outbox) while the tips are timed.
    with throwaway_database(prefix="khusela_bench_partners_tips") as url:
        progress(f"{sizes.tips:,} anonymous tips through the app")
        figures["tips"] = bench_tips(url, sizes.tips)
    return figures


def targets_of(figures: dict[str, Any]) -> list[Target]:
    r, d, rules_ = figures["report"], figures["delivery"], figures["rules"]
    worst_rule = max(
        rules_[k]["p99_ms"] for k in ("partners_of", "dispatch_partners", "camera_grant_listing")
    )
    return [
        Target("quarterly report (build + CSV + PDF) p95", f"{r['rows']} commitments", r["total"]["p95_ms"],
               2000, "ms", False),
        Target("community alert delivery", f"{d['recipients']:,} followers, issue to complete",
               d["recipients_per_s"], 500, "recipients/s", True),
        Target("agreement rules p99 (worst of three)", f"{figures['sizes']['agreements']:,} agreements",
               worst_rule, 5, "ms", False),
    ]  # fmt: skip


def _pair(a: dict[str, Any], b: dict[str, Any], key: str, digits: int = 2) -> str:
    return f"{fmt(a[key], digits)} / {fmt(b[key], digits)}"


def _p50_p99(summary: dict[str, Any], digits: int = 2) -> str:
    return f"{fmt(summary['p50_ms'], digits)} / {fmt(summary['p99_ms'], digits)}"


def report_table(figures: dict[str, Any]) -> None:
    r, d, lk, ru, t = (figures[k] for k in ("report", "delivery", "lookup", "rules", "tips"))
    sq = figures["delivery_sqlite"]
    sq_rate = fmt(sq["recipients_per_s"], 0)
    build_csv_pdf = " / ".join(fmt(r[k]["p50_ms"], 1) for k in ("build", "csv", "pdf"))
    rates = f"{fmt(d['recipients_per_s'], 0)} ({fmt(d['sends_per_s'], 0)})"
    feed = _pair(lk["feed_as_served_100_newest"], lk["feed_all_200"], "p50_ms", 0)
    rows = [
        ["report build / CSV / PDF p50, ms", build_csv_pdf],
        ["report total p50 / p95, ms", f"{fmt(r['total']['p50_ms'], 0)} / {fmt(r['total']['p95_ms'], 0)}"],
        ["  of which platform figures, ms", fmt(r["figures_ms_per_report"], 0)],
        ["alert delivery: followers / s to complete", f"{d['recipients']:,} / {d['issue_to_complete_s']}"],
        ["alert delivery: recipients/s (sends/s)", rates],
        ["same on SQLite: s to complete / recipients/s", f"{sq['issue_to_complete_s']} / {sq_rate}"],
        ["recipients query p50 / p99, ms", _p50_p99(lk["recipients_query"])],
        ["CAP feed p50: 100 newest / all 200, ms", feed],
        *[[f"{k} p50 / p99, ms", _p50_p99(ru[k], 3)] for k in (*RULES, "camera_listing_without_grant")],
        ["tips submitted/s", fmt(t["submit_per_s"], 0)],
        ["tip submit / read by code p50, ms", _pair(t["submit"], t["read_by_code"], "p50_ms")],
        ["tip submit / read by code p99, ms", _pair(t["submit"], t["read_by_code"], "p99_ms")],
    ]  # fmt: skip
    print_table("Partners on PostgreSQL", ["figure", "value"], rows)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="a tenth of the platform, fewer repetitions")
    args = parser.parse_args(argv)
    exit_cleanly_on_sigterm()
    configure_logging("WARNING", json=False)  # one log line per text and push otherwise
    figures = run(QUICK if args.quick else FULL)
    figures["mode"] = "quick" if args.quick else "full"
    report_table(figures)
    targets = targets_of(figures)
    for t in targets:
        verdict = "ok" if t.passed else "MISSED"
        print(f"target: {t.name}: {fmt(t.value, 2)} {t.unit} (limit {fmt(t.limit, 0)}) {verdict}")
    print(f"wrote {write_results('partners', figures, targets, NOTES)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
