"""Where a panic alert's write transaction spends its time, in-process (no HTTP, no server).

The handler of POST /api/panic/alerts runs, in one `Database.write()` transaction,
`raise_alert` (duplicate check, open-alert lookup, profile, inserts of the alert, its
location and timeline, the audit record, the outbox event, the press) and
`resident_view` (the answer, without a query for a new alert), then commits. The
audit record is staged (`audit.log.stage`), not appended: no alert transaction takes the
chain's head row any more (until 2026-11-22 each did, from the append to its commit, and
every alert on the platform queued behind the previous one). SQLite's `BEGIN IMMEDIATE`
still serialises whole write transactions. This module measures, with the platform's own
functions and the same engine settings as the server:

- serial: one thread, one alert per transaction: statements per alert, Python CPU per
  alert, transaction time, and the time the audit head row is held if a statement takes it
  (none should on PostgreSQL);
- threads: the same from 4, 16 and 40 threads at once (40 = the server's worker threads
  and pool size): the rate, and how transaction time grows under contention;
- batched: what-if, N alerts per transaction (one commit), the rate a group commit in the
  intake would reach;
- audit_drain: what the background appender costs: chaining every record staged above in
  batches of `audit.log.DRAIN_BATCH`, records per second.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from sqlalchemy import event

from bench.common import per_second, summarise
from khusela.audit import log as audit
from khusela.core.gazetteer import BundledGazetteer
from khusela.panic.intake import RaisePanicAlert, raise_alert
from khusela.panic.model import AlertType, Channel
from khusela.panic.resident_view import resident_view
from khusela.store.database import Database

TYPES = (AlertType.CRIME, AlertType.MEDICAL, AlertType.GBV, AlertType.FIRE)


class _Timer:
    """Per thread: statements run, and when the audit head row was locked."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self.local = threading.local()

    def __enter__(self) -> _Timer:
        event.listen(self.db.engine, "after_cursor_execute", self._after)
        return self

    def __exit__(self, *_exc: object) -> None:
        event.remove(self.db.engine, "after_cursor_execute", self._after)

    def reset(self) -> None:
        self.local.statements = 0
        self.local.after_lock = 0
        self.local.locked_at = None

    def _after(self, _conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        local = self.local
        local.statements = getattr(local, "statements", 0) + 1
        if getattr(local, "locked_at", None) is not None:
            local.after_lock += 1
        elif "audit_head" in statement and "FOR UPDATE" in statement:
            local.locked_at = time.perf_counter()


def _commands(
    people: Sequence[tuple[str, str]], points: Sequence[tuple[float, float]]
) -> list[RaisePanicAlert]:
    rng = random.Random(7)
    return [
        RaisePanicAlert(
            type=rng.choice(TYPES),
            channel=Channel.APP,
            sender=uid,
            resident_id=uid,
            client_alert_id=f"anatomy-{i}",
            lat=lat,
            lon=lon,
            accuracy_m=20,
        )
        for i, ((uid, _token), (lat, lon)) in enumerate(zip(people, points, strict=True))
    ]


def _one(
    db: Database, timer: _Timer, gazetteer: BundledGazetteer, command: RaisePanicAlert
) -> tuple[float, float | None]:
    """One alert, one transaction: (transaction seconds, head-lock hold seconds or None)."""
    timer.reset()
    started = time.perf_counter()
    with db.write() as conn:
        if db.is_sqlite:
            timer.local.locked_at = started  # BEGIN IMMEDIATE: the whole transaction is serialised
        intake = raise_alert(conn, command, gazetteer)
        resident_view(conn, intake.alert)
    ended = time.perf_counter()
    locked_at = timer.local.locked_at
    return ended - started, None if locked_at is None else ended - locked_at


def _held(timed: Sequence[tuple[float, float | None]]) -> dict[str, Any] | None:
    """Summary of the head-lock hold times, or None when no transaction took the lock."""
    holds = [h for _, h in timed if h is not None]
    return summarise(holds).as_dict(3) if holds else None


def _threads(
    db: Database, timer: _Timer, commands: Sequence[RaisePanicAlert], threads: int
) -> dict[str, Any]:
    gazetteer = BundledGazetteer()
    lanes = [list(commands[k::threads]) for k in range(threads)]
    results: list[list[tuple[float, float | None]]] = [[] for _ in range(threads)]
    gate = threading.Barrier(threads + 1)

    def work(k: int) -> None:
        gate.wait()
        for command in lanes[k]:
            results[k].append(_one(db, timer, gazetteer, command))

    with ThreadPoolExecutor(threads) as pool:
        futures = [pool.submit(work, k) for k in range(threads)]
        gate.wait()
        started = time.perf_counter()
        for f in futures:
            f.result()
        seconds = time.perf_counter() - started
    flat = [r for lane in results for r in lane]
    return {
        "threads": threads,
        "alerts": len(flat),
        "seconds": round(seconds, 3),
        "alerts_per_second": round(per_second(len(flat), seconds), 1),
        "transaction": summarise([t for t, _ in flat]).as_dict(3),
        "head_lock_held": _held(flat),
    }


def anatomy(
    db: Database, people: Sequence[tuple[str, str]], points: Sequence[tuple[float, float]]
) -> dict[str, Any]:
    """Run the three measurements; needs one fresh resident per alert (people, points)."""
    commands = _commands(people, points)
    gazetteer = BundledGazetteer()
    out: dict[str, Any] = {}
    with _Timer(db) as timer:
        serial, at = commands[:300], 300
        for command in serial[:20]:  # warm the statement caches
            _one(db, timer, gazetteer, command)
        timed: list[tuple[float, float | None]] = []
        statements: list[int] = []
        after_lock: list[int] = []
        cpu_started = time.process_time()
        for command in serial[20:]:
            timed.append(_one(db, timer, gazetteer, command))
            statements.append(timer.local.statements)
            after_lock.append(timer.local.after_lock)
        cpu = time.process_time() - cpu_started
        hold = _held(timed)
        out["serial"] = {
            "alerts": len(timed),
            "python_cpu_ms_per_alert": round(1000.0 * cpu / len(timed), 2),
            "statements_per_alert": round(sum(statements) / len(statements), 1),
            "statements_after_head_lock": round(sum(after_lock) / len(after_lock), 1),
            "transaction": summarise([t for t, _ in timed]).as_dict(3),
            "head_lock_held": hold,
            "ceiling_alerts_per_second": round(1000.0 / hold["mean_ms"], 1) if hold else None,
        }
        out["threads"] = []
        for threads in (4, 16, 40):
            chunk = commands[at : at + 400]
            at += 400
            out["threads"].append(_threads(db, timer, chunk, threads))
    batch = 50
    chunk = commands[at : at + 1000]
    started = time.perf_counter()
    for i in range(0, len(chunk), batch):
        with db.write() as conn:
            for command in chunk[i : i + batch]:
                intake = raise_alert(conn, command, gazetteer)
                resident_view(conn, intake.alert)
    seconds = time.perf_counter() - started
    out["batched"] = {
        "alerts": len(chunk),
        "alerts_per_transaction": batch,
        "seconds": round(seconds, 3),
        "alerts_per_second": round(per_second(len(chunk), seconds), 1),
    }
    out["audit_drain"] = _drain(db)
    return out


def _drain(db: Database) -> dict[str, Any]:
    """Chain what the runs above staged, batch by batch, as the background appender does."""
    with db.read() as conn:
        staged = audit.staged_count(conn)
    started = time.perf_counter()
    chained = 0
    while True:
        with db.write() as conn:
            n = audit.drain(conn)
        if not n:
            break
        chained += n
    seconds = time.perf_counter() - started
    with db.snapshot() as conn:
        intact = audit.verify(conn).ok
    return {
        "staged": staged,
        "chained": chained,
        "seconds": round(seconds, 3),
        "records_per_second": round(per_second(chained, seconds), 1),
        "chain_verifies": intact,
    }


ALERTS_NEEDED = 300 + 3 * 400 + 1000
