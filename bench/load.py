"""A closed-loop HTTP load generator: N concurrent keep-alive clients, M requests in total.

Two clients share one driver so their cost can be compared:
- `raw`: asyncio streams on uvloop writing a prebuilt HTTP/1.1 request and reading the
  response by Content-Length (or chunks). Cheap enough that one core drives a Python
  server on another core;
- `httpx`: one `httpx.AsyncClient` with a connection per concurrent client.

All connections are opened and warmed up before the clock starts. Each request's latency
is the time from writing the request to reading the last byte of the response, measured
in the client, so it includes the time the client's own event loop takes to get back to
that connection. With C clients in a closed loop, mean latency ≈ C / throughput
(Little's law): at high concurrency latency mostly measures queueing, not work.

A run stops early, and says so, when its time limit passes or when more than
`max_failures` requests fail (non-2xx, transport error or no answer within
`request_timeout_seconds`), so a stalled server costs seconds, not minutes.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import Counter
from collections.abc import Callable, Coroutine, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import httpx

try:
    import uvloop

    _loop_factory: Callable[[], asyncio.AbstractEventLoop] | None = uvloop.new_event_loop
except ImportError:  # pragma: no cover - uvloop comes with uvicorn[standard]
    _loop_factory = None

from bench.common import CpuProbe, Summary, per_second, summarise

ClientKind = Literal["raw", "httpx"]
HeadersFor = Callable[[int], Mapping[str, str]]
"""Headers for client number i (e.g. each client its own bearer token)."""


def no_headers(_index: int) -> Mapping[str, str]:
    return {}


@dataclass(frozen=True, slots=True)
class LoadSpec:
    label: str
    host: str
    port: int
    path: str
    requests: int
    concurrency: int
    time_limit_seconds: float
    warmup_requests: int = 0
    client: ClientKind = "raw"
    headers_for: HeadersFor = no_headers
    request_timeout_seconds: float = 10.0
    max_failures: int | None = None
    """Stop once this many requests failed; default 1% of `requests`, at least 20."""

    @property
    def failure_limit(self) -> int:
        return self.max_failures if self.max_failures is not None else max(20, self.requests // 100)


@dataclass(slots=True)
class LoadResult:
    spec: LoadSpec
    latencies: list[float]
    """Every response's latency (seconds), whatever its status."""
    statuses: Counter[int]
    transport_errors: int
    timeouts: int
    stopped_by: str
    """"count", "time limit" or "failures"."""
    warmup_failures: int = 0
    cpu: dict[str, float | None] = field(default_factory=dict)

    @property
    def completed(self) -> int:
        return len(self.latencies)

    @property
    def wall_seconds(self) -> float:
        return float(self.cpu.get("wall_seconds") or 0.0)

    @property
    def summary(self) -> Summary:
        return summarise(self.latencies)

    @property
    def requests_per_second(self) -> float:
        return per_second(self.ok, self.wall_seconds)

    @property
    def ok(self) -> int:
        return sum(n for status, n in self.statuses.items() if 200 <= status < 300)

    @property
    def failures(self) -> int:
        return self.transport_errors + self.timeouts + (self.completed - self.ok)

    def as_dict(self) -> dict[str, Any]:
        return {
            "path": self.spec.path,
            "client": self.spec.client,
            "concurrency": self.spec.concurrency,
            "requested": self.spec.requests,
            "completed": self.completed,
            "ok_2xx": self.ok,
            "failures": self.failures,
            "statuses": {str(k): v for k, v in sorted(self.statuses.items())},
            "transport_errors": self.transport_errors,
            "timeouts": self.timeouts,
            "request_timeout_seconds": self.spec.request_timeout_seconds,
            "warmup_failures": self.warmup_failures,
            "stopped_by": self.stopped_by,
            "requests_per_second": round(self.requests_per_second, 1),
            "latency": self.summary.as_dict(),
            "cpu": self.cpu,
        }


class _Plan:
    """Hands out request slots until the count or the deadline runs out, or `stop()`."""

    def __init__(self, count: int, seconds: float) -> None:
        self.remaining, self.seconds = count, seconds
        self.deadline = float("inf")
        self.stopped_by = "count"

    def begin(self) -> None:
        self.deadline = time.perf_counter() + self.seconds

    def stop(self, reason: str) -> None:
        if self.remaining > 0:
            self.remaining = 0
            self.stopped_by = reason

    def take(self) -> bool:
        if self.remaining <= 0:
            return False
        if time.perf_counter() >= self.deadline:
            self.stop("time limit")
            return False
        self.remaining -= 1
        return True


class _RawConnection:
    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def open(self) -> None:
        self.reader, self.writer = await asyncio.open_connection(self.host, self.port)

    async def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            with contextlib.suppress(OSError):
                await self.writer.wait_closed()
        self.reader = self.writer = None

    async def request(self, data: bytes) -> int:
        reader, writer = self.reader, self.writer
        if reader is None or writer is None:
            await self.open()
            reader, writer = self.reader, self.writer
            assert reader is not None
            assert writer is not None
        writer.write(data)
        head = await reader.readuntil(b"\r\n\r\n")
        status = int(head[9:12])
        lower = head.lower()
        at = lower.find(b"\r\ncontent-length:")
        if at >= 0:
            end = lower.index(b"\r\n", at + 2)
            length = int(lower[at + 17 : end])
            if length:
                await reader.readexactly(length)
        elif b"transfer-encoding: chunked" in lower:
            while True:
                size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
                await reader.readexactly(size + 2)
                if size == 0:
                    break
        if b"\r\nconnection: close" in lower:
            await self.close()
        return status


