"""Helpers every Khusela benchmark shares: timing, percentiles, CPU probes, a throw-away
PostgreSQL database, a small console table and the JSON result file.

A benchmark module builds a dict of figures, prints a table or two, and calls
`write_results("<name>", figures)`, which adds the machine, the time and the targets and
writes `bench/results/<name>.json`.
"""

from __future__ import annotations

import json
import math
import os
import platform
import signal
import sys
import time
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType
from typing import Any

import psycopg
from psycopg import sql
from sqlalchemy.engine import make_url

from khusela.store.database import Database
from khusela.store.migrate import upgrade

ROOT = Path(__file__).resolve().parent.parent
RESULTS_DIR = ROOT / "bench" / "results"
DEFAULT_PG_ADMIN_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
PG_URL_ENV = "KHUSELA_BENCH_PG_URL"


def admin_url_from_env() -> str:
    """The PostgreSQL URL used to create and drop throw-away databases."""
    return os.environ.get(PG_URL_ENV, DEFAULT_PG_ADMIN_URL)


# --- statistics ---------------------------------------------------------------------------


def percentile(sorted_values: Sequence[float], q: float) -> float:
    """The q-th percentile (0-100) of already sorted values, linearly interpolated."""
    if not sorted_values:
        return math.nan
    if len(sorted_values) == 1:
        return sorted_values[0]
    rank = (len(sorted_values) - 1) * q / 100.0
    low = math.floor(rank)
    high = min(low + 1, len(sorted_values) - 1)
    return sorted_values[low] + (sorted_values[high] - sorted_values[low]) * (rank - low)


@dataclass(frozen=True, slots=True)
class Summary:
    """A latency distribution in milliseconds."""

    count: int
    mean_ms: float
    p50_ms: float
    p90_ms: float
    p99_ms: float
    max_ms: float
    min_ms: float

    def as_dict(self, digits: int = 4) -> dict[str, float | int]:
        return {k: (round(v, digits) if isinstance(v, float) else v) for k, v in asdict(self).items()}


def summarise(seconds: Sequence[float]) -> Summary:
    """Summarise durations given in seconds."""
    ms = sorted(s * 1000.0 for s in seconds)
    if not ms:
        return Summary(0, math.nan, math.nan, math.nan, math.nan, math.nan, math.nan)
    return Summary(
        count=len(ms),
        mean_ms=sum(ms) / len(ms),
        p50_ms=percentile(ms, 50),
        p90_ms=percentile(ms, 90),
        p99_ms=percentile(ms, 99),
        max_ms=ms[-1],
        min_ms=ms[0],
    )


def per_second(count: int, seconds: float) -> float:
    return count / seconds if seconds > 0 else math.nan


# --- timing -------------------------------------------------------------------------------


@dataclass(slots=True)
class Stopwatch:
    """Wall time and this process's CPU time between `start` and `stop`."""

    started: float = 0.0
    cpu_started: float = 0.0
    seconds: float = 0.0
    cpu_seconds: float = 0.0

    def start(self) -> Stopwatch:
        self.started, self.cpu_started = time.perf_counter(), time.process_time()
        return self

    def stop(self) -> Stopwatch:
        self.seconds = time.perf_counter() - self.started
        self.cpu_seconds = time.process_time() - self.cpu_started
        return self


@contextmanager
def stopwatch() -> Iterator[Stopwatch]:
    """`with stopwatch() as sw: ...` then read `sw.seconds` and `sw.cpu_seconds`."""
    sw = Stopwatch().start()
    try:
        yield sw
    finally:
        sw.stop()


def sample(fn: Callable[[], object], n: int, warmup: int = 0) -> list[float]:
    """Call `fn` `warmup` times untimed, then `n` times, each timed alone (seconds)."""
    for _ in range(warmup):
        fn()
    clock = time.perf_counter
    out: list[float] = []
    for _ in range(n):
        t0 = clock()
        fn()
        out.append(clock() - t0)
    return out


