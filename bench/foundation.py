"""Foundation benchmark: the audit chain and authenticated requests, on PostgreSQL.

    .venv/bin/python bench/foundation.py            # full run, about 3 minutes
    .venv/bin/python bench/foundation.py --quick    # smaller run, under 30 seconds

Creates a throw-away database (KHUSELA_BENCH_PG_URL is the admin URL), migrates it, and
always drops it at the end. Measures:

1. audit appends/s: one record per transaction; batches of 100 per transaction; 8 writer
   threads with one record per transaction (the head-row lock serialises them); and
   `audit.log.verify` over the whole chain;
2. authentication and policy in-process (no HTTP): `Authenticator.resolve` (cache miss,
   database round trips), `Authenticator.cached` (hit), `policy.can` and `read_filter`;
3. HTTP on loopback against a real Uvicorn server in a subprocess (see bench/server.py):
   GET /healthz (baseline), GET /bench/authn and /bench/authz (probe routes: bearer
   authentication, then + the policy check, no handler work) and GET /api/me, with 1,
   with a pool-safe 32 and with 200 concurrent keep-alive clients. /api/me at 200 clients
   runs last because it can stall the server (see the notes in the result).

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
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Literal

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
from bench.load import ClientKind, LoadSpec, run_load
from bench.server import BENCH_SECRET, RunningServer, serve
from khusela.audit import log as audit
from khusela.audit.chain import record_hash
from khusela.audit.tables import audit_log
from khusela.core.geo import cell_of
from khusela.core.sealed import sealer
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
    """Requests per run at `http_concurrency` clients."""
    http_safe_requests: int
    """Requests per run at `http_safe_concurrency` clients."""
    http_warmup: int
    http_concurrency: int
    http_safe_concurrency: int
    """Clients for /api/me runs that must not exceed the server's 40 worker threads / pooled connections."""
    http_time_limit_s: float
    http_stall_time_limit_s: float
    """Time limit of the /api/me run at `http_concurrency`, which may stall."""
    http_request_timeout_s: float
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
    auth_db_calls=1_000,
    auth_fast_calls=100_000,
    auth_filter_calls=20_000,
    http_requests=20_000,
    http_safe_requests=6_000,
    http_warmup=2_000,
    http_concurrency=200,
    http_safe_concurrency=32,
    http_time_limit_s=60.0,
    http_stall_time_limit_s=15.0,
    http_request_timeout_s=10.0,
    http_serial_requests=2_000,
    http_httpx_requests=2_000,
)
QUICK = Config(
    audit_single=300,
    audit_batched=10_000,
    audit_batch_size=100,
    audit_concurrent=400,
    audit_threads=8,
    auth_db_calls=200,
    auth_fast_calls=10_000,
    auth_filter_calls=3_000,
    http_requests=1_500,
    http_safe_requests=500,
    http_warmup=300,
    http_concurrency=200,
    http_safe_concurrency=32,
    http_time_limit_s=8.0,
    http_stall_time_limit_s=3.0,
    http_request_timeout_s=3.0,
    http_serial_requests=200,
    http_httpx_requests=0,
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
    with stopwatch() as sw, db.snapshot() as conn:
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
            sealer=sealer(BENCH_SECRET, totp.SEALED),  # the bench server's key, which opens it
        )
    assert created.totp_secret is not None
    return Operator(
        created.user.user_id, created.user.username, PASSWORD, created.totp_secret, agency.id, len(cells)
    )


