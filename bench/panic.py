"""Panic benchmark: alerts raised over HTTP, committed, and pushed to an operator's console.

    .venv/bin/python bench/panic.py             # full run, about 15 minutes
    .venv/bin/python bench/panic.py --quick     # smaller run, about 2 minutes
    .venv/bin/python bench/panic.py --only postgres --workers 2

The target (issue: panic benchmark): on loopback against `khusela serve` on PostgreSQL and
NATS, sustain >= 1,000 alerts/s for 60 s with p99 accept latency <= 50 ms, p99 accept ->
console push <= 100 ms and zero loss (acknowledged = stored = pushed); the same run on the
embedded default (SQLite, in-process bus) is reported beside it.

For each set-up the benchmark makes a throw-away database (PostgreSQL: KHUSELA_BENCH_PG_URL
is the admin URL; SQLite: a temporary data dir) and, on NATS, a stream and subject prefix of
its own; seeds a provincial command centre (province GP) with one operator, and residents on
demand, one per alert so no press joins another, each with a token written directly (the
server's secret is the benchmark's); starts the real server in a subprocess
(`python -m khusela serve`, or `python -m bench.panic_app --workers N`, the same app in N
Uvicorn workers); connects the operator's console to GET /api/feed (Server-Sent Events, in
a child process, see bench/sse.py); and then drives an open-loop arrival rate of
POST /api/panic/alerts at coordinates spread over Gauteng's municipalities:

1. a short warm-up;
2. rate steps (10 s each) until the server saturates: the first step whose backlog of
   unanswered requests passes 3 s worth of arrivals, or whose achieved rate falls under
   95 % of the offered rate;
3. the target: 1,000 alerts/s for 60 s (stopped early, and said so, if it saturates);
4. when the target cannot be sustained, 60 s at the highest step rate that was.

Open loop: request i is due at t0 + i/rate whether or not earlier ones were answered
(up to 512 connections; a due request waits for a free one). Accept latency is measured
from when the request was due to when its 201 arrived, so a server that falls behind is
charged for the wait (no coordinated omission). Accept -> push is from the 201's arrival
in the load generator to the arrival of the SSE message for that alert id at the console
process; both read the machine's monotonic clock.

After each phase the benchmark waits until the console has seen every acknowledged alert
and the outbox is empty (drain), then counts: acknowledged (201s), stored (in the database
afterwards), pushed (distinct alert ids the console was told were raised), lost =
acknowledged - min(stored, pushed). CPU use of the server, PostgreSQL, NATS, the load
generator and the console, and the outbox backlog, are sampled every second.

Prints tables and writes bench/results/panic.json.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import os
import random
import secrets
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Literal

if __package__ in (None, ""):  # run as a script: make `bench` and `khusela` importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import h3
import httpx
import psycopg
from sqlalchemy import insert, select, update

from bench.common import (
    ROOT,
    Target,
    admin_url_from_env,
    exit_cleanly_on_sigterm,
    fmt,
    machine_cpu_ticks,
    postgres_info,
    print_table,
    process_cpu_seconds,
    processes_cpu_seconds,
    progress,
    summarise,
    throwaway_database,
    write_results,
)
from bench.server import RunningServer, free_port, stop
from bench.sse import ConnectionResult, FeedConsumers, FeedTarget, owners_of_connections
from khusela.bus.tables import outbox
from khusela.core.gazetteer import _cell_index
from khusela.core.ids import new_id
from khusela.identity import directory
from khusela.identity.model import SYSTEM, AgencyType, Jurisdiction, Role
from khusela.identity.sessions import token_digest
from khusela.identity.tables import access_tokens, user_roles, users
from khusela.panic.tables import alerts
from khusela.store.database import Database
from khusela.store.migrate import upgrade

try:
    import uvloop

    _loop_factory: Callable[[], asyncio.AbstractEventLoop] | None = uvloop.new_event_loop
except ImportError:  # pragma: no cover - uvloop comes with uvicorn[standard]
    _loop_factory = None

NAME = "panic"
TARGET_RATE = 1_000.0
TARGET_SECONDS = 60.0
ACCEPT_P99_MS = 50.0
PUSH_P99_MS = 100.0
SECRET = "khusela-bench-panic-pepper"  # noqa: S105 - a throw-away database's pepper
PASSWORD = "bench-operator-password"  # noqa: S105 - a user in a throw-away database
COMMAND_CENTRE = "Gauteng Provincial Command Centre"
ROUTE = "/api/panic/alerts"
ALERT_TYPES = ("crime", "crime", "crime", "medical", "gbv", "fire", "accident", "other")
ACK_TARGET_SECONDS = 86_400
SUSTAINED_FRACTION = 0.95
"""A step is sustained when its achieved rate is at least this share of the offered rate."""

Backend = Literal["postgres", "sqlite"]


@dataclass(frozen=True)
class Config:
    warmup_rate: float
    warmup_seconds: float
    steps: tuple[float, ...]
    step_seconds: float
    target_rate: float
    target_seconds: float
    max_connections: int = 512
    abort_backlog_seconds: float = 3.0
    """Stop a phase once the requests due but unanswered exceed this many seconds of arrivals."""
    request_timeout_seconds: float = 30.0
    drain_timeout_seconds: float = 60.0
    multi_worker_feed_connections: int = 4
    rate_limit_alerts: int = 900
    rate_limit_rate: float = 90.0


FULL = Config(
    warmup_rate=25,
    warmup_seconds=4,
    steps=(25, 50, 100, 150, 200, 300, 400, 600, 800, 1000),
    step_seconds=10,
    target_rate=TARGET_RATE,
    target_seconds=TARGET_SECONDS,
)
QUICK = Config(
    warmup_rate=25,
    warmup_seconds=2,
    steps=(50, 100, 200),
    step_seconds=3,
    target_rate=200,
    target_seconds=10,
)


@dataclass(frozen=True)
class SetUp:
    label: str
    backend: Backend
    bus: Literal["nats", "inprocess"]
    workers: int = 1

    @property
    def description(self) -> str:
        db = "PostgreSQL" if self.backend == "postgres" else "SQLite (embedded)"
        bus = "NATS JetStream" if self.bus == "nats" else "in-process bus"
        how = "khusela serve (1 process)" if self.workers == 1 else f"{self.workers} Uvicorn workers"
        return f"{db} + {bus}, {how}"


PG_NATS = SetUp("postgres_nats", "postgres", "nats")
PG_NATS_2 = SetUp("postgres_nats_2_workers", "postgres", "nats", workers=2)
SQLITE = SetUp("sqlite_inprocess", "sqlite", "inprocess")


# --- seeding ------------------------------------------------------------------------------------


def gauteng_points(n: int, rng: random.Random) -> list[tuple[float, float]]:
    """n points inside Gauteng's municipalities (the bundled gazetteer's H3 res-7 cells)."""
    cells = sorted(_cell_index())
    out = []
    for _ in range(n):
        lat, lon = h3.cell_to_latlng(rng.choice(cells))
        out.append((round(lat + rng.uniform(-0.004, 0.004), 6), round(lon + rng.uniform(-0.004, 0.004), 6)))
    return out


class Residents:
    """Residents made on demand, one per alert, each with a live token written directly."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self.made = 0
        self.seconds = 0.0

    def make(self, n: int) -> list[tuple[str, str]]:
        """n new residents as (user id, token)."""
        started = time.perf_counter()
        now = datetime.now(UTC)
        out: list[tuple[str, str]] = []
        for start in range(0, n, 5_000):
            chunk = range(self.made + start, self.made + min(start + 5_000, n))
            people = [(new_id(), secrets.token_urlsafe(24), i) for i in chunk]
            with self.db.write() as conn:
                conn.execute(
                    insert(users),
                    [
                        {
                            "id": uid,
                            "username": f"bench-resident-{i:07d}",
                            "display_name": f"Bench resident {i}",
                            "phone": f"+2783{i:07d}",
                            "clearance": 0,
                            "is_active": True,
                            "created_at": now,
                        }
                        for uid, _, i in people
                    ],
                )
                conn.execute(
                    insert(user_roles),
                    [{"user_id": uid, "role": Role.RESIDENT.value} for uid, _, _ in people],
                )
                conn.execute(
                    insert(access_tokens),
                    [
                        {
                            "token_hash": token_digest(token, SECRET),
                            "user_id": uid,
                            "created_at": now,
                            "expires_at": now + timedelta(hours=6),
                        }
                        for uid, token, _ in people
                    ],
                )
            out += [(uid, token) for uid, token, _ in people]
        self.made += n
        self.seconds += time.perf_counter() - started
        return out