# --- CPU accounting from /proc (Linux) ----------------------------------------------------

_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def process_cpu_seconds(pid: int) -> float | None:
    """User + system CPU seconds of another process (all its threads), or None."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat[stat.rindex(")") + 2 :].split()
    return (int(fields[11]) + int(fields[12])) / _TICKS  # utime, stime


def machine_cpu_ticks() -> tuple[int, int] | None:
    """(busy, total) jiffies over all CPUs since boot, or None off Linux."""
    try:
        first = Path("/proc/stat").read_text().splitlines()[0]
    except OSError:
        return None
    values = [int(v) for v in first.split()[1:]]
    idle = values[3] + (values[4] if len(values) > 4 else 0)  # idle + iowait
    total = sum(values[:8])  # guest time is already counted in user
    return total - idle, total


def processes_cpu_seconds(comm: str) -> dict[int, float]:
    """CPU seconds of every process whose command name is `comm` (e.g. "postgres"), by pid."""
    out: dict[int, float] = {}
    proc = Path("/proc")
    if not proc.is_dir():
        return out
    for entry in proc.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if (entry / "comm").read_text().strip() != comm:
                continue
        except OSError:
            continue
        seconds = process_cpu_seconds(int(entry.name))
        if seconds is not None:
            out[int(entry.name)] = seconds
    return out


@dataclass(slots=True)
class CpuProbe:
    """CPU use of this process, optionally another process, PostgreSQL and the whole machine.

    PostgreSQL is every process named `postgres`; backends that exit during the interval
    are missed, so that figure is a lower bound. "rest" is everything else that kept the
    machine busy: the kernel's share of loopback networking, other processes.
    """

    other_pid: int | None = None
    _wall: float = 0.0
    _own: float = 0.0
    _other: float | None = None
    _postgres: dict[int, float] = field(default_factory=dict)
    _machine: tuple[int, int] | None = None
    figures: dict[str, float | None] = field(default_factory=dict)

    def start(self) -> None:
        self._postgres = processes_cpu_seconds("postgres")
        self._machine = machine_cpu_ticks()
        self._other = process_cpu_seconds(self.other_pid) if self.other_pid else None
        self._wall, self._own = time.perf_counter(), time.process_time()

    def stop(self) -> dict[str, float | None]:
        wall = time.perf_counter() - self._wall
        own = time.process_time() - self._own
        other_now = process_cpu_seconds(self.other_pid) if self.other_pid else None
        other = other_now - self._other if other_now is not None and self._other is not None else None
        postgres = sum(
            v - self._postgres.get(pid, 0.0) for pid, v in processes_cpu_seconds("postgres").items()
        )
        machine_now = machine_cpu_ticks()
        busy_pct: float | None = None
        if machine_now and self._machine and machine_now[1] > self._machine[1]:
            busy_pct = 100.0 * (machine_now[0] - self._machine[0]) / (machine_now[1] - self._machine[1])
        cores = os.cpu_count() or 1

        def pct(seconds: float | None) -> float | None:
            return round(100.0 * seconds / wall, 1) if seconds is not None and wall > 0 else None

        self.figures = {
            "wall_seconds": round(wall, 4),
            "client_cpu_pct_of_one_core": pct(own),
            "server_cpu_pct_of_one_core": pct(other),
            "postgres_cpu_pct_of_one_core": pct(postgres),
            "machine_busy_pct_of_all_cores": round(busy_pct, 1) if busy_pct is not None else None,
        }
        if busy_pct is not None and wall > 0:
            rest = busy_pct * cores - 100.0 * (own + (other or 0.0) + postgres) / wall
            self.figures["rest_cpu_pct_of_one_core"] = round(max(rest, 0.0), 1)
        return self.figures


# --- machine and database facts -----------------------------------------------------------


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _memory_mb() -> int | None:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) // 1024
    except OSError:
        pass
    return None


def machine_info() -> dict[str, Any]:
    load = os.getloadavg() if hasattr(os, "getloadavg") else None
    return {
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "platform": platform.platform(),
        "cpu_model": _cpu_model(),
        "cpu_count": os.cpu_count(),
        "memory_mb": _memory_mb(),
        "load_average_at_start": [round(x, 2) for x in load] if load else None,
    }


def _psycopg_dsn(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def postgres_info(url: str) -> dict[str, str]:
    """Server version and the settings that decide commit cost."""
    names = (
        "server_version",
        "synchronous_commit",
        "fsync",
        "wal_sync_method",
        "shared_buffers",
        "max_connections",
    )
    info: dict[str, str] = {}
    with psycopg.connect(_psycopg_dsn(url), autocommit=True) as conn:
        for name in names:
            row = conn.execute(sql.SQL("SHOW {}").format(sql.Identifier(name))).fetchone()
            info[name] = str(row[0]) if row else ""
    return info


@contextmanager
def throwaway_database(admin_url: str | None = None, prefix: str = "khusela_bench") -> Iterator[str]:
    """CREATE DATABASE <prefix>_<random>, migrate it, yield its URL, and always drop it."""
    admin = make_url(admin_url or admin_url_from_env())
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    dsn = _psycopg_dsn(admin.render_as_string(hide_password=False))
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        url = admin.set(database=name).render_as_string(hide_password=False)
        db = Database(url, pool_size=2)
        try:
            upgrade(db)
        finally:
            db.dispose()
        yield url
    finally:
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


def exit_cleanly_on_sigterm() -> None:
    """Turn SIGTERM into SystemExit, so `finally` blocks stop servers and drop databases."""

    def handler(signum: int, _frame: FrameType | None) -> None:
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, handler)


def progress(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


# --- targets, tables, results -------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Target:
    """A figure checked against a limit: `value >= limit` or `value <= limit`."""

    name: str
    basis: str
    value: float
    limit: float
    unit: str
    higher_is_better: bool

    @property
    def passed(self) -> bool:
        if math.isnan(self.value):
            return False
        return self.value >= self.limit if self.higher_is_better else self.value <= self.limit

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "basis": self.basis,
            "value": round(self.value, 4),
            "limit": self.limit,
            "comparison": ">=" if self.higher_is_better else "<=",
            "unit": self.unit,
            "pass": self.passed,
        }


def fmt(value: float | int | None, digits: int = 2) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    if isinstance(value, int):
        return f"{value:,}"
    return f"{value:,.{digits}f}"


def print_table(title: str, headers: Sequence[str], rows: Sequence[Sequence[str]]) -> None:
    """A plain fixed-width table; the first column is left-aligned, the rest right-aligned."""
    widths = [len(h) for h in headers]
    for row in rows:
        widths = [max(w, len(c)) for w, c in zip(widths, row, strict=True)]

    def line(cells: Sequence[str]) -> str:
        parts = [cells[0].ljust(widths[0])] + [c.rjust(w) for c, w in zip(cells[1:], widths[1:], strict=True)]
        return "  ".join(parts)

    print(f"\n{title}")
    print(line(headers))
    print("  ".join("-" * w for w in widths))
    for row in rows:
        print(line(row))


def _json_safe(value: Any) -> Any:
    """NaN and infinities are not JSON: write them as null."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, Mapping):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json_safe(v) for v in value]
    return value


def write_results(
    name: str,
    figures: Mapping[str, Any],
    targets: Sequence[Target] = (),
    notes: Sequence[str] = (),
    path: Path | None = None,
) -> Path:
    """Write `bench/results/<name>.json` with the machine, a UTC timestamp and the targets."""
    out = path or RESULTS_DIR / f"{name}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    document = {
        "benchmark": name,
        "timestamp": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": machine_info(),
        **figures,
        "targets": [t.as_dict() for t in targets],
        "all_targets_pass": all(t.passed for t in targets),
        "notes": list(notes),
    }
    out.write_text(json.dumps(_json_safe(document), indent=2, default=str, allow_nan=False) + "\n")
    return out