def issue_tokens(db: Database, user_id: str, n: int) -> list[str]:
    """Live tokens for a user, written directly: logging in n times would cost n argon2
    hashes, and TOTP replay refusal allows one login per 30-second step."""
    now = datetime.now(UTC)
    tokens = [secrets.token_urlsafe(32) for _ in range(n)]
    if tokens:
        rows = [
            {
                "token_hash": sessions.token_digest(t, BENCH_SECRET),
                "user_id": user_id,
                "created_at": now,
                "expires_at": now + timedelta(hours=12),
            }
            for t in tokens
        ]
        with db.write() as conn:
            conn.execute(insert(access_tokens), rows)
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
    token = issue_tokens(db, operator.user_id, 1)[0]
    auth = Authenticator(db, BENCH_SECRET, ttl_seconds=3600.0)  # long TTL: every `cached` call is a hit
    principal = auth.resolve(token)
    assert principal is not None
    resolve_statements = _count_statements(db, lambda: auth.resolve(token))

    def hit() -> Principal:
        p = auth.cached(token)
        assert p is not None
        return p

    # Another agency's object inside the operator's cells: exercises the jurisdiction test.
    resource = Resource(
        agency_id="another-agency", province="WC", municipality="CPT", cell=cell_of(*JOHANNESBURG)
    )

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

    def with_cpu(fn: Callable[[], object], warmup: int) -> tuple[list[float], float]:
        """Samples, and this process's CPU per call in ms (the rest of the wall time is waiting)."""
        sample(fn, warmup)
        with stopwatch() as sw:
            samples = sample(fn, n_db)
        return samples, 1000.0 * sw.cpu_seconds / n_db

    resolve_samples, resolve_cpu_ms = with_cpu(lambda: auth.resolve(token), 50)
    me_samples, me_cpu_ms = with_cpu(me_handler_db, 20)
    figures: dict[str, Summary] = {
        "resolve_cache_miss": summarise(resolve_samples),
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
        "me_handler_get_agency": summarise(me_samples),
    }
    pooled = summarise(sample(lambda: db.engine.connect().close(), n_db, warmup=20))
    no_ping = _without_pre_ping(url)
    try:
        auth_no_ping = Authenticator(no_ping, BENCH_SECRET)
        pooled_no_ping = summarise(sample(lambda: no_ping.engine.connect().close(), n_db, warmup=20))
        resolve_no_ping = summarise(sample(lambda: auth_no_ping.resolve(token), n_db, warmup=50))
    finally:
        no_ping.dispose()
    return {
        "calls": {"database": n_db, "cpu_only": n_fast, "read_filter_and_paths": n_filter},
        "agency_cells": operator.agency_cells,
        "statements_per_resolve": resolve_statements,
        "python_cpu_ms_per_resolve": round(resolve_cpu_ms, 4),
        "python_cpu_ms_per_me_handler_get_agency": round(me_cpu_ms, 4),
        "statements_per_resolve_note": "statements SQLAlchemy executes; add BEGIN, ROLLBACK and the pre-ping",
        **{k: v.as_dict() for k, v in figures.items()},
        "what_if_no_pre_ping": {
            "pool_checkout_with_pre_ping": pooled.as_dict(),
            "pool_checkout_without_pre_ping": pooled_no_ping.as_dict(),
            "resolve_cache_miss_without_pre_ping": resolve_no_ping.as_dict(),
        },
    }


# --- HTTP ---------------------------------------------------------------------------------------

Tokens = Literal["none", "shared", "own"]


@dataclass(frozen=True)
class HttpRun:
    key: str
    label: str
    path: str
    clients: int
    requests: int
    tokens: Tokens = "none"
    client: ClientKind = "raw"
    may_stall: bool = False
    """Run last and bounded by the stall time limit; no wait for the server to recover afterwards."""


def http_plan(cfg: Config) -> list[HttpRun]:
    c, s, n, ns, n1 = (
        cfg.http_concurrency,
        cfg.http_safe_concurrency,
        cfg.http_requests,
        cfg.http_safe_requests,
        cfg.http_serial_requests,
    )
    runs = [
        HttpRun("serial_healthz", "/healthz", "/healthz", 1, n1),
        HttpRun("serial_authn", "/bench/authn", "/bench/authn", 1, n1, "shared"),
        HttpRun("serial_authz", "/bench/authz", "/bench/authz", 1, n1, "shared"),
        HttpRun("serial_me", "/api/me", "/api/me", 1, n1, "shared"),
        HttpRun("healthz", "/healthz", "/healthz", c, n),
        HttpRun("authn", "/bench/authn", "/bench/authn", c, n, "shared"),
        HttpRun("authz", "/bench/authz", "/bench/authz", c, n, "shared"),
        HttpRun("authz_own_tokens", "/bench/authz, own tokens", "/bench/authz", c, n, "own"),
        HttpRun("safe_healthz", "/healthz", "/healthz", s, ns),
        HttpRun("safe_me", "/api/me", "/api/me", s, ns, "shared"),
        HttpRun("safe_me_own_tokens", "/api/me, own tokens", "/api/me", s, ns, "own"),
        HttpRun("me", "/api/me", "/api/me", c, n, "shared", may_stall=True),
    ]
    if cfg.http_httpx_requests:  # the load of "healthz", driven by httpx instead of the raw client
        httpx_run = HttpRun("healthz_httpx", "/healthz via httpx", "/healthz", c, cfg.http_httpx_requests)
        runs.insert(-4, replace(httpx_run, client="httpx"))
    return runs