def seed_operator(db: Database) -> str:
    """The provincial command centre (province GP) and one operator; returns the operator's token."""
    now = datetime.now(UTC)
    token = secrets.token_urlsafe(32)
    with db.write() as conn:
        agency = directory.create_agency(
            conn,
            SYSTEM,
            COMMAND_CENTRE,
            AgencyType.PROVINCIAL_DEPARTMENT,
            Jurisdiction(provinces=frozenset({"GP"})),
        )
        operator = directory.create_user(
            conn,
            SYSTEM,
            username="bench.operator",
            roles=[Role.OPERATOR],
            password=PASSWORD,
            agency_id=agency.id,
        )
        conn.execute(
            insert(access_tokens).values(
                token_hash=token_digest(token, SECRET),
                user_id=operator.user.user_id,
                created_at=now,
                expires_at=now + timedelta(hours=6),
            )
        )
    return token


def press_request(host: str, port: int, token: str, lat: float, lon: float, rng: random.Random) -> bytes:
    body = json.dumps(
        {
            "type": rng.choice(ALERT_TYPES),
            "lat": lat,
            "lon": lon,
            "accuracy_m": rng.randint(5, 60),
            "client_alert_id": uuid.uuid4().hex[:16],
        },
        separators=(",", ":"),
    ).encode()
    head = (
        f"POST {ROUTE} HTTP/1.1\r\nHost: {host}:{port}\r\nUser-Agent: khusela-bench-panic\r\n"
        f"Authorization: Bearer {token}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    )
    return head.encode("latin-1") + body


# --- the server -----------------------------------------------------------------------------------


def _server_env(database_url: str, bus_url: str, data_dir: Path, log_level: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("KHUSELA_")}
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH", "")) if p)
    env.update(
        {
            # The test environment: texts to residents go to the log (LogNotifier) rather than
            # nowhere, as production does until an SMS gateway is configured, so the
            # notification consumer's per-alert work is included.
            "KHUSELA_ENVIRONMENT": "test",
            "KHUSELA_SECRET_KEY": SECRET,
            "KHUSELA_DATABASE_URL": database_url,
            "KHUSELA_BUS_URL": bus_url,
            "KHUSELA_DATA_DIR": str(data_dir),
            "KHUSELA_LOG_LEVEL": log_level,
            # One request per resident: a first request with a token not yet cached counts
            # against the client address, and on loopback every resident shares one address.
            "KHUSELA_RATE_LIMIT_PER_MINUTE": str(10**9),
            # Nobody acknowledges the benchmark's alerts: with the default 30 s target each
            # would escalate (a second write and event per alert) in the middle of a phase.
            "KHUSELA_PANIC_ACK_TARGET_SECONDS": str(ACK_TARGET_SECONDS),
        }
    )
    return env


@contextmanager
def run_server(
    setup: SetUp,
    database_url: str,
    bus_url: str,
    tmp: Path,
    log_level: str,
    env_extra: dict[str, str] | None = None,
) -> Iterator[RunningServer]:
    port = free_port()
    log_path = tmp / f"{setup.label}-server.log"
    env = _server_env(database_url, bus_url, tmp / "data", log_level) | (env_extra or {})
    if setup.workers == 1:
        command = [sys.executable, "-m", "khusela", "serve", "--host", "127.0.0.1", "--port", str(port)]
    else:
        command = [
            sys.executable,
            "-m",
            "bench.panic_app",
            "--port",
            str(port),
            "--workers",
            str(setup.workers),
        ]
    with log_path.open("wb") as log_file:
        process = subprocess.Popen(  # noqa: S603 - our own interpreter and module
            command, cwd=ROOT, env=env, stdout=log_file, stderr=subprocess.STDOUT
        )
    server = RunningServer(process, "127.0.0.1", port, log_path, stop_timeout=10.0)
    try:
        deadline = time.monotonic() + 90
        with httpx.Client(timeout=1.0) as client:
            while True:
                if process.poll() is not None:
                    raise RuntimeError(f"the server exited with {process.returncode}:\n{server.log_tail()}")
                with contextlib.suppress(httpx.TransportError):
                    if client.get(f"{server.base_url}/readyz").status_code == 200:
                        break
                if time.monotonic() > deadline:
                    raise RuntimeError(f"the server did not become ready:\n{server.log_tail()}")
                time.sleep(0.2)
        if setup.workers > 1:
            _wait_for_workers(process.pid, setup.workers)
        yield server
    finally:
        stop(process, server.stop_timeout)


def process_tree(pid: int) -> list[int]:
    """pid and all its descendants (Linux /proc)."""
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        for task in Path(f"/proc/{p}/task").glob("*/children"):
            with contextlib.suppress(OSError):
                todo += [int(c) for c in task.read_text().split()]
    return out


def _python_children(pid: int) -> list[int]:
    out = []
    for p in process_tree(pid)[1:]:
        with contextlib.suppress(OSError):
            cmd = Path(f"/proc/{p}/cmdline").read_bytes()
            if b"multiprocessing.spawn" in cmd and b"resource_tracker" not in cmd:
                out.append(p)
    return out


def _wait_for_workers(pid: int, workers: int, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while len(_python_children(pid)) < workers:
        if time.monotonic() > deadline:
            raise RuntimeError(f"fewer than {workers} workers started")
        time.sleep(0.2)


# --- CPU and backlog ------------------------------------------------------------------------------


@dataclass
class CpuCounters:
    """Cumulative CPU seconds at one moment."""

    at: float
    server: float
    postgres: dict[int, float]
    """Every PostgreSQL process's CPU seconds (all databases on the cluster), by pid."""
    postgres_ours: set[int]
    """The pids serving the benchmark's database, and the cluster's background processes."""
    nats: float
    client: float
    console: float
    machine_busy: int
    machine_total: int


def pg_pids_query(database_url: str) -> Callable[[], set[int]]:
    dsn = database_url.replace("postgresql+psycopg://", "postgresql://")
    conn = psycopg.connect(dsn, autocommit=True)
    lock = threading.Lock()
    query = (
        "SELECT pid FROM pg_stat_activity "
        "WHERE datname = current_database() OR backend_type <> 'client backend'"
    )

    def pids() -> set[int]:
        with lock:
            return {int(r[0]) for r in conn.execute(query)}

    return pids


class Probe:
    """CPU use of everything involved, and the outbox backlog, sampled every second."""

    def __init__(
        self,
        server_pid: int,
        console_pid: int | None,
        backlog: Callable[[], int],
        pg_pids: Callable[[], set[int]] | None = None,
    ) -> None:
        self.server_pid, self.console_pid, self._backlog = server_pid, console_pid, backlog
        self._pg_pids = pg_pids
        self._lock = threading.Lock()
        self.samples: list[dict[str, Any]] = []
        self.phase = "idle"
        self.acked = 0
        self.pushed: Callable[[], int] = lambda: 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="probe", daemon=True)
        self._t0 = time.monotonic()

    def counters(self) -> CpuCounters:
        server = sum(process_cpu_seconds(p) or 0.0 for p in process_tree(self.server_pid))
        console = process_cpu_seconds(self.console_pid) if self.console_pid else None
        machine = machine_cpu_ticks() or (0, 0)
        ours: set[int] = set()
        if self._pg_pids is not None:
            with self._lock, contextlib.suppress(Exception):
                ours = self._pg_pids()
        return CpuCounters(
            at=time.monotonic(),
            server=server,
            postgres=processes_cpu_seconds("postgres"),
            postgres_ours=ours,
            nats=sum(processes_cpu_seconds("nats-server").values()),
            client=time.process_time(),
            console=console or 0.0,
            machine_busy=machine[0],
            machine_total=machine[1],
        )

    def backlog(self) -> int | None:
        try:
            with self._lock:
                return self._backlog()
        except Exception:
            return None

    def start(self) -> Probe:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(5)

    def _run(self) -> None:
        before = self.counters()
        while not self._stop.wait(1.0):
            now = self.counters()
            sample = {"t": round(now.at - self._t0, 2), "phase": self.phase, **cpu_between(before, now)}
            sample.update(outbox_backlog=self.backlog(), acknowledged=self.acked, pushed=self.pushed())
            self.samples.append(sample)
            before = now


def cpu_between(a: CpuCounters, b: CpuCounters) -> dict[str, float | None]:
    """CPU use between two moments, in % of one core (the machine: of all its cores together)."""
    wall = b.at - a.at
    if wall <= 0:
        return {}

    def pct(seconds: float) -> float:
        return round(100.0 * seconds / wall, 1)

    # A pid absent from the first reading started since: all its CPU time falls in between.
    pg_each = {pid: cpu - a.postgres.get(pid, 0.0) for pid, cpu in b.postgres.items()}
    pg_all = sum(pg_each.values())
    ours = a.postgres_ours | b.postgres_ours
    pg_ours = sum(v for pid, v in pg_each.items() if pid in ours) if ours else None
    out: dict[str, float | None] = {
        "wall_seconds": round(wall, 3),
        "server_cpu_pct": pct(b.server - a.server),
        "postgres_cpu_pct": pct(pg_ours if pg_ours is not None else pg_all),
        "postgres_all_databases_cpu_pct": pct(pg_all),
        "nats_cpu_pct": pct(b.nats - a.nats),
        "client_cpu_pct": pct(b.client - a.client),
        "console_cpu_pct": pct(b.console - a.console),
        "machine_busy_pct": None,
        "other_processes_cpu_pct": None,
    }
    if b.machine_total > a.machine_total:
        cores = os.cpu_count() or 1
        busy = 100.0 * cores * (b.machine_busy - a.machine_busy) / (b.machine_total - a.machine_total)
        ours_total = (b.server - a.server) + pg_all + (b.nats - a.nats) + (b.client - a.client)
        ours_total += b.console - a.console
        out["machine_busy_pct"] = round(busy, 1)
        out["other_processes_cpu_pct"] = round(max(busy - pct(ours_total), 0.0), 1)
    return out


ACTIVITY_QUERY = """
SELECT state, wait_event_type, wait_event, count(*)
FROM pg_stat_activity
WHERE datname = current_database() AND pid <> pg_backend_pid() AND backend_type = 'client backend'
GROUP BY 1, 2, 3
"""
HOLDERS_QUERY = """
WITH waiting AS (
    SELECT DISTINCT unnest(pg_blocking_pids(pid)) AS holder
    FROM pg_stat_activity
    WHERE datname = current_database() AND wait_event_type = 'Lock'
)
SELECT h.state, h.wait_event_type, h.wait_event, count(*)
FROM waiting JOIN pg_stat_activity h ON h.pid = waiting.holder
WHERE NOT (h.wait_event_type IS NOT DISTINCT FROM 'Lock')
GROUP BY 1, 2, 3
"""


def _activity_key(state: str | None, wait_type: str | None, wait_event: str | None) -> str:
    """'active: on CPU', 'active: Lock/transactionid', 'idle in transaction: Client/ClientRead', ..."""
    where = f"{wait_type}/{wait_event}" if wait_type else "on CPU"
    return f"{state or 'unknown'}: {where}"


class PgActivity:
    """What the server's PostgreSQL sessions are doing, sampled 10 times a second.

    Two views per phase: the mean number of sessions in each state (executing, waiting for
    a lock, waiting for the WAL flush, idle inside a transaction, i.e. waiting for the
    application), and, among sessions that hold a lock someone else waits for (the audit
    head row, in practice), what the holder is doing at that moment.
    """

    def __init__(self, database_url: str, phase: Callable[[], str]) -> None:
        self._dsn = database_url.replace("postgresql+psycopg://", "postgresql://")
        self._phase = phase
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="pg-activity", daemon=True)
        self.samples: dict[str, list[tuple[dict[str, int], dict[str, int]]]] = {}

    def start(self) -> PgActivity:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(5)

    def _run(self) -> None:
        with psycopg.connect(self._dsn, autocommit=True) as conn:
            while not self._stop.wait(0.1):
                phase = self._phase()
                if phase == "idle":
                    continue
                sessions = {_activity_key(*r[:3]): int(r[3]) for r in conn.execute(ACTIVITY_QUERY)}
                holders = {_activity_key(*r[:3]): int(r[3]) for r in conn.execute(HOLDERS_QUERY)}
                self.samples.setdefault(phase, []).append((sessions, holders))

    def summary(self, phase: str) -> dict[str, Any]:
        samples = self.samples.get(phase, [])
        if not samples:
            return {}
        n = len(samples)
        sessions: dict[str, float] = {}
        holders: dict[str, float] = {}
        for s, h in samples:
            for k, v in s.items():
                sessions[k] = sessions.get(k, 0.0) + v / n
            total = sum(h.values())
            for k, v in h.items():
                holders[k] = holders.get(k, 0.0) + v / total
        held = sum(1 for _, h in samples if h)
        return {
            "samples": n,
            "mean_sessions": {k: round(v, 2) for k, v in sorted(sessions.items(), key=lambda kv: -kv[1])},
            "samples_with_lock_waiters": held,
            "lock_holder_doing": {
                k: round(v / held, 3) for k, v in sorted(holders.items(), key=lambda kv: -kv[1])
            }
            if held
            else {},
        }


