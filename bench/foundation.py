"""Foundation benchmark: the audit chain and authenticated requests, on PostgreSQL.

    .venv/bin/python bench/foundation.py            # full run, about 2-3 minutes
    .venv/bin/python bench/foundation.py --quick    # smaller run, under 30 seconds

Creates a throw-away database (KHUSELA_BENCH_PG_URL is the admin URL), migrates it, and
always drops it at the end. Measures:

1. audit appends/s: one record per transaction; batches of 100 per transaction; 8 writer
   threads with one record per transaction (the head-row lock serialises them); and
   `audit.log.verify` over the whole chain;
2. authentication and policy in-process (no HTTP): `Authenticator.resolve` (cache miss,
   database round trips), `Authenticator.cached` (hit), `policy.can` and `read_filter`;
3. HTTP on loopback against a real Uvicorn server in a subprocess: GET /healthz and
   GET /api/me (bearer token) at 1 and at 200 concurrent keep-alive clients.

Prints tables and writes bench/results/foundation.json.
"""

from __future__ import annotations

import argparse
import math
import secrets
import sys
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script: make `bench` and `khusela` importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import h3
import httpx
from sqlalchemy import Connection, create_engine, event, func, insert, select

from bench.common import (
    Summary,
    Target,
    admin_url_from_env,
    exit_cleanly_on_sigterm,
    fmt,
    per_second,
    postgres_info,
    print_table,
    progress,
    sample,
    stopwatch,
    summarise,
    throwaway_database,
    write_results,
)
from bench.load import LoadResult, LoadSpec, run_load
from bench.server import RunningServer, serve
from khusela.audit import log as audit
from khusela.audit.chain import record_hash
from khusela.audit.tables import audit_log
from khusela.core.geo import cell_of
from khusela.identity import directory, sessions, totp
from khusela.identity.authenticator import Authenticator
from khusela.identity.model import SYSTEM, AgencyType, Jurisdiction, Principal, Role
from khusela.identity.policy import Action, Resource, can, read_filter
from khusela.identity.tables import access_tokens
from khusela.panic.units import UNIT_COLUMNS
from khusela.store.database import Database

NAME = "foundation"
AUDIT_TARGET_PER_S = 5_000.0
AUTH_TARGET_P99_MS = 5.0
PASSWORD = "bench-password-0123"  # noqa: S105 - a user in a throw-away database
JOHANNESBURG = (-26.2041, 28.0473)


@dataclass(frozen=True)
class Config:
    audit_single: int
    audit_batched: int
    audit_batch_size: int
    audit_concurrent: int
    audit_threads: int
    auth_db_calls: int
    auth_fast_calls: int
    auth_filter_calls: int
    http_requests: int
    http_warmup: int
    http_concurrency: int
    http_time_limit_s: float
    http_serial_requests: int
    http_httpx_requests: int
    agency_ring: int = 2
    """The operator's agency covers the H3 res-7 disk of this radius (k=2: 19 cells)."""


FULL = Config(
    audit_single=2_000,
    audit_batched=50_000,
    audit_batch_size=100,
    audit_concurrent=2_000,
    audit_threads=8,
    auth_db_calls=2_000,
    auth_fast_calls=100_000,
    auth_filter_calls=20_000,
    http_requests=20_000,
    http_warmup=2_000,
    http_concurrency=200,
    http_time_limit_s=60.0,
    http_serial_requests=2_000,
    http_httpx_requests=5_000,
)
QUICK = Config(
    audit_single=300,
    audit_batched=10_000,
    audit_batch_size=100,
    audit_concurrent=400,
    audit_threads=8,
    auth_db_calls=300,
    auth_fast_calls=20_000,
    auth_filter_calls=3_000,
    http_requests=3_000,
    http_warmup=400,
    http_concurrency=200,
    http_time_limit_s=8.0,
    http_serial_requests=300,
    http_httpx_requests=1_500,
)


# --- audit ----------------------------------------------------------------------------------


