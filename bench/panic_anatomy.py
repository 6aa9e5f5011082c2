"""Where a panic alert's write transaction spends its time, in-process (no HTTP, no server).

The handler of POST /api/panic/alerts runs, in one `Database.write()` transaction,
`raise_alert` (duplicate check, open-alert lookup, profile, inserts of the alert, its
location and timeline, the audit record, the outbox event, the press) and
`resident_view` (the answer), then commits. The audit append locks the chain's single
head row (`SELECT … FOR UPDATE` on PostgreSQL; SQLite's `BEGIN IMMEDIATE` already
serialises the whole transaction), so every alert on the platform waits for the previous
one from that statement until its commit. This module measures, with the platform's own
functions and the same engine settings as the server:

- serial: one thread, one alert per transaction: statements per alert, transaction time,
  and the time the head-row lock is held (from the lock statement's return to the end of
  the commit) — 1 / hold time is the ceiling this design allows whatever the hardware
  around it;
- threads: the same from 4, 16 and 40 threads at once (40 = the server's worker threads
  and pool size): how the hold time grows when the lock holder competes with the others
  for the GIL, and the rate that follows;
- batched: what-if, N alerts per transaction (one lock, one commit), the rate a group
  commit in the intake would reach.
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
) -> tuple[float, float]:
    """One alert, one transaction: (transaction seconds, head-lock hold seconds)."""
    timer.reset()
    started = time.perf_counter()
    with db.write() as conn:
        if db.is_sqlite:
            timer.local.locked_at = started  # BEGIN IMMEDIATE: the whole transaction is serialised
        intake = raise_alert(conn, command, gazetteer)
        resident_view(conn, intake.alert)
    ended = time.perf_counter()
    locked_at = timer.local.locked_at
    return ended - started, ended - (locked_at if locked_at is not None else started)


def _threads(
    db: Database, timer: _Timer, commands: Sequence[RaisePanicAlert], threads: int
) -> dict[str, Any]:
    gazetteer = BundledGazetteer()
    lanes = [list(commands[k::threads]) for k in range(threads)]
    results: list[list[tuple[float, float]]] = [[] for _ in range(threads)]
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
        "head_lock_held": summarise([h for _, h in flat]).as_dict(3),
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
        timed: list[tuple[float, float]] = []
        statements: list[int] = []
        after_lock: list[int] = []
        cpu_started = time.process_time()
        for command in serial[20:]:
            timed.append(_one(db, timer, gazetteer, command))
            statements.append(timer.local.statements)
            after_lock.append(timer.local.after_lock)
        cpu = time.process_time() - cpu_started
        hold = summarise([h for _, h in timed])
        out["serial"] = {
            "alerts": len(timed),
            "python_cpu_ms_per_alert": round(1000.0 * cpu / len(timed), 2),
            "statements_per_alert": round(sum(statements) / len(statements), 1),
            "statements_after_head_lock": round(sum(after_lock) / len(after_lock), 1),
            "transaction": summarise([t for t, _ in timed]).as_dict(3),
            "head_lock_held": hold.as_dict(3),
            "ceiling_alerts_per_second": round(1000.0 / hold.mean_ms, 1) if hold.mean_ms else None,
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
    return out


ALERTS_NEEDED = 300 + 3 * 400 + 1000