def backlog_query(setup: SetUp, database_url: str) -> Callable[[], int]:
    query = "SELECT count(*) FROM outbox WHERE published_at IS NULL"
    if setup.backend == "postgres":
        dsn = database_url.replace("postgresql+psycopg://", "postgresql://")
        conn = psycopg.connect(dsn, autocommit=True)

        def pg() -> int:
            row = conn.execute(query).fetchone()
            return int(row[0]) if row else 0

        return pg
    path = database_url.removeprefix("sqlite:///")
    lite = sqlite3.connect(f"file:{path}?mode=ro", uri=True, check_same_thread=False, timeout=5)

    def sqlite() -> int:
        return int(lite.execute(query).fetchone()[0])

    return sqlite


# --- the open-loop load generator ---------------------------------------------------------------


@dataclass(slots=True)
class Press:
    due: float
    resident_id: str
    sent: float = math.nan
    done: float = math.nan
    status: int = 0
    alert_id: str | None = None
    error: str | None = None


KEEP_ALIVE_SECONDS = 4.0
"""Reuse an idle connection only if it was used this recently: Uvicorn closes keep-alive
connections idle for 5 s, and a request written as it closes one is lost in transit."""


class _Connection:
    def __init__(self) -> None:
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None
        self.used = 0.0

    @property
    def reused(self) -> bool:
        return self.writer is not None

    async def request(self, host: str, port: int, data: bytes) -> tuple[int, bytes]:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(host, port)
        reader, writer = self.reader, self.writer
        assert reader is not None
        writer.write(data)
        head = await reader.readuntil(b"\r\n\r\n")
        status = int(head[9:12])
        lower = head.lower()
        at = lower.find(b"\r\ncontent-length:")
        body = b""
        if at >= 0:
            end = lower.index(b"\r\n", at + 2)
            length = int(lower[at + 17 : end])
            body = await reader.readexactly(length) if length else b""
        if b"\r\nconnection: close" in lower:
            self.close()
        self.used = time.monotonic()
        return status, body

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None


