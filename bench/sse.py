"""Operator consoles for benchmarks: Server-Sent Events clients in a child process.

`FeedConsumers(host, port, token, connections=K).start()` spawns one process that opens K
connections to GET /api/feed (bearer token), each like a console would, and notes for every
event the moment its bytes arrived (`time.monotonic()`, the same system-wide clock the load
generator uses in its own process). The consumers run in their own process so that the
load generator's event loop, busy sending a thousand requests a second, cannot delay when
a push is seen.

The parser takes `id:`, `event:` and `data:` fields (several `data:` lines are joined) and
ignores comments (`: keep-alive`); a message's `data` is JSON whose `alert_id` (or
`payload.alert_id`) names the alert. A dropped connection is reopened with `Last-Event-ID`,
and counted.

While running, `seen(k)` says how many distinct alerts connection k has been told were
raised; `stop()` returns, per connection, the first-seen time of every alert and counts.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import multiprocessing as mp
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from multiprocessing.connection import Connection as Pipe
from multiprocessing.sharedctypes import SynchronizedArray
from pathlib import Path
from typing import Any

RAISED = "panic.alert_raised"
CHANGED = "panic.alert_changed"


@dataclass(frozen=True, slots=True)
class FeedTarget:
    host: str
    port: int
    token: str
    path: str = "/api/feed"


@dataclass(slots=True)
class ConnectionResult:
    """What one console connection saw."""

    local_port: int
    raised_at: dict[str, float] = field(default_factory=dict)
    """alert id → when its first `panic.alert_raised` message arrived (time.monotonic())."""
    events: int = 0
    by_subject: dict[str, int] = field(default_factory=dict)
    duplicate_raised: int = 0
    """`panic.alert_raised` messages for an alert already seen on this connection."""
    undecodable: int = 0
    disconnects: int = 0
    bytes: int = 0
    errors: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "local_port": self.local_port,
            "distinct_alerts_raised": len(self.raised_at),
            "events": self.events,
            "by_subject": dict(sorted(self.by_subject.items())),
            "duplicate_raised": self.duplicate_raised,
            "undecodable": self.undecodable,
            "disconnects": self.disconnects,
            "bytes": self.bytes,
            "errors": self.errors[:5],
        }


class FeedError(RuntimeError):
    pass


class _Stream:
    """One SSE connection: HTTP/1.1 request, then the body (chunked or not) fed to a parser."""

    def __init__(self, target: FeedTarget, result: ConnectionResult, counter: SynchronizedArray[int], k: int):
        self.target, self.result, self.counter, self.k = target, result, counter, k
        self.last_event_id: str | None = None
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None
        # The event being assembled.
        self._event = ""
        self._data: list[bytes] = []
        self._id: str | None = None
        self._pending = b""

    async def connect(self) -> None:
        self.reader, self.writer = await asyncio.open_connection(self.target.host, self.target.port)
        self.result.local_port = int(self.writer.get_extra_info("sockname")[1])
        lines = [
            f"GET {self.target.path} HTTP/1.1",
            f"Host: {self.target.host}:{self.target.port}",
            f"Authorization: Bearer {self.target.token}",
            "Accept: text/event-stream",
            "Cache-Control: no-cache",
            "User-Agent: khusela-bench-console",
        ]
        if self.last_event_id:
            lines.append(f"Last-Event-ID: {self.last_event_id}")
        self.writer.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"))
        head = await self.reader.readuntil(b"\r\n\r\n")
        status = int(head[9:12])
        if status != 200:
            body = b""
            with contextlib.suppress(Exception):
                body = await asyncio.wait_for(self.reader.read(2000), 1.0)
            raise FeedError(f"GET {self.target.path} answered {status}: {body[:300]!r}")
        self.chunked = b"transfer-encoding: chunked" in head.lower()

    async def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            with contextlib.suppress(OSError):
                await self.writer.wait_closed()
        self.reader = self.writer = None

    async def read_forever(self) -> None:
        """Read until the connection ends (returns) or fails (raises)."""
        reader = self.reader
        assert reader is not None
        if self.chunked:
            while True:
                size_line = await reader.readuntil(b"\r\n")
                size = int(size_line.split(b";")[0], 16)
                if size == 0:
                    return
                data = await reader.readexactly(size + 2)
                self.feed(data[:-2], time.monotonic())
        else:
            while True:
                data = await reader.read(65536)
                if not data:
                    return
                self.feed(data, time.monotonic())

    def feed(self, data: bytes, at: float) -> None:
        self.result.bytes += len(data)
        buffer = self._pending + data
        lines = buffer.split(b"\n")
        self._pending = lines.pop()
        for raw in lines:
            line = raw[:-1] if raw.endswith(b"\r") else raw
            if not line:
                self._dispatch(at)
            elif line.startswith(b":"):
                continue
            else:
                name, _, value = line.partition(b":")
                if value.startswith(b" "):
                    value = value[1:]
                if name == b"data":
                    self._data.append(value)
                elif name == b"event":
                    self._event = value.decode()
                elif name == b"id":
                    self._id = value.decode()

    def _dispatch(self, at: float) -> None:
        data, event, event_id = self._data, self._event, self._id
        self._data, self._event, self._id = [], "", None
        if not data:
            return
        if event_id:
            self.last_event_id = event_id
        result = self.result
        result.events += 1
        result.by_subject[event or "message"] = result.by_subject.get(event or "message", 0) + 1
        if event != RAISED:
            return
        try:
            payload = json.loads(b"\n".join(data))
            alert_id = payload.get("alert_id") or payload["payload"]["alert_id"]
        except (ValueError, KeyError, TypeError, AttributeError):
            result.undecodable += 1
            return
        if alert_id in result.raised_at:
            result.duplicate_raised += 1
        else:
            result.raised_at[alert_id] = at
            self.counter[self.k] = len(result.raised_at)


async def _consume(
    target: FeedTarget,
    k: int,
    result: ConnectionResult,
    counter: SynchronizedArray[int],
    connected: asyncio.Event,
) -> None:
    stream = _Stream(target, result, counter, k)
    while True:
        try:
            await stream.connect()
            connected.set()
            await stream.read_forever()
        except asyncio.CancelledError:
            await stream.close()
            raise
        except FeedError:
            await stream.close()
            raise
        except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ValueError) as exc:
            result.errors.append(repr(exc))
        await stream.close()
        result.disconnects += 1
        await asyncio.sleep(0.2)


async def _main(
    target: FeedTarget,
    connections: int,
    counter: SynchronizedArray[int],
    stop: Any,
    pipe: Pipe,
) -> None:
    results = [ConnectionResult(0) for _ in range(connections)]
    events = [asyncio.Event() for _ in range(connections)]
    tasks = [
        asyncio.create_task(_consume(target, k, results[k], counter, events[k])) for k in range(connections)
    ]
    try:
        async with asyncio.timeout(30):
            all_connected: asyncio.Future[Any] = asyncio.ensure_future(
                asyncio.gather(*(e.wait() for e in events))
            )
            watched: list[asyncio.Future[Any]] = [all_connected, *tasks]
            done, _ = await asyncio.wait(watched, return_when=asyncio.FIRST_COMPLETED)
            for task in tasks:
                if task in done:  # a consumer ended before all were connected: it failed
                    failure = task.exception()
                    raise failure if failure is not None else FeedError("a console connection ended")
    except BaseException as exc:
        pipe.send({"error": repr(exc)})
        for task in tasks:
            task.cancel()
        return
    pipe.send({"ready": [r.local_port for r in results]})
    while not stop.is_set():
        await asyncio.sleep(0.05)
        for task in tasks:
            if task.done() and not task.cancelled() and task.exception() is not None:
                results[tasks.index(task)].errors.append(repr(task.exception()))
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    pipe.send({"results": results})


def _child(
    target: FeedTarget, connections: int, counter: SynchronizedArray[int], stop: Any, pipe: Pipe
) -> None:
    try:
        import uvloop

        runner = asyncio.Runner(loop_factory=uvloop.new_event_loop)
    except ImportError:  # pragma: no cover
        runner = asyncio.Runner()
    with runner:
        runner.run(_main(target, connections, counter, stop, pipe))


class FeedConsumers:
    """K console connections to the feed, in a child process (see the module docstring)."""

    def __init__(self, target: FeedTarget, connections: int = 1) -> None:
        self.target, self.connections = target, connections
        ctx = mp.get_context("spawn")
        self._counter: SynchronizedArray[int] = ctx.Array("q", connections)
        self._stop = ctx.Event()
        self._parent, child = ctx.Pipe()
        self._process = ctx.Process(
            target=_child,
            args=(target, connections, self._counter, self._stop, child),
            name="khusela-bench-feed",
            daemon=True,
        )
        self.local_ports: list[int] = []

    @property
    def pid(self) -> int | None:
        return self._process.pid

    def start(self, timeout: float = 40.0) -> FeedConsumers:
        self._process.start()
        if not self._parent.poll(timeout):
            self._process.kill()
            raise FeedError(f"the feed consumers did not connect within {timeout:.0f} s")
        message = self._parent.recv()
        if "error" in message:
            self._process.join(5)
            raise FeedError(f"the feed consumers could not connect: {message['error']}")
        self.local_ports = list(message["ready"])
        return self

    def seen(self, k: int = 0) -> int:
        """Distinct alerts connection k has seen raised so far."""
        return int(self._counter[k])

    def seen_by_all(self) -> int:
        return min(int(self._counter[k]) for k in range(self.connections))

    def stop(self, timeout: float = 30.0) -> list[ConnectionResult]:
        self._stop.set()
        if not self._parent.poll(timeout):
            self._process.kill()
            raise FeedError("the feed consumers did not report")
        message = self._parent.recv()
        self._process.join(5)
        if "results" not in message:
            raise FeedError(f"the feed consumers failed: {message}")
        results: list[ConnectionResult] = message["results"]
        return results

    def kill(self) -> None:
        if self._process.is_alive():
            self._process.kill()
            self._process.join(5)


def owners_of_connections(
    server_port: int, client_ports: Sequence[int], pids: Sequence[int]
) -> list[int | None]:
    """Which of `pids` holds the server side of each loopback connection (Linux /proc).

    With several Uvicorn workers sharing one listening socket, the kernel decides which
    worker accepts a connection; this tells which one did.
    """
    inode_of_peer: dict[int, str] = {}
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            cols = line.split()
            local, remote, inode = cols[1], cols[2], cols[9]
            if int(local.rsplit(":", 1)[1], 16) == server_port:
                inode_of_peer[int(remote.rsplit(":", 1)[1], 16)] = inode
    holders: dict[str, int] = {}
    for pid in pids:
        fd_dir = Path(f"/proc/{pid}/fd")
        try:
            for fd in fd_dir.iterdir():
                with contextlib.suppress(OSError):
                    target = str(fd.readlink())
                    if target.startswith("socket:["):
                        holders[target[8:-1]] = pid
        except OSError:
            continue
    return [holders.get(inode_of_peer.get(port, "")) for port in client_ports]