def _entry(i: int) -> audit.Entry:
    details = {"n": i, "unit": "GP-JHB-101", "status": "dispatched", "reason": "benchmark"}
    return audit.Entry("bench.operator", "bench.append", "panic_alert", f"alert-{i:08d}", details)


def _record(conn: Connection, i: int) -> None:
    e = _entry(i)
    audit.record(conn, e.actor, e.action, e.object_type, e.object_id, e.details)


def _append_figures(
    records: int, transactions: int, seconds: float, latencies: Sequence[float]
) -> dict[str, Any]:
    return {
        "records": records,
        "transactions": transactions,
        "seconds": round(seconds, 4),
        "records_per_second": round(per_second(records, seconds), 1),
        "transactions_per_second": round(per_second(transactions, seconds), 1),
        "transaction_latency": summarise(latencies).as_dict(),
    }


def audit_single(db: Database, n: int) -> dict[str, Any]:
    latencies: list[float] = []
    with stopwatch() as sw:
        for i in range(n):
            t0 = time.perf_counter()
            with db.write() as conn:
                _record(conn, i)
            latencies.append(time.perf_counter() - t0)
    return _append_figures(n, n, sw.seconds, latencies)


def audit_batched(db: Database, n: int, batch: int) -> dict[str, Any]:
    latencies: list[float] = []
    transactions = 0
    with stopwatch() as sw:
        for start in range(0, n, batch):
            entries = [_entry(i) for i in range(start, min(start + batch, n))]
            t0 = time.perf_counter()
            with db.write() as conn:
                audit.append(conn, entries)
            latencies.append(time.perf_counter() - t0)
            transactions += 1
    figures = _append_figures(n, transactions, sw.seconds, latencies)
    figures["batch_size"] = batch
    return figures


def audit_concurrent(db: Database, n: int, threads: int) -> dict[str, Any]:
    per_thread = n // threads
    start = threading.Barrier(threads + 1)
    latencies: list[list[float]] = [[] for _ in range(threads)]

    def writer(k: int) -> None:
        start.wait()
        out = latencies[k]
        for i in range(per_thread):
            t0 = time.perf_counter()
            with db.write() as conn:
                _record(conn, k * per_thread + i)
            out.append(time.perf_counter() - t0)

    with ThreadPoolExecutor(threads) as pool:
        futures = [pool.submit(writer, k) for k in range(threads)]
        start.wait()
        with stopwatch() as sw:
            for f in futures:
                f.result()
    flat = [x for lane in latencies for x in lane]
    figures = _append_figures(len(flat), len(flat), sw.seconds, flat)
    figures["threads"] = threads
    return figures


def audit_verify(db: Database) -> dict[str, Any]:
    with db.read() as conn:
        total = int(conn.execute(select(func.count()).select_from(audit_log)).scalar_one())
    with stopwatch() as sw, db.read() as conn:
        result = audit.verify(conn)
    if not result.ok or result.checked != total:
        raise RuntimeError(f"audit chain did not verify: {result}")
    return {
        "records": result.checked,
        "ok": result.ok,
        "seconds": round(sw.seconds, 4),
        "records_per_second": round(per_second(result.checked, sw.seconds), 1),
        "us_per_record": round(1e6 * sw.seconds / max(result.checked, 1), 3),
        "client_cpu_share": round(sw.cpu_seconds / sw.seconds, 3) if sw.seconds else None,
    }


def hash_cost(n: int) -> dict[str, Any]:
    """Pure CPU: one SHA-256 chain link (what verify recomputes per record)."""
    at = datetime.now(UTC)
    details = '{"n":1,"reason":"benchmark","status":"dispatched","unit":"GP-JHB-101"}'
    prev = "0" * 64
    with stopwatch() as sw:
        for i in range(n):
            prev = record_hash(
                i, at, "bench.operator", "bench.append", "panic_alert", "alert-1", details, prev
            )
    return {"calls": n, "us_per_hash": round(1e6 * sw.seconds / n, 3)}