class Generator:
    """Open-loop POSTs over a pool of keep-alive connections (opened as needed, up to a cap).

    A request that finds its reused keep-alive connection closed by the server before any
    answer is sent again once on a new connection, as the app would: the press carries
    its `client_alert_id`, so a repeat can only return the same alert (200), never a second.
    """

    def __init__(self, host: str, port: int, cfg: Config, probe: Probe) -> None:
        self.host, self.port, self.cfg, self.probe = host, port, cfg, probe
        self.idle: list[_Connection] = []
        self.slots = asyncio.Semaphore(cfg.max_connections)
        self.retried = 0

    def _take(self) -> _Connection:
        while self.idle:
            conn = self.idle.pop()
            if time.monotonic() - conn.used < KEEP_ALIVE_SECONDS:
                return conn
            conn.close()
        return _Connection()

    async def _send(self, press: Press, data: bytes) -> tuple[int, bytes] | None:
        conn = self._take()
        for attempt in (1, 2):
            reused = conn.reused
            try:
                async with asyncio.timeout(self.cfg.request_timeout_seconds):
                    answer = await conn.request(self.host, self.port, data)
            except TimeoutError:
                press.error = "timeout"
            except (ConnectionResetError, asyncio.IncompleteReadError) as exc:
                conn.close()
                if reused and attempt == 1 and not getattr(exc, "partial", b""):
                    self.retried += 1
                    continue
                press.error = type(exc).__name__
            except (OSError, asyncio.LimitOverrunError, ValueError) as exc:
                press.error = type(exc).__name__
            else:
                self.idle.append(conn)
                return answer
            conn.close()
            return None
        return None

    async def one(self, press: Press, data: bytes) -> None:
        async with self.slots:
            press.sent = time.monotonic()
            answer = await self._send(press, data)
        if answer is None:
            return
        press.done = time.monotonic()
        press.status, body = answer
        if press.status in (200, 201):
            at = body.find(b'"id":"')
            if at >= 0:
                press.alert_id = body[at + 6 : body.index(b'"', at + 6)].decode()
            self.probe.acked += 1

    async def phase(self, rate: float, seconds: float, requests: Sequence[tuple[str, bytes]]) -> PhaseRun:
        n = min(len(requests), round(rate * seconds))
        presses: list[Press] = []
        tasks: list[asyncio.Task[None]] = []
        t0 = time.monotonic() + 0.05
        limit = max(rate * self.cfg.abort_backlog_seconds, 50)
        saturated_after: float | None = None
        unanswered = 0

        def answered(_task: asyncio.Task[None]) -> None:
            nonlocal unanswered
            unanswered -= 1

        for i in range(n):
            due = t0 + i / rate
            delay = due - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            if unanswered > limit:
                saturated_after = time.monotonic() - t0
                break
            resident_id, data = requests[i]
            press = Press(due, resident_id)
            presses.append(press)
            unanswered += 1
            task = asyncio.create_task(self.one(press, data))
            task.add_done_callback(answered)
            tasks.append(task)
        issued_until = time.monotonic()
        await asyncio.gather(*tasks)
        return PhaseRun(rate, seconds, t0, issued_until, presses, saturated_after, self.retried)

    async def close(self) -> None:
        for conn in self.idle:
            conn.close()
        self.idle.clear()


@dataclass
class PhaseRun:
    rate: float
    seconds: float
    t0: float
    issued_until: float
    presses: list[Press]
    saturated_after: float | None
    resent: int = 0
    """Requests sent again after their reused keep-alive connection turned out closed."""


# --- where the server's CPU goes (optional: py-spy) ---------------------------------------------

PROFILE_RULES: tuple[tuple[str, bool, tuple[str, ...]], ...] = (
    # (activity, match the leaf frame only?, needles): the first rule that matches wins.
    ("audit append (head-row lock, hash, inserts)", False, ("khusela/audit/log.py",)),
    ("panic intake: raise_alert, other statements", False, ("khusela/panic/intake.py",)),
    ("answer: resident_view query", False, ("khusela/panic/resident_view.py",)),
    ("authentication: token lookup on a cache miss", False, ("khusela/identity/authenticator.py",)),
    (
        "commit / rollback",
        False,
        ("commit (sqlalchemy/engine/base.py", "rollback (sqlalchemy/engine/base.py"),
    ),
    ("pool checkout and pre-ping", False, ("sqlalchemy/pool/",)),
    ("outbox relay", False, ("khusela/bus/outbox.py",)),
    ("NATS client (publish, pull, ack)", False, ("nats/",)),
    ("live feed (FeedHub)", False, ("khusela/api/feed.py",)),
    ("resident notifications", False, ("khusela/panic/notify.py",)),
    ("escalation timer", False, ("khusela/panic/escalation.py",)),
    ("logging (access log and others, structlog)", False, ("structlog/",)),
    ("SQL elsewhere (SQLAlchemy, psycopg)", True, ("sqlalchemy/", "psycopg/")),
    ("request validation, response serialisation (FastAPI, pydantic)", True, ("fastapi/", "pydantic")),
    ("thread hand-off (anyio, threading, executor)", True, ("anyio/", "threading.py", "concurrent/futures")),
    ("HTTP and event loop (uvicorn, starlette, asyncio)", True, ("uvicorn/", "starlette/", "asyncio/")),
)