OVERHEADS: list[tuple[str, str, str]] = [
    ("serial_authn", "serial_healthz", "1 client: /bench/authn - /healthz (authentication)"),
    ("serial_authz", "serial_healthz", "1 client: /bench/authz - /healthz (authentication + policy)"),
    ("serial_me", "serial_healthz", "1 client: /api/me - /healthz (+ the handler's DB read)"),
    ("authn", "healthz", "{c} clients: /bench/authn - /healthz, shared token"),
    ("authz", "healthz", "{c} clients: /bench/authz - /healthz, shared token"),
    ("authz_own_tokens", "healthz", "{c} clients: /bench/authz - /healthz, a token per client"),
    ("safe_me", "safe_healthz", "{s} clients: /api/me - /healthz, shared token"),
    ("safe_me_own_tokens", "safe_healthz", "{s} clients: /api/me - /healthz, a token per client"),
    ("me", "healthz", "{c} clients: /api/me - /healthz, shared token"),
]


def _login(server: RunningServer, operator: Operator) -> str:
    response = httpx.post(f"{server.base_url}/api/auth/login", json=operator.login_body(), timeout=30.0)
    response.raise_for_status()
    token = str(response.json()["access_token"])
    me = httpx.get(f"{server.base_url}/api/me", headers={"Authorization": f"Bearer {token}"}, timeout=30.0)
    me.raise_for_status()
    if me.json()["username"] != operator.username:
        raise RuntimeError(f"/api/me answered for someone else: {me.text}")
    return token