def bench_audit(db: Database, cfg: Config) -> dict[str, Any]:
    progress(f"audit: {cfg.audit_single:,} single-record transactions")
    single = audit_single(db, cfg.audit_single)
    progress(f"audit: {cfg.audit_batched:,} records in batches of {cfg.audit_batch_size}")
    batched = audit_batched(db, cfg.audit_batched, cfg.audit_batch_size)
    progress(f"audit: {cfg.audit_concurrent:,} single-record transactions from {cfg.audit_threads} threads")
    concurrent = audit_concurrent(db, cfg.audit_concurrent, cfg.audit_threads)
    progress("audit: verify the whole chain")
    verify = audit_verify(db)
    hashing = hash_cost(20_000)
    batched_us = 1e6 / batched["records_per_second"]
    verify["cost_vs_batched_append"] = round(verify["us_per_record"] / batched_us, 3)
    return {
        "single": single,
        "batched": batched,
        "concurrent": concurrent,
        "verify": verify,
        "hash": hashing,
    }


# --- seed -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Operator:
    user_id: str
    username: str
    password: str
    totp_secret: str
    agency_id: str
    agency_cells: int

    def login_body(self) -> dict[str, str]:
        return {
            "username": self.username,
            "password": self.password,
            "totp": totp.current_code(self.totp_secret),
        }


def seed_operator(db: Database, ring: int) -> Operator:
    cells = frozenset(str(c) for c in h3.grid_disk(cell_of(*JOHANNESBURG), ring))
    where = Jurisdiction(provinces=frozenset({"GP"}), municipalities=frozenset({"JHB"}), cells=cells)
    with db.write() as conn:
        agency = directory.create_agency(
            conn, SYSTEM, "Bench Metro Command Centre", AgencyType.METRO_POLICE, where
        )
        created = directory.create_user(
            conn,
            SYSTEM,
            username="bench.operator",
            roles=[Role.OPERATOR],
            password=PASSWORD,
            agency_id=agency.id,
        )
    assert created.totp_secret is not None
    return Operator(
        created.user.user_id, created.user.username, PASSWORD, created.totp_secret, agency.id, len(cells)
    )


def issue_tokens(db: Database, user_id: str, n: int) -> list[str]:
    """Extra live tokens for the same user, written directly (logging in n times costs n argon2 hashes)."""
    now = datetime.now(UTC)
    tokens = [secrets.token_urlsafe(32) for _ in range(n)]
    if tokens:
        with db.write() as conn:
            conn.execute(
                insert(access_tokens),
                [
                    {
                        "token_hash": sessions.token_digest(t),
                        "user_id": user_id,
                        "created_at": now,
                        "expires_at": now + timedelta(hours=12),
                    }
                    for t in tokens
                ],
            )
    return tokens


# --- authentication and policy, in-process ----------------------------------------------------


def _count_statements(db: Database, fn: Callable[[], object]) -> int:
    count = 0

    def on_execute(*_args: object) -> None:
        nonlocal count
        count += 1

    event.listen(db.engine, "before_cursor_execute", on_execute)
    try:
        fn()
    finally:
        event.remove(db.engine, "before_cursor_execute", on_execute)
    return count


def _without_pre_ping(url: str) -> Database:
    """The same database with `pool_pre_ping=False`, to price the ping (what-if only)."""
    db = Database(url)
    db.engine.dispose()
    db.engine = create_engine(url, pool_size=20, max_overflow=20, pool_pre_ping=False)
    return db