class Profiler:
    """`py-spy record --gil` on the server: only the thread holding the GIL is sampled, so the
    profile shows where the server's Python CPU time goes."""

    def __init__(self, py_spy: str, pids: Sequence[int], seconds: float) -> None:
        self.out = Path(tempfile.mkstemp(prefix="khusela-pyspy-", suffix=".txt")[1])
        self.processes = [
            subprocess.Popen(  # noqa: S603 - the py-spy the user named
                [
                    py_spy,
                    "record",
                    "--pid",
                    str(pid),
                    "--rate",
                    "200",
                    "--duration",
                    str(max(1, int(seconds))),
                    "--gil",
                    "--nonblocking",
                    "--format",
                    "raw",
                    "--output",
                    f"{self.out}.{pid}",
                ],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            for pid in pids
        ]
        self.pids = list(pids)

    def finish(self) -> dict[str, Any]:
        for process in self.processes:
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(30)
        stacks: list[tuple[str, int]] = []
        for pid in self.pids:
            path = Path(f"{self.out}.{pid}")
            with contextlib.suppress(OSError):
                for line in path.read_text().splitlines():
                    stack, _, count = line.rpartition(" ")
                    if stack and count.isdigit():
                        stacks.append((stack, int(count)))
                path.unlink()
        self.out.unlink(missing_ok=True)
        return summarise_profile(stacks)


def summarise_profile(stacks: Sequence[tuple[str, int]]) -> dict[str, Any]:
    """Share of the GIL-holding samples by the first matching rule, and the top leaf functions."""
    total = sum(n for _, n in stacks)
    if not total:
        return {"samples": 0}
    shares: dict[str, int] = {}
    leaves: dict[str, int] = {}
    for stack, n in stacks:
        leaf = stack.rsplit(";", 1)[-1]
        name = next(
            (
                name
                for name, leaf_only, needles in PROFILE_RULES
                if any(x in (leaf if leaf_only else stack) for x in needles)
            ),
            "other",
        )
        shares[name] = shares.get(name, 0) + n
        leaves[leaf] = leaves.get(leaf, 0) + n
    top = sorted(leaves.items(), key=lambda kv: -kv[1])[:15]
    return {
        "samples": total,
        "share_by_activity": {
            k: round(v / total, 3) for k, v in sorted(shares.items(), key=lambda kv: -kv[1])
        },
        "top_leaf_functions": [{"function": f, "share": round(n / total, 3)} for f, n in top],
    }


# --- one set-up -----------------------------------------------------------------------------------


@dataclass
class Phase:
    label: str
    kind: Literal["warmup", "step", "target", "sustained_max"]
    run: PhaseRun
    cpu: dict[str, float | None]
    server_latencies: list[float]
    drain_seconds: float
    drained: bool
    backlog_max: int | None
    profile: dict[str, Any] | None = None


class Bench:
    """Runs the phases of one set-up against one running server."""

    def __init__(
        self,
        setup: SetUp,
        cfg: Config,
        db: Database,
        server: RunningServer,
        consumers: FeedConsumers,
        probe: Probe,
        backlog: Callable[[], int],
        residents: Residents,
        py_spy: str | None = None,
    ) -> None:
        self.py_spy = py_spy
        self.setup, self.cfg, self.db, self.server = setup, cfg, db, server
        self.consumers, self.probe, self.backlog = consumers, probe, backlog
        self.residents = residents
        self.rng = random.Random(20260101)
        self.phases: list[Phase] = []
        self.acked_total: set[str] = set()

    def requests(self, n: int) -> list[tuple[str, bytes]]:
        people = self.residents.make(n)
        points = gauteng_points(n, self.rng)
        host, port = self.server.host, self.server.port
        return [
            (uid, press_request(host, port, token, lat, lon, self.rng))
            for (uid, token), (lat, lon) in zip(people, points, strict=True)
        ]

    def drain(self) -> tuple[float, bool]:
        """Wait until the console saw every acknowledged alert and the outbox is empty."""
        started = time.monotonic()
        deadline = started + self.cfg.drain_timeout_seconds
        while time.monotonic() < deadline:
            if self.consumers.seen_by_all() >= len(self.acked_total) and self.probe.backlog() == 0:
                return time.monotonic() - started, True
            time.sleep(0.05)
        return time.monotonic() - started, False

    def run_phase(self, label: str, kind: Any, rate: float, seconds: float) -> Phase:
        requests = self.requests(round(rate * seconds))
        time.sleep(0.5)
        progress(f"{self.setup.label}: {label}: {rate:,.0f} alerts/s for {seconds:.0f} s")
        offset = self.server.log_offset()
        self.probe.phase = label
        first_sample = len(self.probe.samples)
        before = self.probe.counters()
        profiler = self.start_profiler(kind, seconds)
        with asyncio.Runner(loop_factory=_loop_factory) as runner:
            generator = Generator(self.server.host, self.server.port, self.cfg, self.probe)
            run = runner.run(generator.phase(rate, seconds, requests))
            runner.run(generator.close())
        after = self.probe.counters()
        profile = profiler.finish() if profiler is not None else None
        self.acked_total |= {p.alert_id for p in run.presses if p.status in (200, 201) and p.alert_id}
        drain_seconds, drained = self.drain()
        self.probe.phase = "idle"
        backlogs = [
            s["outbox_backlog"] for s in self.probe.samples[first_sample:] if s["outbox_backlog"] is not None
        ]
        phase = Phase(
            label,
            kind,
            run,
            cpu_between(before, after),
            self.server.route_latencies(offset, ROUTE),
            round(drain_seconds, 2),
            drained,
            max(backlogs) if backlogs else None,
            profile,
        )
        self.phases.append(phase)
        summary = phase_figures(phase, {}, [])  # counts from the database and the feed come later
        progress(
            f"  achieved {summary['achieved_rate']:,.0f}/s, "
            f"accept p99 {fmt(summary['accept_latency']['p99_ms'], 1)} ms, "
            f"saturated: {summary['saturated']}, drain {drain_seconds:.1f} s (drained: {drained})"
        )
        return phase

    def start_profiler(self, kind: str, seconds: float) -> Profiler | None:
        """py-spy on the server during the target phase (the busiest), if asked for."""
        if self.py_spy is None or kind != "target":
            return None
        pids = _python_children(self.server.pid) if self.setup.workers > 1 else [self.server.pid]
        return Profiler(self.py_spy, pids, min(seconds, 20.0))

    def sustained(self, summary: dict[str, Any]) -> bool:
        return (
            not summary["saturated"]
            and summary["achieved_rate"] >= SUSTAINED_FRACTION * summary["offered_rate"]
        )

    def run(self) -> None:
        cfg = self.cfg
        self.run_phase("warm-up", "warmup", cfg.warmup_rate, cfg.warmup_seconds)
        best: float | None = None
        for rate in cfg.steps:
            if rate > cfg.target_rate:
                break
            phase = self.run_phase(f"step {rate:,.0f}/s", "step", rate, cfg.step_seconds)
            if not self.sustained(phase_figures(phase, {}, [])):
                break
            best = rate
        target = self.run_phase(
            f"target {cfg.target_rate:,.0f}/s", "target", cfg.target_rate, cfg.target_seconds
        )
        if not self.sustained(phase_figures(target, {}, [])) and best is not None:
            self.run_phase(f"sustained {best:,.0f}/s", "sustained_max", best, cfg.target_seconds)


def phase_figures(
    phase: Phase, stored_by_resident: dict[str, str], consoles: Sequence[ConnectionResult]
) -> dict[str, Any]:
    run = phase.run
    presses = run.presses
    ok = [p for p in presses if p.status in (200, 201)]  # 200: a retry found its alert
    acked = {p.alert_id for p in ok if p.alert_id}
    statuses: dict[str, int] = {}
    for p in presses:
        key = str(p.status) if p.status else (p.error or "no answer")
        statuses[key] = statuses.get(key, 0) + 1
    last = max((p.done for p in ok), default=run.t0)
    window = max(last, run.issued_until) - run.t0
    figures: dict[str, Any] = {
        "label": phase.label,
        "kind": phase.kind,
        "offered_rate": run.rate,
        "planned_seconds": run.seconds,
        "offered": len(presses),
        "planned": round(run.rate * run.seconds),
        "saturated": run.saturated_after is not None,
        "stopped_after_seconds": None if run.saturated_after is None else round(run.saturated_after, 2),
        "answers": dict(sorted(statuses.items())),
        "resent_after_a_closed_keep_alive": run.resent,
        "acknowledged": len(acked),
        "achieved_rate": round(len(ok) / window, 1) if window > 0 else 0.0,
        "accept_latency": summarise([p.done - p.due for p in ok]).as_dict(3),
        "service_latency": summarise([p.done - p.sent for p in ok]).as_dict(3),
        "client_send_lag": summarise([p.sent - p.due for p in presses if not math.isnan(p.sent)]).as_dict(3),
        "server_side_latency": summarise(phase.server_latencies).as_dict(3),
        "cpu_pct_of_one_core": phase.cpu,
        "cpu_ms_per_acknowledged_alert": cpu_per_alert(phase.cpu, len(ok)),
        "outbox_backlog_max": phase.backlog_max,
        "drain_seconds": phase.drain_seconds,
        "drained": phase.drained,
    }
    if not consoles:
        return figures
    stored_ids = {aid for aid, rid in stored_by_resident.items()}
    residents = {p.resident_id for p in presses}
    stored_for_phase = sum(1 for rid in stored_by_resident.values() if rid in residents)
    stored = len(acked & stored_ids)
    pushed_each = [len(acked & set(c.raised_at)) for c in consoles]
    done_at = {p.alert_id: p.done for p in ok if p.alert_id}
    push = [c.raised_at[a] - t for c in consoles for a, t in done_at.items() if a in c.raised_at]
    pushed = min(pushed_each)
    figures.update(
        {
            "stored": stored,
            "stored_including_unacknowledged": stored_for_phase,
            "pushed": pushed,
            "pushed_per_console": pushed_each,
            "lost": len(acked) - min(stored, pushed),
            "push_latency": summarise(push).as_dict(3),
        }
    )
    return figures


def _database_and_bus(
    setup: SetUp, args: argparse.Namespace, stack: contextlib.ExitStack, tmp: Path, nats_url: str
) -> tuple[str, str, dict[str, Any]]:
    """A throw-away database and (on NATS) a stream of the run's own: (database URL, bus URL, facts)."""
    facts: dict[str, Any] = {"setup": setup.description, "workers": setup.workers}
    if setup.backend == "postgres":
        url = stack.enter_context(
            throwaway_database(args.admin_url or admin_url_from_env(), "khusela_bench_panic")
        )
        facts["postgres"] = postgres_info(url)
    else:
        url = f"sqlite:///{(tmp / 'data' / 'khusela.db').resolve()}"
    if setup.bus == "nats":
        tag = uuid.uuid4().hex[:8]
        stream, prefix = f"KHUSELA_BENCH_{tag}", f"bench{tag}"
        stack.callback(_delete_stream, nats_url, stream)
        facts["nats"] = {"url": nats_url, "stream": stream}
        return url, f"{nats_url}?stream={stream}&prefix={prefix}", facts
    return url, "inprocess://", facts


def cpu_per_alert(cpu: dict[str, float | None], acknowledged: int) -> dict[str, float | None]:
    """CPU milliseconds each acknowledged alert cost the server, PostgreSQL and NATS (and in all)."""
    wall = cpu.get("wall_seconds") or 0.0
    if not acknowledged or not wall:
        return {}
    out: dict[str, float | None] = {}
    for key in ("server", "postgres", "nats"):
        value = cpu.get(f"{key}_cpu_pct")
        out[key] = None if value is None else round(value / 100.0 * wall * 1000.0 / acknowledged, 2)
    out["total"] = round(sum(v for v in out.values() if v is not None), 2)
    return out


def run_setup(setup: SetUp, cfg: Config, args: argparse.Namespace, nats_url: str) -> dict[str, Any]:
    progress(f"=== {setup.label}: {setup.description}")
    with contextlib.ExitStack() as stack:
        tmp = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="khusela-bench-panic-")))
        url, bus_url, result = _database_and_bus(setup, args, stack, tmp, nats_url)
        db = Database(url, pool_size=4)
        stack.callback(db.dispose)
        upgrade(db)
        operator_token = seed_operator(db)
        residents = Residents(db)
        if args.anatomy:
            result["transaction_anatomy"] = transaction_anatomy(setup, url, residents)
        server = stack.enter_context(run_server(setup, url, bus_url, tmp, args.server_log_level))
        connections = 1 if setup.workers == 1 else cfg.multi_worker_feed_connections
        consumers, owners = connect_consoles(server, operator_token, connections, setup.workers)
        stack.callback(consumers.kill)
        backlog = backlog_query(setup, url)
        pg_pids = pg_pids_query(url) if setup.backend == "postgres" else None
        probe = Probe(server.pid, consumers.pid, backlog, pg_pids)
        probe.pushed = consumers.seen_by_all
        stack.callback(probe.stop)
        activity = PgActivity(url, lambda: probe.phase) if setup.backend == "postgres" else None
        bench = Bench(setup, cfg, db, server, consumers, probe, backlog, residents, args.py_spy)
        probe.start()
        if activity is not None:
            stack.callback(activity.stop)
            activity.start()
        try:
            bench.run()
        finally:
            probe.stop()
            if activity is not None:
                activity.stop()
            consoles = consumers.stop()
        result.update(_collect(bench, consoles, owners, activity))
        if setup.bus == "nats":
            result["nats"]["consumers"] = _stream_consumers(nats_url, result["nats"]["stream"])
        result["server_log_errors"] = server.count_in_log(0, b'"level": "error"') + server.count_in_log(
            0, b'"level":"error"'
        )
        return result