def _warmup(cfg: Config, run: HttpRun) -> int:
    if run.may_stall:
        return 0  # it is expected to fail; a warm-up would only double the time spent waiting
    if run.client == "httpx":
        return 2 * run.clients  # httpx's first rounds on new connections are much slower than later ones
    return min(cfg.http_warmup, max(run.requests // 5, run.clients))


def _run_one(server: RunningServer, cfg: Config, run: HttpRun, tokens: Sequence[str]) -> dict[str, Any]:
    def headers_for(i: int) -> dict[str, str]:
        if run.tokens == "none":
            return {}
        token = tokens[0] if run.tokens == "shared" else tokens[i % len(tokens)]
        return {"Authorization": f"Bearer {token}"}

    spec = LoadSpec(
        label=run.label,
        host=server.host,
        port=server.port,
        path=run.path,
        requests=run.requests,
        concurrency=run.clients,
        time_limit_seconds=cfg.http_stall_time_limit_s if run.may_stall else cfg.http_time_limit_s,
        warmup_requests=_warmup(cfg, run),
        client=run.client,
        headers_for=headers_for,
        request_timeout_seconds=cfg.http_request_timeout_s,
    )
    progress(f"http: {run.label}: {run.requests:,} requests, {run.clients} clients ({run.client})")
    offsets: list[int] = []
    result = run_load(spec, server.pid, on_start=lambda: offsets.append(server.log_offset()))
    time.sleep(0.3)  # the access-log line is written after the response is sent
    offset = offsets[0] if offsets else server.log_offset()
    server_side = server.route_latencies(offset, run.path)
    entry = result.as_dict()
    entry["label"] = run.label
    entry["tokens"] = run.tokens
    entry["server_side_latency"] = summarise(server_side).as_dict() if server_side else None
    entry["stalled"] = result.failures > 0
    if result.failures:
        progress(
            f"http: {run.label}: {result.failures} failed requests ({result.stopped_by} stopped the run)"
        )
    if not run.may_stall:
        entry["seconds_until_server_idle"] = round(server.wait_idle(), 3)
    elif result.failures:
        entry["diagnosis"] = _diagnose(server)
        server.stop_timeout = 0.5  # its worker threads are stuck: no graceful shutdown to wait for
    return entry


def _diagnose(server: RunningServer) -> dict[str, str]:
    """After a failed run: is the event loop alive (/healthz), and are worker threads and
    pooled connections free (/readyz runs a ping in a worker thread)?"""
    out: dict[str, str] = {}
    with httpx.Client(timeout=2.0) as client:
        for path in ("/healthz", "/readyz"):
            t0 = time.perf_counter()
            try:
                status = client.get(f"{server.base_url}{path}").status_code
                out[path] = f"{status} in {1000 * (time.perf_counter() - t0):.1f} ms"
            except httpx.TimeoutException:
                out[path] = "no answer within 2 s"
            except httpx.TransportError as exc:
                out[path] = f"transport error: {exc!r}"
    out["pool_timeouts_logged_so_far"] = str(server.count_in_log(0, b"QueuePool limit"))
    return out


def bench_http(url: str, db: Database, cfg: Config, operator: Operator, log_level: str) -> dict[str, Any]:
    progress("http: starting the server")
    runs: dict[str, dict[str, Any]] = {}
    with serve(url, log_level=log_level) as server:
        token = _login(server, operator)
        tokens = [token, *issue_tokens(db, operator.user_id, cfg.http_concurrency - 1)]
        for run in http_plan(cfg):
            runs[run.key] = _run_one(server, cfg, run, tokens)
        progress("http: stopping the server")

    def diff(run: str, base: str) -> dict[str, Any]:
        a, b = runs[run], runs[base]
        ok = not a["stalled"] and not b["stalled"]

        def minus(field: str) -> float:
            return a["latency"][field] - b["latency"][field] if ok else math.nan

        return {
            "run": run,
            "baseline": base,
            "p50_ms": round(minus("p50_ms"), 4),
            "p99_ms": round(minus("p99_ms"), 4),
        }

    overheads = {
        label.format(c=cfg.http_concurrency, s=cfg.http_safe_concurrency): diff(run, base)
        for run, base, label in OVERHEADS
    }
    raw, via_httpx = runs["healthz"], runs.get("healthz_httpx")
    comparison: dict[str, Any] = {
        "raw_requests_per_second": raw["requests_per_second"],
        "raw_client_cpu_pct": raw["cpu"].get("client_cpu_pct_of_one_core"),
    }
    if via_httpx is not None:
        comparison["httpx_requests_per_second"] = via_httpx["requests_per_second"]
        comparison["httpx_client_cpu_pct"] = via_httpx["cpu"].get("client_cpu_pct_of_one_core")
    else:
        comparison["httpx"] = "skipped (--quick)"
    return {"runs": runs, "overhead": overheads, "client_comparison_healthz": comparison}


# --- report -------------------------------------------------------------------------------------


def targets_for(results: dict[str, Any], cfg: Config) -> list[Target]:
    a, auth, over = results["audit"], results["auth_inprocess"], results["http"]["overhead"]
    c = cfg.http_concurrency
    appends, overhead = "audit records/s", "authentication + policy overhead p99"

    def http(label: str, basis: str) -> Target:
        return Target(overhead, basis, over[label]["p99_ms"], AUTH_TARGET_P99_MS, "ms", False)

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
            "in-process: token cache hit + can + read_filter (steady state)",
            auth["request_path_cache_hit"]["p99_ms"],
            AUTH_TARGET_P99_MS,
            "ms",
            False,
        ),
        Target(
            overhead,
            "in-process: token cache miss (DB lookup) + can + read_filter",
            auth["request_path_cache_miss"]["p99_ms"],
            AUTH_TARGET_P99_MS,
            "ms",
            False,
        ),
        http(
            "1 client: /bench/authz - /healthz (authentication + policy)",
            "HTTP, 1 client: p99(/bench/authz) - p99(/healthz)",
        ),
        http(
            "1 client: /api/me - /healthz (+ the handler's DB read)",
            "HTTP, 1 client: p99(/api/me) - p99(/healthz)",
        ),
        http(
            f"{c} clients: /bench/authz - /healthz, shared token",
            f"HTTP, {c} clients: p99(/bench/authz) - p99(/healthz) (queueing dominates)",
        ),
        http(
            f"{c} clients: /api/me - /healthz, shared token",
            f"HTTP, {c} clients: p99(/api/me) - p99(/healthz) (queueing dominates)",
        ),
    ]


def _pct(cpu: dict[str, Any], key: str) -> float:
    return float(cpu.get(key) or 0.0)