def bench_auth(db: Database, url: str, cfg: Config, operator: Operator) -> dict[str, Any]:
    progress("auth: in-process resolve / cached / can / read_filter")
    with db.write() as conn:
        issued = sessions.login(
            conn,
            operator.username,
            operator.password,
            totp.current_code(operator.totp_secret),
            sessions.LoginPolicy(),
        )
    token = issued.access_token
    auth = Authenticator(db, ttl_seconds=3600.0)  # long TTL: every `cached` call below is a hit
    principal = auth.resolve(token)
    assert principal is not None
    resolve_statements = _count_statements(db, lambda: auth.resolve(token))

    def hit() -> Principal:
        p = auth.cached(token)
        assert p is not None
        return p

    resource = Resource(
        agency_id="another-agency", province="WC", municipality="CPT", cell=cell_of(*JOHANNESBURG)
    )  # outside the agency, inside its cells: exercises the jurisdiction test

    def request_path(get: Callable[[], Principal | None]) -> Callable[[], object]:
        def run() -> object:
            p = get()
            assert p is not None
            assert can(p, Action.ME_READ)
            return read_filter(p, Action.UNIT_READ, UNIT_COLUMNS)

        return run

    def me_handler_db() -> object:
        with db.read() as conn:
            return directory.get_agency(conn, operator.agency_id)

    n_db, n_fast, n_filter = cfg.auth_db_calls, cfg.auth_fast_calls, cfg.auth_filter_calls
    figures: dict[str, Summary] = {
        "resolve_cache_miss": summarise(sample(lambda: auth.resolve(token), n_db, warmup=50)),
        "cached_hit": summarise(sample(hit, n_fast, warmup=1_000)),
        "can_no_resource": summarise(sample(lambda: can(principal, Action.ME_READ), n_fast, warmup=1_000)),
        "can_with_resource": summarise(
            sample(lambda: can(principal, Action.PANIC_READ, resource), n_fast, warmup=1_000)
        ),
        "read_filter": summarise(
            sample(lambda: read_filter(principal, Action.UNIT_READ, UNIT_COLUMNS), n_filter, warmup=200)
        ),
        "request_path_cache_hit": summarise(sample(request_path(hit), n_filter, warmup=200)),
        "request_path_cache_miss": summarise(
            sample(request_path(lambda: auth.resolve(token)), n_db, warmup=20)
        ),
        "me_handler_get_agency": summarise(sample(me_handler_db, n_db, warmup=20)),
    }
    pooled = summarise(sample(lambda: db.engine.connect().close(), n_db, warmup=20))
    no_ping = _without_pre_ping(url)
    try:
        auth_no_ping = Authenticator(no_ping)
        pooled_no_ping = summarise(sample(lambda: no_ping.engine.connect().close(), n_db, warmup=20))
        resolve_no_ping = summarise(sample(lambda: auth_no_ping.resolve(token), n_db, warmup=50))
    finally:
        no_ping.dispose()
    return {
        "calls": {"database": n_db, "cpu_only": n_fast, "read_filter_and_paths": n_filter},
        "agency_cells": operator.agency_cells,
        "statements_per_resolve": resolve_statements,
        "statements_per_resolve_note": "SELECTs counted by SQLAlchemy; add BEGIN, ROLLBACK and the pre-ping",
        **{k: v.as_dict() for k, v in figures.items()},
        "what_if_no_pre_ping": {
            "pool_checkout_with_pre_ping": pooled.as_dict(),
            "pool_checkout_without_pre_ping": pooled_no_ping.as_dict(),
            "resolve_cache_miss_without_pre_ping": resolve_no_ping.as_dict(),
        },
    }


# --- HTTP ---------------------------------------------------------------------------------------


def _login(server: RunningServer, operator: Operator) -> str:
    response = httpx.post(f"{server.base_url}/api/auth/login", json=operator.login_body(), timeout=30.0)
    response.raise_for_status()
    token = str(response.json()["access_token"])
    me = httpx.get(f"{server.base_url}/api/me", headers={"Authorization": f"Bearer {token}"}, timeout=30.0)
    me.raise_for_status()
    if me.json()["username"] != operator.username:
        raise RuntimeError(f"/api/me answered for someone else: {me.text}")
    return token


def _http_run(server: RunningServer, spec: LoadSpec, route: str) -> tuple[LoadResult, Summary | None]:
    progress(f"http: {spec.label} ({spec.requests:,} requests, {spec.concurrency} clients, {spec.client})")
    offset = server.log_offset()
    result = run_load(spec, server.pid)
    time.sleep(0.3)  # the access-log line is written after the response is sent
    bad = result.completed - result.ok + result.errors
    if bad:
        raise RuntimeError(f"{spec.label}: {bad} failed requests, statuses {dict(result.statuses)}")
    server_side = server.route_latencies(offset, route)
    return result, summarise(server_side) if server_side else None