def _collect(
    bench: Bench,
    consoles: Sequence[ConnectionResult],
    owners: Sequence[int | None],
    activity: PgActivity | None,
) -> dict[str, Any]:
    """Each phase's figures, now that the database and the consoles can be asked."""
    with bench.db.read() as conn:
        stored = {
            str(r.id): str(r.resident_id) for r in conn.execute(select(alerts.c.id, alerts.c.resident_id))
        }
    phases = [phase_figures(p, stored, consoles) for p in bench.phases]
    for figures, phase in zip(phases, bench.phases, strict=True):
        if activity is not None:
            figures["postgres_sessions"] = activity.summary(phase.label)
        if phase.profile is not None:
            figures["server_profile"] = phase.profile
    workers = bench.setup.workers
    return {
        "server_pids": [bench.server.pid, *(_python_children(bench.server.pid) if workers > 1 else [])],
        "consoles": [
            {**c.as_dict(), "server_pid": owners[k] if k < len(owners) else None}
            for k, c in enumerate(consoles)
        ],
        "feed_fan_out": fan_out(consoles, owners, workers),
        "residents_seeded": bench.residents.made,
        "residents_seed_seconds": round(bench.residents.seconds, 1),
        "phases": phases,
        "timeline": bench.probe.samples,
        **headline(phases, bench.cfg),
    }


def transaction_anatomy(setup: SetUp, url: str, residents: Residents) -> dict[str, Any]:
    """The in-process measurement of bench/panic_anatomy.py, before the server starts."""
    from bench.panic_anatomy import ALERTS_NEEDED, anatomy

    progress(f"{setup.label}: transaction anatomy (in-process, {ALERTS_NEEDED:,} alerts)")
    db = Database(url)  # the server's engine settings (pool of 20 + 20)
    try:
        people = residents.make(ALERTS_NEEDED)
        result = anatomy(db, people, gauteng_points(ALERTS_NEEDED, random.Random(11)))
        with db.write() as conn:  # not part of any phase: the console must not count them
            conn.execute(update(outbox).values(published_at=datetime.now(UTC)))
    finally:
        db.dispose()
    serial = result["serial"]
    held = serial["head_lock_held"]
    lock = (
        f"head lock held {held['mean_ms']:.2f} ms (ceiling {serial['ceiling_alerts_per_second']}/s)"
        if held
        else "no head lock"
    )
    progress(
        f"  {serial['statements_per_alert']} statements per alert, {serial['python_cpu_ms_per_alert']} ms "
        f"Python CPU, {lock}; "
        + ", ".join(f"{t['threads']} threads: {t['alerts_per_second']}/s" for t in result["threads"])
        + f"; batched: {result['batched']['alerts_per_second']}/s"
        + f"; audit drain: {result['audit_drain']['records_per_second']} records/s"
    )
    return result


def connect_consoles(
    server: RunningServer, token: str, connections: int, workers: int
) -> tuple[FeedConsumers, list[int | None]]:
    """The operator's console(s) on the feed; with several workers, until both workers hold one."""
    target = FeedTarget(server.host, server.port, token)
    pids = _python_children(server.pid) if workers > 1 else [server.pid]
    for _attempt in range(5):
        consumers = FeedConsumers(target, connections).start()
        owners = owners_of_connections(server.port, consumers.local_ports, pids)
        if workers == 1 or len({o for o in owners if o is not None}) >= workers:
            return consumers, owners
        progress(f"console connections all landed on worker(s) {set(owners)}; reconnecting")
        consumers.stop()
    return consumers, owners


def fan_out(
    consoles: Sequence[ConnectionResult], owners: Sequence[int | None], workers: int
) -> dict[str, Any]:
    seen = [len(c.raised_at) for c in consoles]
    return {
        "consoles": len(consoles),
        "workers_holding_a_console": len({o for o in owners if o is not None}),
        "workers": workers,
        "distinct_alerts_seen_per_console": seen,
        "every_console_saw_every_alert": len(set(seen)) == 1,
    }


async def _delete_stream_async(nats_url: str, stream: str) -> None:
    import nats
    from nats.js.errors import NotFoundError

    nc = await nats.connect(nats_url, connect_timeout=2, max_reconnect_attempts=0)
    try:
        with contextlib.suppress(NotFoundError):
            await nc.jetstream().delete_stream(stream)
    finally:
        await nc.close()


async def _stream_consumers_async(nats_url: str, stream: str) -> list[dict[str, Any]]:
    import nats

    nc = await nats.connect(nats_url, connect_timeout=2, max_reconnect_attempts=0)
    try:
        infos = await nc.jetstream().consumers_info(stream)
        return [
            {
                "name": i.name,
                "filter_subject": i.config.filter_subject,
                "delivered": i.delivered.stream_seq if i.delivered else None,
                "num_pending": i.num_pending,
                "num_ack_pending": i.num_ack_pending,
            }
            for i in infos
        ]
    finally:
        await nc.close()


def _stream_consumers(nats_url: str, stream: str) -> list[dict[str, Any]] | str:
    """The stream's consumers at the end of a run (the server's durables)."""
    try:
        return asyncio.run(_stream_consumers_async(nats_url, stream))
    except Exception as exc:
        return repr(exc)


def _delete_stream(nats_url: str, stream: str) -> None:
    with contextlib.suppress(Exception):
        asyncio.run(_delete_stream_async(nats_url, stream))


def headline(phases: Sequence[dict[str, Any]], cfg: Config) -> dict[str, Any]:
    steps = [p for p in phases if p["kind"] == "step"]
    sustained = [
        p
        for p in steps
        if not p["saturated"] and p["achieved_rate"] >= SUSTAINED_FRACTION * p["offered_rate"]
    ]
    within = [
        p
        for p in sustained
        if p["accept_latency"]["p99_ms"] <= ACCEPT_P99_MS
        and (p.get("push_latency") or {}).get("p99_ms", math.inf) <= PUSH_P99_MS
    ]
    target = next(p for p in phases if p["kind"] == "target")
    best = next((p for p in phases if p["kind"] == "sustained_max"), None)
    return {
        "max_sustained_step_rate": max((p["offered_rate"] for p in sustained), default=None),
        "max_step_rate_within_latency_targets": max((p["offered_rate"] for p in within), default=None),
        "highest_achieved_rate": max(p["achieved_rate"] for p in phases),
        "target_run": target["label"],
        "sustained_run": best["label"] if best else target["label"],
        "lost_total": sum(p.get("lost", 0) for p in phases),
    }


# --- report ---------------------------------------------------------------------------------------


def targets_for(results: dict[str, Any]) -> list[Target]:
    out = []
    for run in results["runs"].values():
        target = next(p for p in run["phases"] if p["kind"] == "target")
        basis = f"{run['setup']}: {target['label']}"
        rate_basis = basis + (
            f" (stopped after {target['stopped_after_seconds']} s: saturated)" if target["saturated"] else ""
        )
        out += [
            Target("sustained alerts/s", rate_basis, target["achieved_rate"], TARGET_RATE, "alerts/s", True),
            Target(
                "p99 accept latency", basis, target["accept_latency"]["p99_ms"], ACCEPT_P99_MS, "ms", False
            ),
            Target(
                "p99 accept -> console push",
                basis,
                target["push_latency"]["p99_ms"],
                PUSH_P99_MS,
                "ms",
                False,
            ),
            Target("alerts lost", f"{run['setup']}: every phase", run["lost_total"], 0, "alerts", False),
        ]
    return out