def notes_for(results: dict[str, Any], cfg: Config) -> list[str]:
    http, auth, a = results["http"], results["auth_inprocess"], results["audit"]
    runs = http["runs"]
    c, s = cfg.http_concurrency, cfg.http_safe_concurrency
    notes = [
        "Everything runs on one machine: PostgreSQL, the Uvicorn server (one process) and the load "
        "generator share its cores, over loopback.",
        "The 'authentication and policy overhead per request' figure is the in-process one "
        "(auth_inprocess.request_path_*: Authenticator.cached or resolve + policy.can + read_filter, timed "
        "call by call without HTTP). Over HTTP, /bench/authz minus /healthz with 1 client is the same cost "
        "plus FastAPI's dependency machinery and a worker-thread hop.",
        f"With {c} closed-loop clients latency is dominated by queueing: mean latency ~= clients / "
        "throughput (Little's law). The server is one Python process (one core at most) and shares 2 "
        "cores with PostgreSQL and the client, so the /api/me minus /healthz difference there reflects "
        "lower throughput, not per-request authentication cost.",
        "/bench/authn and /bench/authz are probe routes the benchmark's launcher adds (bench/server.py); "
        "every middleware applies to them as to real routes.",
        "/api/me needs no database read of its own: the authenticated principal carries its agency "
        "(auth_inprocess.me_handler_get_agency shows what the earlier per-request agency load cost).",
        "Server-side latency is what the RequestContext middleware logged per request (INFO access log); "
        "it excludes time queued in the kernel and in the event loop before the request was parsed.",
        "The audit head row (SELECT ... FOR UPDATE) serialises all appends, so concurrent single-record "
        "writers cannot beat one writer's commit rate; batching is what reaches high rates. Each "
        "single-record append pays a full commit (synchronous_commit="
        f"{results['postgres'].get('synchronous_commit')}).",
    ]
    me = runs["me"]
    diagnosis = me.get("diagnosis") or {}
    if me["stalled"]:
        notes.append(
            f"GET /api/me with {c} clients FAILED: {me['ok_2xx']} of {me['requested']} succeeded, "
            f"{me['timeouts']} client timeouts after {me['request_timeout_seconds']:.0f} s (stopped by "
            f"{me['stopped_by']}). Afterwards /healthz: {diagnosis.get('/healthz')}, /readyz: "
            f"{diagnosis.get('/readyz')}. Look for worker threads blocked in pool checkout (a connection "
            "held across a thread switch) or a lock held across an await. "
            f"At {s} clients /api/me completed normally."
        )
    comp = http["client_comparison_healthz"]
    raw_note = (
        f"Load generator: raw asyncio streams on uvloop used {comp['raw_client_cpu_pct'] or 0:.0f}% of a "
        f"core at {comp['raw_requests_per_second']:.0f} req/s on /healthz"
    )
    if "httpx_requests_per_second" in comp:
        raw_note += (
            f"; httpx, driving the same load, used {comp['httpx_client_cpu_pct'] or 0:.0f}% at "
            f"{comp['httpx_requests_per_second']:.0f} req/s, so httpx would have been the bottleneck"
        )
    notes.append(raw_note + ". The reported figures use the raw client.")
    for key in ("healthz", "authz", "safe_me"):
        cpu = runs[key]["cpu"]
        client, server = _pct(cpu, "client_cpu_pct_of_one_core"), _pct(cpu, "server_cpu_pct_of_one_core")
        verdict = (
            "client-bound"
            if client >= 90
            else "server-bound (its one process is near a full core)"
            if server >= 85
            else "bound by neither process's CPU"
        )
        notes.append(
            f"{runs[key]['label']} x{runs[key]['concurrency']}: client {client:.0f}%, server {server:.0f}%, "
            f"PostgreSQL {_pct(cpu, 'postgres_cpu_pct_of_one_core'):.0f}% of one core: {verdict}."
        )
    notes.append(
        f"At {c} clients p99 is several times p50 on /bench/authn and /bench/authz because the "
        "Authenticator's cache entries (5 s TTL) expire together: every 5 s the server re-resolves the "
        f"tokens ({auth['statements_per_resolve']} statements, ~{auth['python_cpu_ms_per_resolve']:.1f} ms "
        "of Python CPU each) in one burst, and with one shared token every request in flight misses at once."
    )
    ping = auth["what_if_no_pre_ping"]
    notes.append(
        f"pool_pre_ping costs a round trip per connection checkout: resolve p50 "
        f"{auth['resolve_cache_miss']['p50_ms']:.3f} ms with it vs "
        f"{ping['resolve_cache_miss_without_pre_ping']['p50_ms']:.3f} ms without."
    )
    notes.append(
        f"Verification reads and re-hashes the chain at {a['verify']['us_per_record']:.1f} us/record, "
        f"{a['verify']['cost_vs_batched_append']:.2f}x the per-record cost of a batched append."
    )
    return notes