def _raw_request(spec: LoadSpec, index: int) -> bytes:
    lines = [f"GET {spec.path} HTTP/1.1", f"Host: {spec.host}:{spec.port}", "User-Agent: khusela-bench"]
    lines += [f"{k}: {v}" for k, v in spec.headers_for(index).items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


class _Run:
    """One load phase: warm-up, then the measured requests, sharing connections."""

    def __init__(self, spec: LoadSpec) -> None:
        self.spec = spec
        self.warm = _Plan(spec.warmup_requests, spec.time_limit_seconds)
        self.plan = _Plan(spec.requests, spec.time_limit_seconds)
        self.active = self.warm
        self.latencies: list[float] = []
        self.statuses: Counter[int] = Counter()
        self.transport_errors = self.timeouts = self.failures = 0
        self.connected = asyncio.Barrier(spec.concurrency + 1)
        self.warmed = asyncio.Barrier(spec.concurrency + 1)
        self.go = asyncio.Event()
        self.client: httpx.AsyncClient | None = None
        if spec.client == "httpx":
            self.client = httpx.AsyncClient(
                base_url=f"http://{spec.host}:{spec.port}",
                limits=httpx.Limits(
                    max_connections=spec.concurrency, max_keepalive_connections=spec.concurrency
                ),
                timeout=spec.request_timeout_seconds,
            )

    def _failed(self) -> None:
        self.failures += 1
        if self.failures >= self.spec.failure_limit:
            self.active.stop("failures")

    def _answered(self, status: int, seconds: float) -> None:
        if self.active is self.plan:
            self.latencies.append(seconds)
            self.statuses[status] += 1
        if not 200 <= status < 300:
            self._failed()

    def _start_measuring(self) -> int:
        warmup_failures, self.failures = self.failures, 0
        self.transport_errors = self.timeouts = 0
        self.active = self.plan
        self.plan.begin()
        return warmup_failures

    async def _abort(self) -> None:
        await self.connected.abort()
        await self.warmed.abort()

    async def _raw_loop(self, plan: _Plan, conn: _RawConnection, data: bytes) -> None:
        clock, timeout = time.perf_counter, self.spec.request_timeout_seconds
        while plan.take():
            t0 = clock()
            try:
                async with asyncio.timeout(timeout):
                    status = await conn.request(data)
            except TimeoutError:
                self.timeouts += 1
            except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ValueError):
                self.transport_errors += 1
            else:
                self._answered(status, clock() - t0)
                continue
            await conn.close()  # reconnects on the next request
            self._failed()

    async def raw_worker(self, index: int) -> None:
        conn = _RawConnection(self.spec.host, self.spec.port)
        data = _raw_request(self.spec, index)
        try:
            try:
                await conn.open()
                await self.connected.wait()
                await self._raw_loop(self.warm, conn, data)
                await self.warmed.wait()
            except BaseException:
                await self._abort()
                raise
            await self.go.wait()
            await self._raw_loop(self.plan, conn, data)
        finally:
            await conn.close()

    async def _httpx_loop(self, plan: _Plan, headers: dict[str, str]) -> None:
        client, path, clock = self.client, self.spec.path, time.perf_counter
        assert client is not None
        while plan.take():
            t0 = clock()
            try:
                response = await client.get(path, headers=headers)
            except httpx.TimeoutException:
                self.timeouts += 1
            except httpx.TransportError:
                self.transport_errors += 1
            else:
                self._answered(response.status_code, clock() - t0)
                continue
            self._failed()

    async def httpx_worker(self, index: int) -> None:
        headers = dict(self.spec.headers_for(index))
        try:
            await self.connected.wait()
            await self._httpx_loop(self.warm, headers)
            await self.warmed.wait()
        except BaseException:
            await self._abort()
            raise
        await self.go.wait()
        await self._httpx_loop(self.plan, headers)

    async def drive(self, server_pid: int | None, on_start: Callable[[], object] | None) -> LoadResult:
        worker = self.raw_worker if self.spec.client == "raw" else self.httpx_worker
        tasks = [asyncio.create_task(worker(i)) for i in range(self.spec.concurrency)]
        probe = CpuProbe(other_pid=server_pid)
        try:
            await self.connected.wait()
            self.warm.begin()
            await self.warmed.wait()
            if on_start is not None:
                on_start()
            probe.start()
            warmup_failures = self._start_measuring()
            self.go.set()
            await asyncio.gather(*tasks)
            cpu = probe.stop()
        except asyncio.BrokenBarrierError:
            # A client failed while connecting or warming up: report its error, not the barrier's.
            outcomes = await asyncio.gather(*tasks, return_exceptions=True)
            causes = [
                o
                for o in outcomes
                if isinstance(o, Exception) and not isinstance(o, asyncio.BrokenBarrierError)
            ]
            cause = causes[0] if causes else None
            raise RuntimeError(f"{self.spec.label}: a client failed before the run: {cause!r}") from cause
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            if self.client is not None:
                await self.client.aclose()
        return LoadResult(
            self.spec,
            self.latencies,
            self.statuses,
            self.transport_errors,
            self.timeouts,
            self.plan.stopped_by,
            warmup_failures,
            cpu,
        )


def run_load(
    spec: LoadSpec, server_pid: int | None = None, on_start: Callable[[], object] | None = None
) -> LoadResult:
    """Run one load phase (on uvloop when available) and return what the clients saw.

    `on_start` is called once warm-up is over, just before the measured requests start
    (e.g. to note where the server's log ends).
    """
    return _run(_Run(spec).drive(server_pid, on_start))


def _run(coro: Coroutine[Any, Any, LoadResult]) -> LoadResult:
    with asyncio.Runner(loop_factory=_loop_factory) as runner:
        return runner.run(coro)