def print_report(results: dict[str, Any], targets: Sequence[Target]) -> None:
    for key, run in results["runs"].items():
        rows = []
        for p in run["phases"]:
            cpu = p["cpu_pct_of_one_core"]
            push = p.get("push_latency", {})
            rows.append(
                [
                    p["label"],
                    f"{p['offered']:,}" + ("*" if p["saturated"] else ""),
                    fmt(p["achieved_rate"], 0),
                    fmt(p["accept_latency"]["p50_ms"], 1),
                    fmt(p["accept_latency"]["p99_ms"], 1),
                    fmt(p["accept_latency"]["max_ms"], 0),
                    fmt(p["server_side_latency"]["p99_ms"], 1),
                    fmt(push.get("p50_ms"), 1),
                    fmt(push.get("p99_ms"), 1),
                    f"{p['acknowledged']:,}/{p.get('stored', 0):,}/{p.get('pushed', 0):,}",
                    fmt(p.get("lost")),
                    fmt(p["outbox_backlog_max"]),
                    fmt(cpu.get("server_cpu_pct"), 0),
                    fmt(cpu.get("postgres_cpu_pct"), 0),
                    fmt(cpu.get("nats_cpu_pct"), 0),
                    fmt(cpu.get("client_cpu_pct"), 0),
                    fmt(cpu.get("other_processes_cpu_pct"), 0),
                    fmt(p["cpu_ms_per_acknowledged_alert"].get("total"), 1),
                ]
            )
        print_table(
            f"{key}: {run['setup']} (* = stopped early: saturated; latencies in ms; CPU in % of one core; "
            "other% = other processes on the machine; cpu ms/alert = server + PostgreSQL + NATS)",
            [
                *(
                    "phase",
                    "offered",
                    "ok/s",
                    "acc p50",
                    "acc p99",
                    "acc max",
                    "srv p99",
                    "push p50",
                    "push p99",
                ),
                *(
                    "ack/stored/pushed",
                    "lost",
                    "outbox max",
                    "server%",
                    "pg%",
                    "nats%",
                    "client%",
                    "other%",
                    "cpu ms/alert",
                ),
            ],
            rows,
        )
        print(
            f"max sustained step: {fmt(run['max_sustained_step_rate'], 0)}/s; within the latency targets: "
            f"{fmt(run['max_step_rate_within_latency_targets'], 0)}/s; feed fan-out: {run['feed_fan_out']}"
        )
    print_table(
        "Targets",
        ["target", "basis", "value", "limit", "result"],
        [
            [
                t.name,
                t.basis,
                f"{fmt(t.value, 1)} {t.unit}",
                f"{'>=' if t.higher_is_better else '<='} {fmt(t.limit, 0)}",
                "PASS" if t.passed else "FAIL",
            ]
            for t in targets
        ],
    )


def cpu_bound(run: dict[str, Any]) -> bool:
    """Did the single server process use (nearly) a whole core in its busiest phase?"""
    busiest = max(run["phases"], key=lambda p: p["cpu_pct_of_one_core"].get("server_cpu_pct") or 0.0)
    return (busiest["cpu_pct_of_one_core"].get("server_cpu_pct") or 0.0) >= 85.0


def _anatomy_note(key: str, anatomy: dict[str, Any]) -> str:
    """One sentence on the in-process transaction anatomy (bench/panic_anatomy.py)."""
    serial = anatomy["serial"]
    threads = "; ".join(f"{t['threads']} threads: {t['alerts_per_second']:.0f}/s" for t in anatomy["threads"])
    held = serial["head_lock_held"]
    lock = (
        f"{serial['statements_after_head_lock']:.0f} of them (and the commit) after the audit head row "
        f"is locked, held {held['mean_ms']:.2f} ms on average, a ceiling of "
        f"{serial['ceiling_alerts_per_second']:.0f} alerts/s for the whole platform"
        if held
        else "none of them takes the audit head row (the record is staged and chained in batches)"
    )
    drain = anatomy.get("audit_drain") or {}
    return (
        f"{key}, transaction anatomy (in-process, no HTTP, bench/panic_anatomy.py): an alert is "
        f"{serial['statements_per_alert']:.0f} statements in one transaction and "
        f"{serial['python_cpu_ms_per_alert']:.1f} ms of Python CPU, {lock}; one thread: transaction "
        f"{serial['transaction']['mean_ms']:.1f} ms. {threads}. What-if, "
        f"{anatomy['batched']['alerts_per_transaction']} alerts per transaction (one commit): "
        f"{anatomy['batched']['alerts_per_second']:.0f}/s. Chaining the staged audit records afterwards: "
        f"{drain.get('records_per_second', 0):.0f} records/s (chain verifies: {drain.get('chain_verifies')})."
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="a smaller run (about 2 minutes)")
    parser.add_argument("--only", choices=["postgres", "sqlite"], default=None, help="one back-end only")
    parser.add_argument(
        "--workers",
        choices=["auto", "1", "2", "both"],
        default="auto",
        help="PostgreSQL + NATS in 1 process, 2 workers, or both (auto: 2 as well when 1 was CPU-bound)",
    )
    parser.add_argument(
        "--admin-url", default=None, help="PostgreSQL admin URL (default: $KHUSELA_BENCH_PG_URL)"
    )
    parser.add_argument(
        "--nats-url", default=os.environ.get("KHUSELA_BENCH_NATS_URL", "nats://127.0.0.1:4222")
    )
    parser.add_argument(
        "--server-log-level", default="INFO", help="INFO logs every request (server-side latency)"
    )
    parser.add_argument(
        "--no-rate-limit-check",
        dest="rate_limit_check",
        action="store_false",
        help="skip the check of the default rate limit against residents on one address",
    )
    parser.add_argument(
        "--no-anatomy",
        dest="anatomy",
        action="store_false",
        help="skip the in-process transaction anatomy (bench/panic_anatomy.py)",
    )
    parser.add_argument(
        "--py-spy",
        default=None,
        metavar="PATH",
        help="profile the server with this py-spy during the target phase (where its CPU goes)",
    )
    parser.add_argument(
        "--output", type=Path, default=None, help="result file (default bench/results/panic.json)"
    )
    args = parser.parse_args(argv)

    cfg = QUICK if args.quick else FULL
    exit_cleanly_on_sigterm()
    started = time.perf_counter()
    results: dict[str, Any] = {"mode": "quick" if args.quick else "full", "config": asdict(cfg), "runs": {}}
    if args.only != "sqlite":
        if args.workers != "2":
            results["runs"][PG_NATS.label] = run_setup(PG_NATS, cfg, args, args.nats_url)
        if args.workers in ("2", "both") or (
            args.workers == "auto" and cpu_bound(results["runs"][PG_NATS.label])
        ):
            results["runs"][PG_NATS_2.label] = run_setup(PG_NATS_2, cfg, args, args.nats_url)
    if args.only != "postgres":
        results["runs"][SQLITE.label] = run_setup(SQLITE, cfg, args, args.nats_url)
    if args.rate_limit_check:
        results["rate_limit_check"] = rate_limit_check(cfg, args)
    results["duration_seconds"] = round(time.perf_counter() - started, 1)
    targets = targets_for(results)
    path = write_results(NAME, results, targets, notes_for(results), path=args.output)
    print_report(results, targets)
    print(f"\nwrote {path} ({results['duration_seconds']:.0f} s)")
    return 0


def rate_limit_check(cfg: Config, args: argparse.Namespace) -> dict[str, Any]:
    """The embedded server with its default rate limit, and residents pressing from one address.

    A resident's first request carries a token the server has not cached yet, so it is
    counted against the client's address (`khusela.api.middleware.client_key`); residents
    behind one address (a carrier-grade NAT, a campus network, here loopback) share the
    default 600 requests a minute.
    """
    progress("rate limit: the embedded default server, default limit, one press per resident")
    with tempfile.TemporaryDirectory(prefix="khusela-bench-panic-") as name:
        tmp = Path(name)
        url = f"sqlite:///{(tmp / 'data' / 'khusela.db').resolve()}"
        db = Database(url)
        try:
            upgrade(db)
            residents = Residents(db)
            env = {"KHUSELA_RATE_LIMIT_PER_MINUTE": "600"}
            with run_server(SQLITE, url, "inprocess://", tmp, "WARNING", env) as server:
                bench_rng = random.Random(3)
                n = cfg.rate_limit_alerts
                people = residents.make(n)
                points = gauteng_points(n, bench_rng)
                requests = [
                    (uid, press_request(server.host, server.port, token, lat, lon, bench_rng))
                    for (uid, token), (lat, lon) in zip(people, points, strict=True)
                ]
                probe = Probe(server.pid, None, lambda: 0)
                with asyncio.Runner(loop_factory=_loop_factory) as runner:
                    generator = Generator(server.host, server.port, cfg, probe)
                    run = runner.run(generator.phase(cfg.rate_limit_rate, n / cfg.rate_limit_rate, requests))
                    runner.run(generator.close())
        finally:
            db.dispose()
    answers: dict[str, int] = {}
    for press in run.presses:
        key = str(press.status) if press.status else (press.error or "no answer")
        answers[key] = answers.get(key, 0) + 1
    refused = answers.get("429", 0)
    progress(f"  {n} presses at {cfg.rate_limit_rate:.0f}/s: {answers}")
    return {
        "setting": "KHUSELA_RATE_LIMIT_PER_MINUTE=600 (the default)",
        "presses": n,
        "distinct_residents": n,
        "rate": cfg.rate_limit_rate,
        "answers": answers,
        "refused_429": refused,
    }