def _latency_cells(s: dict[str, Any], digits: int = 3) -> list[str]:
    return [fmt(s.get("p50_ms"), digits), fmt(s.get("p90_ms"), digits), fmt(s.get("p99_ms"), digits)]


def print_report(results: dict[str, Any], targets: Sequence[Target]) -> None:
    a = results["audit"]
    modes = (
        ("single", "1 record/tx"),
        ("batched", f"{a['batched']['batch_size']} records/tx"),
        ("concurrent", f"1 record/tx, {a['concurrent']['threads']} threads"),
    )
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
        for k, label in modes
    ]
    v = a["verify"]
    rows.append(
        ["verify whole chain", fmt(v["records"]), "1", fmt(v["seconds"], 3), fmt(v["records_per_second"], 0)]
    )
    rows[-1] += ["-", "-"]
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
    rows = [[k, fmt(auth[k]["count"]), *_latency_cells(auth[k], 4), fmt(auth[k]["max_ms"], 3)] for k in keys]
    ping = auth["what_if_no_pre_ping"]
    for k, s in (
        ("what-if: resolve without pre_ping", ping["resolve_cache_miss_without_pre_ping"]),
        ("pool checkout with pre_ping", ping["pool_checkout_with_pre_ping"]),
        ("pool checkout without pre_ping", ping["pool_checkout_without_pre_ping"]),
    ):
        rows.append([k, fmt(s["count"]), *_latency_cells(s, 4), fmt(s["max_ms"], 3)])
    print_table(
        f"Authentication and policy, in-process (agency with {auth['agency_cells']} cells; "
        f"{auth['statements_per_resolve']} statements and {auth['python_cpu_ms_per_resolve']:.2f} ms of "
        "Python CPU per resolve)",
        ["operation", "calls", "p50 ms", "p90 ms", "p99 ms", "max ms"],
        rows,
    )

    rows = []
    for entry in results["http"]["runs"].values():
        srv, cpu = entry["server_side_latency"] or {}, entry["cpu"]
        rows.append(
            [
                entry["label"],
                fmt(entry["concurrency"]),
                f"{entry['ok_2xx']:,}/{entry['requested']:,}",
                fmt(entry["failures"]),
                fmt(entry["requests_per_second"], 0),
                *_latency_cells(entry["latency"], 2),
                fmt(entry["latency"]["max_ms"], 1),
                fmt(srv.get("p50_ms"), 2),
                fmt(srv.get("p99_ms"), 2),
                fmt(cpu.get("client_cpu_pct_of_one_core"), 0),
                fmt(cpu.get("server_cpu_pct_of_one_core"), 0),
                fmt(cpu.get("postgres_cpu_pct_of_one_core"), 0),
            ]
        )
    print_table(
        "HTTP on loopback (client-side latency; srv: server-side, from the access log; CPU: % of one core)",
        [
            *("run", "clients", "ok/requested", "failed", "ok req/s", "p50 ms", "p90 ms", "p99 ms", "max ms"),
            *("srv p50", "srv p99", "client%", "server%", "pg%"),
        ],
        rows,
    )
    print_table(
        "Overhead over HTTP (difference of client-side latency)",
        ["basis", "p50 ms", "p99 ms"],
        [[k, fmt(v["p50_ms"], 3), fmt(v["p99_ms"], 3)] for k, v in results["http"]["overhead"].items()],
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
    parser.add_argument("--requests", type=int, default=None, help="requests per run at that concurrency")
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
    started = time.perf_counter()
    results: dict[str, Any] = {"mode": "quick" if args.quick else "full", "config": asdict(cfg)}
    progress(f"creating a throw-away database ({results['mode']} run)")
    with throwaway_database(args.admin_url or admin_url_from_env()) as url:
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
    targets = targets_for(results, cfg)
    print_report(results, targets)
    path = write_results(NAME, results, targets, notes_for(results, cfg), path=args.output)
    print(f"\nwrote {path} ({results['duration_seconds']:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