def bench_http(url: str, db: Database, cfg: Config, operator: Operator, log_level: str) -> dict[str, Any]:
    progress("http: starting the server")
    with serve(url, log_level=log_level) as server:
        token = _login(server, operator)
        own_tokens = [token, *issue_tokens(db, operator.user_id, cfg.http_concurrency - 1)]

        def shared(_i: int) -> dict[str, str]:
            return {"Authorization": f"Bearer {token}"}

        def own(i: int) -> dict[str, str]:
            return {"Authorization": f"Bearer {own_tokens[i % len(own_tokens)]}"}

        def spec(label: str, path: str, concurrency: int, requests: int, **kw: Any) -> LoadSpec:
            warmup = min(cfg.http_warmup, max(requests // 5, concurrency))
            return LoadSpec(
                label,
                server.host,
                server.port,
                path,
                requests,
                concurrency,
                cfg.http_time_limit_s,
                warmup,
                **kw,
            )

        c, n = cfg.http_concurrency, cfg.http_requests
        runs: dict[str, tuple[LoadResult, Summary | None]] = {}
        plan: list[tuple[str, LoadSpec, str]] = [
            (
                "serial_healthz",
                spec("GET /healthz, 1 client", "/healthz", 1, cfg.http_serial_requests),
                "/healthz",
            ),
            (
                "serial_me",
                spec("GET /api/me, 1 client", "/api/me", 1, cfg.http_serial_requests, headers_for=shared),
                "/api/me",
            ),
            ("healthz", spec("GET /healthz", "/healthz", c, n), "/healthz"),
            ("me", spec("GET /api/me, one shared token", "/api/me", c, n, headers_for=shared), "/api/me"),
            (
                "me_own_tokens",
                spec("GET /api/me, a token per client", "/api/me", c, n, headers_for=own),
                "/api/me",
            ),
            (
                "healthz_httpx",
                spec("GET /healthz via httpx", "/healthz", c, cfg.http_httpx_requests, client="httpx"),
                "/healthz",
            ),
        ]
        for key, load_spec, route in plan:
            runs[key] = _http_run(server, load_spec, route)

    out: dict[str, Any] = {}
    for key, (result, server_side) in runs.items():
        entry = result.as_dict()
        entry["server_side_latency"] = server_side.as_dict() if server_side else None
        entry["label"] = result.spec.label
        out[key] = entry

    def diff(me: str, base: str) -> dict[str, float]:
        a, b = runs[me][0].summary, runs[base][0].summary
        return {"p50_ms": round(a.p50_ms - b.p50_ms, 4), "p99_ms": round(a.p99_ms - b.p99_ms, 4)}

    out["overhead_me_minus_healthz"] = {
        "serial_1_client": diff("serial_me", "serial_healthz"),
        f"concurrent_{c}_shared_token": diff("me", "healthz"),
        f"concurrent_{c}_own_tokens": diff("me_own_tokens", "healthz"),
    }
    raw, via_httpx = runs["healthz"][0], runs["healthz_httpx"][0]
    out["client_comparison_healthz"] = {
        "raw_requests_per_second": round(raw.requests_per_second, 1),
        "httpx_requests_per_second": round(via_httpx.requests_per_second, 1),
        "raw_client_cpu_pct": raw.cpu.get("client_cpu_pct_of_one_core"),
        "httpx_client_cpu_pct": via_httpx.cpu.get("client_cpu_pct_of_one_core"),
    }
    return out


# --- report -------------------------------------------------------------------------------------


def targets_for(results: dict[str, Any]) -> list[Target]:
    a, auth, http = results["audit"], results["auth_inprocess"], results["http"]
    over = http["overhead_me_minus_healthz"]
    conc_key = next(k for k in over if k.endswith("_shared_token"))
    own_key = next(k for k in over if k.endswith("_own_tokens"))
    appends = "audit records/s"
    overhead = "authentication + policy overhead p99"
    return [
        Target(
            appends,
            f"batched, {a['batched']['batch_size']} records per transaction",
            a["batched"]["records_per_second"],
            AUDIT_TARGET_PER_S,
            "records/s",
            True,
        ),
        Target(
            appends,
            "one record per transaction, 1 writer",
            a["single"]["records_per_second"],
            AUDIT_TARGET_PER_S,
            "records/s",
            True,
        ),
        Target(
            appends,
            f"one record per transaction, {a['concurrent']['threads']} writer threads",
            a["concurrent"]["records_per_second"],
            AUDIT_TARGET_PER_S,
            "records/s",
            True,
        ),
        Target(
            overhead,
            "in-process, token cache hit + can + read_filter (steady state)",
            auth["request_path_cache_hit"]["p99_ms"],
            AUTH_TARGET_P99_MS,
            "ms",
            False,
        ),
        Target(
            overhead,
            "in-process, token cache miss (DB lookup) + can + read_filter",
            auth["request_path_cache_miss"]["p99_ms"],
            AUTH_TARGET_P99_MS,
            "ms",
            False,
        ),
        Target(
            overhead,
            "HTTP, 1 client: p99(/api/me) - p99(/healthz), incl. the handler's DB read",
            over["serial_1_client"]["p99_ms"],
            AUTH_TARGET_P99_MS,
            "ms",
            False,
        ),
        Target(
            overhead,
            f"HTTP, {conc_key}: p99 difference (queueing on 2 cores dominates)",
            over[conc_key]["p99_ms"],
            AUTH_TARGET_P99_MS,
            "ms",
            False,
        ),
        Target(
            overhead,
            f"HTTP, {own_key}: p99 difference (queueing on 2 cores dominates)",
            over[own_key]["p99_ms"],
            AUTH_TARGET_P99_MS,
            "ms",
            False,
        ),
    ]


def notes_for(results: dict[str, Any], cfg: Config) -> list[str]:
    http, auth, a = results["http"], results["auth_inprocess"], results["audit"]
    notes = [
        "Everything runs on one machine: PostgreSQL, the Uvicorn server (one process) and the load "
        "generator share its CPU cores; loopback networking.",
        "The 'authentication and policy overhead per request' figure is the in-process one "
        "(auth_inprocess.request_path_*): Authenticator.cached/resolve + policy.can + read_filter, "
        "timed call by call without HTTP.",
        f"HTTP latency with {cfg.http_concurrency} concurrent closed-loop clients is dominated by "
        "queueing: mean latency ~= clients / throughput (Little's law), so the /api/me minus /healthz "
        "difference there mostly reflects /api/me's lower throughput, not per-request auth cost.",
        "/api/me does more than authenticate: its handler opens a read transaction and loads the agency "
        "(and all its jurisdiction cells) on every request; see auth_inprocess.me_handler_get_agency.",
        "Server-side latency is what the RequestContext middleware logged per request (INFO access log); "
        "it excludes time queued in the kernel and the event loop before the request was parsed.",
        "The audit head row (SELECT ... FOR UPDATE) serialises all appends, so concurrent single-record "
        "writers cannot exceed one writer's commit rate; batching is what reaches high rates.",
        "Single-record appends pay a full commit (WAL flush, synchronous_commit="
        f"{results['postgres'].get('synchronous_commit')}) each.",
    ]
    comp = http["client_comparison_healthz"]
    raw_cpu, httpx_cpu = comp["raw_client_cpu_pct"] or 0.0, comp["httpx_client_cpu_pct"] or 0.0
    notes.append(
        f"Load generator: raw asyncio streams on uvloop (client CPU {raw_cpu:.0f}% of a core at "
        f"{comp['raw_requests_per_second']:.0f} req/s) vs httpx ({httpx_cpu:.0f}% at "
        f"{comp['httpx_requests_per_second']:.0f} req/s); the raw client's figures are the reported ones."
    )
    for key in ("healthz", "me", "me_own_tokens"):
        cpu = http[key]["cpu"]
        client, server = (
            cpu.get("client_cpu_pct_of_one_core") or 0.0,
            cpu.get("server_cpu_pct_of_one_core") or 0.0,
        )
        verdict = (
            "the client is near a full core (client-bound)"
            if client >= 90
            else "the server process is near a full core (server-bound)"
            if server >= 90
            else "neither process saturates a core"
        )
        notes.append(f"{key}: client {client:.0f}% / server {server:.0f}% of one core: {verdict}.")
    ping = auth["what_if_no_pre_ping"]
    notes.append(
        "pool_pre_ping costs a round trip per connection checkout: resolve p50 "
        f"{auth['resolve_cache_miss']['p50_ms']:.3f} ms with it vs "
        f"{ping['resolve_cache_miss_without_pre_ping']['p50_ms']:.3f} ms without."
    )
    notes.append(
        f"Verification reads and re-hashes the chain at {a['verify']['us_per_record']:.1f} us/record, "
        f"{a['verify']['cost_vs_batched_append']:.2f}x the per-record cost of a batched append."
    )
    return notes


def print_report(results: dict[str, Any], targets: Sequence[Target]) -> None:
    a = results["audit"]
    rows = [
        [
            label,
            fmt(a[k]["records"]),
            fmt(a[k]["transactions"]),
            fmt(a[k]["seconds"], 3),
            fmt(a[k]["records_per_second"], 0),
            fmt(a[k]["transaction_latency"]["p50_ms"], 3),
            fmt(a[k]["transaction_latency"]["p99_ms"], 3),
        ]
        for k, label in (
            ("single", "1 record/tx"),
            ("batched", f"{a['batched']['batch_size']} records/tx"),
            ("concurrent", f"1 record/tx, {a['concurrent']['threads']} threads"),
        )
    ]
    v = a["verify"]
    rows.append(
        [
            "verify whole chain",
            fmt(v["records"]),
            "-",
            fmt(v["seconds"], 3),
            fmt(v["records_per_second"], 0),
            "-",
            "-",
        ]
    )
    print_table(
        "Audit on PostgreSQL",
        ["mode", "records", "tx", "seconds", "records/s", "tx p50 ms", "tx p99 ms"],
        rows,
    )
    print(f"(one chain hash: {a['hash']['us_per_hash']:.2f} us; verify: {v['us_per_record']:.2f} us/record)")

    auth = results["auth_inprocess"]
    keys = (
        "resolve_cache_miss",
        "cached_hit",
        "can_no_resource",
        "can_with_resource",
        "read_filter",
        "request_path_cache_hit",
        "request_path_cache_miss",
        "me_handler_get_agency",
    )
    rows = [
        [
            k,
            fmt(auth[k]["count"]),
            fmt(auth[k]["p50_ms"], 4),
            fmt(auth[k]["p90_ms"], 4),
            fmt(auth[k]["p99_ms"], 4),
            fmt(auth[k]["max_ms"], 3),
        ]
        for k in keys
    ]
    ping = auth["what_if_no_pre_ping"]
    for k, s in (
        ("resolve, no pool_pre_ping (what-if)", ping["resolve_cache_miss_without_pre_ping"]),
        ("pool checkout, pre_ping", ping["pool_checkout_with_pre_ping"]),
        ("pool checkout, no pre_ping", ping["pool_checkout_without_pre_ping"]),
    ):
        rows.append(
            [
                k,
                fmt(s["count"]),
                fmt(s["p50_ms"], 4),
                fmt(s["p90_ms"], 4),
                fmt(s["p99_ms"], 4),
                fmt(s["max_ms"], 3),
            ]
        )
    print_table(
        f"Authentication and policy, in-process (agency with {auth['agency_cells']} cells; "
        f"{auth['statements_per_resolve']} SELECTs per resolve)",
        ["operation", "calls", "p50 ms", "p90 ms", "p99 ms", "max ms"],
        rows,
    )

    http = results["http"]
    rows = []
    for entry in http.values():
        if not isinstance(entry, dict) or "latency" not in entry:
            continue
        lat, srv, cpu = entry["latency"], entry["server_side_latency"] or {}, entry["cpu"]
        rows.append(
            [
                entry["label"],
                fmt(entry["concurrency"]),
                fmt(entry["completed"]),
                fmt(entry["requests_per_second"], 0),
                fmt(lat["p50_ms"], 2),
                fmt(lat["p90_ms"], 2),
                fmt(lat["p99_ms"], 2),
                fmt(lat["max_ms"], 1),
                fmt(srv.get("p50_ms"), 2),
                fmt(srv.get("p99_ms"), 2),
                fmt(cpu.get("client_cpu_pct_of_one_core"), 0),
                fmt(cpu.get("server_cpu_pct_of_one_core"), 0),
                fmt(cpu.get("rest_cpu_pct_of_one_core"), 0),
            ]
        )
    print_table(
        "HTTP on loopback (client-side latency; 'srv': server-side, from the access log; CPU: % of one core)",
        [
            "run",
            "clients",
            "requests",
            "req/s",
            "p50 ms",
            "p90 ms",
            "p99 ms",
            "max ms",
            "srv p50",
            "srv p99",
            "client%",
            "server%",
            "rest%",
        ],
        rows,
    )
    over = http["overhead_me_minus_healthz"]
    print_table(
        "Overhead: /api/me minus /healthz",
        ["basis", "p50 ms", "p99 ms"],
        [[k, fmt(v["p50_ms"], 3), fmt(v["p99_ms"], 3)] for k, v in over.items()],
    )
    print_table(
        "Targets",
        ["target", "basis", "value", "limit", "result"],
        [
            [
                t.name,
                t.basis,
                f"{fmt(t.value, 2)} {t.unit}",
                f"{'>=' if t.higher_is_better else '<='} {fmt(t.limit, 0)}",
                "PASS" if t.passed else "FAIL",
            ]
            for t in targets
        ],
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="a smaller run (under 30 s)")
    parser.add_argument(
        "--admin-url", default=None, help="PostgreSQL admin URL (default: $KHUSELA_BENCH_PG_URL)"
    )
    parser.add_argument("--concurrency", type=int, default=None, help="concurrent HTTP clients (default 200)")
    parser.add_argument("--requests", type=int, default=None, help="requests per concurrent HTTP run")
    parser.add_argument(
        "--server-log-level", default="INFO", help="server log level (INFO logs every request)"
    )
    parser.add_argument(
        "--output", type=Path, default=None, help="result file (default bench/results/foundation.json)"
    )
    args = parser.parse_args(argv)

    cfg = QUICK if args.quick else FULL
    if args.concurrency or args.requests:
        changes = {
            "http_concurrency": args.concurrency or cfg.http_concurrency,
            "http_requests": args.requests or cfg.http_requests,
        }
        cfg = Config(**{**asdict(cfg), **changes})
    exit_cleanly_on_sigterm()
    admin_url = args.admin_url or admin_url_from_env()
    started = time.perf_counter()
    results: dict[str, Any] = {"mode": "quick" if args.quick else "full", "config": asdict(cfg)}
    progress(f"creating a throw-away database ({'quick' if args.quick else 'full'} run)")
    with throwaway_database(admin_url) as url:
        results["postgres"] = postgres_info(url)
        db = Database(url)
        try:
            results["audit"] = bench_audit(db, cfg)
            operator = seed_operator(db, cfg.agency_ring)
            results["auth_inprocess"] = bench_auth(db, url, cfg, operator)
            results["http"] = bench_http(url, db, cfg, operator, args.server_log_level)
        finally:
            db.dispose()
        progress("dropping the throw-away database")
    results["duration_seconds"] = round(time.perf_counter() - started, 1)
    targets = targets_for(results)
    print_report(results, targets)
    path = write_results(NAME, results, targets, notes_for(results, cfg), path=args.output)
    print(f"\nwrote {path} ({results['duration_seconds']:.0f} s)")
    return 0 if not any(math.isnan(t.value) for t in targets) else 1


if __name__ == "__main__":
    sys.exit(main())