def _busiest(run: dict[str, Any]) -> dict[str, Any]:
    """The phase with the most acknowledged alerts per second."""
    return max(run["phases"], key=lambda p: p["achieved_rate"])


def _mean_cpu(run: dict[str, Any], key: str) -> float:
    values = [p["cpu_pct_of_one_core"].get(key) for p in run["phases"]]
    numbers = [v for v in values if isinstance(v, int | float)]
    return sum(numbers) / len(numbers) if numbers else math.nan


def notes_for(results: dict[str, Any]) -> list[str]:
    runs = results["runs"]
    notes = [
        "Everything runs on one machine with 2 cores: PostgreSQL, NATS, the server, the load generator and "
        "the console process share them, over loopback. Other work on the machine (other_processes_cpu_pct "
        "per phase, in % of one core) competes for the same cores and lowers every figure here.",
        "Open loop: accept latency is from when a request was due (not when it could be sent) to its 201, so "
        "a server that falls behind is charged for the wait; a phase stops early (saturated) once the due "
        "but unanswered requests exceed 3 s of arrivals. Accept -> push is from the 201's arrival to the SSE "
        "message's arrival at the console process (both on the machine's monotonic clock); it is negative "
        "when the console hears of an alert before the resident's phone gets its 201.",
        "The server runs in the test environment (texts to residents go to the log, so the notification "
        f"consumer's per-alert work is included) with KHUSELA_PANIC_ACK_TARGET_SECONDS={ACK_TARGET_SECONDS}: "
        "nobody acknowledges the benchmark's alerts, and with the default 30 s target each would escalate "
        "(another write and event per alert) in the middle of a phase. One resident per alert, so no press "
        "joins another.",
    ]
    for key, run in runs.items():
        best = _busiest(run)
        notes.append(
            f"{key}: highest acknowledged rate {best['achieved_rate']:.0f}/s ({best['label']}); highest step "
            f"sustained (>= {SUSTAINED_FRACTION:.0%} of the offered rate, not saturated): "
            f"{fmt(run['max_sustained_step_rate'], 0)}/s; highest step within p99 accept <= "
            f"{ACCEPT_P99_MS:.0f} ms and p99 push <= {PUSH_P99_MS:.0f} ms: "
            f"{fmt(run['max_step_rate_within_latency_targets'], 0)}/s. "
            f"Lost over all phases: {run['lost_total']}. Other processes used "
            f"{_mean_cpu(run, 'other_processes_cpu_pct'):.0f}% of a core on average during the phases."
        )
        cpu = best["cpu_pct_of_one_core"]
        notes.append(
            f"{key}, CPU in {best['label']} (% of one core): server {fmt(cpu.get('server_cpu_pct'), 0)}, "
            f"PostgreSQL {fmt(cpu.get('postgres_cpu_pct'), 0)}, NATS {fmt(cpu.get('nats_cpu_pct'), 0)}, load "
            f"generator {fmt(cpu.get('client_cpu_pct'), 0)}, console {fmt(cpu.get('console_cpu_pct'), 0)}, "
            f"other processes {fmt(cpu.get('other_processes_cpu_pct'), 0)}; machine busy "
            f"{fmt(cpu.get('machine_busy_pct'), 0)}% of {os.cpu_count()} cores. Outbox backlog at most "
            f"{fmt(best['outbox_backlog_max'])} events (see timeline)."
        )
        per_alert = best["cpu_ms_per_acknowledged_alert"]
        if per_alert.get("total"):
            cores = os.cpu_count() or 1
            notes.append(
                f"{key}, CPU per acknowledged alert in {best['label']}: server "
                f"{fmt(per_alert.get('server'), 1)} ms, PostgreSQL {fmt(per_alert.get('postgres'), 1)} ms, "
                f"NATS {fmt(per_alert.get('nats'), 1)} ms: "
                f"{per_alert['total']:.1f} ms in all, so {cores} cores doing nothing else could take at most "
                f"~{cores * 1000.0 / per_alert['total']:.0f} alerts/s; {TARGET_RATE:,.0f}/s needs "
                f"<= {cores * 1000.0 / TARGET_RATE:.1f} ms per alert (before the load generator and console)."
            )
        sessions = best.get("postgres_sessions") or {}
        mean = sessions.get("mean_sessions") or {}
        if mean:
            waiting = sum(v for k, v in mean.items() if "Lock/" in k and not k.startswith("idle"))
            holder = sessions.get("lock_holder_doing") or {}
            app = sum(v for k, v in holder.items() if k.startswith("idle in transaction"))
            wal = sum(v for k, v in holder.items() if "WAL" in k)
            notes.append(
                f"{key}, PostgreSQL sessions in {best['label']}: on average {waiting:.1f} of the server's "
                "sessions wait for a row lock (Lock/tuple, Lock/transactionid; before the audit records "
                "were staged, the audit chain's head row, which every alert's transaction locked). In "
                f"{sessions.get('samples_with_lock_waiters', 0)} of {sessions.get('samples', 0)} samples "
                f"someone waited; the session holding the lock was then idle in its transaction, waiting "
                f"for the server's Python to send the next statement, {app:.0%} of the time, and flushing "
                f"the WAL (commit) {wal:.0%} of the time. The critical section is stretched by the "
                "application, not by PostgreSQL."
            )
        anatomy = run.get("transaction_anatomy")
        if anatomy:
            notes.append(_anatomy_note(key, anatomy))
        profile = best.get("server_profile") or next(
            (p.get("server_profile") for p in run["phases"] if p.get("server_profile")), None
        )
        if profile and profile.get("samples"):
            top = ", ".join(f"{k} {v:.0%}" for k, v in list(profile["share_by_activity"].items())[:8])
            notes.append(f"{key}, where the server's Python time goes (py-spy --gil, target phase): {top}.")
        consumers = (run.get("nats") or {}).get("consumers")
        if isinstance(consumers, list):
            behind = [c for c in consumers if (c.get("num_pending") or 0) > 0]
            notes.append(
                f"{key}, the stream's consumers at the end of the run: "
                + ", ".join(
                    f"{c['name']} (delivered {c['delivered']}, pending {c['num_pending']})" for c in consumers
                )
                + (
                    ". Still behind: "
                    + ", ".join(c["name"] for c in behind)
                    + " (it handles one event at a time)."
                    if behind
                    else "."
                )
            )
        fan = run["feed_fan_out"]
        if fan["workers"] > 1:
            notes.append(
                f"{key}: {fan['consoles']} console connections, held by "
                f"{fan['workers_holding_a_console']} of {fan['workers']} workers, saw "
                f"{fan['distinct_alerts_seen_per_console']} distinct alerts: "
                + (
                    "every console saw every alert, whichever worker it is connected to (each worker's "
                    "FeedHub has a durable of its own)."
                    if fan["every_console_saw_every_alert"]
                    else "the consoles did NOT all see the same alerts."
                )
            )
    check = results.get("rate_limit_check")
    if check:
        notes.append(
            f"Rate limit: with the default KHUSELA_RATE_LIMIT_PER_MINUTE=600, {check['presses']} presses "
            f"from {check['distinct_residents']} distinct residents on one address at {check['rate']:.0f}/s "
            f"got {check['refused_429']} answers 429: a resident's first request carries a token the server "
            "has not cached, so it counts against the client address, and residents behind one address "
            "(carrier NAT) share 600 a minute. The figures above set the limit out of the way."
        )
    return notes


if __name__ == "__main__":
    sys.exit(main())
