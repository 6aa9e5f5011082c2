"""An asyncio syslog receiver (UDP and TCP) that hands every parsed record to a callback.

Sensors, firewalls and servers push syslog at us; this is the front door. It never drops a good
message because a neighbour was bad, and it counts what it could not parse (by reason) so an
operator can see a misconfigured sender instead of silently losing its logs.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

from khusela.cyber.ingest.syslog import Framer, Malformed, SyslogRecord, parse

UDP_BUFFER_BYTES = 8 * 1024 * 1024
"""Asked of the kernel for the UDP socket (capped by net.core.rmem_max): UDP has no push-back."""
OnRecord = Callable[[SyslogRecord], None]
OnMalformed = Callable[[Malformed], None]


@dataclass
class ListenerStats:
    """What the listener has seen since it started."""

    received: int = 0
    parsed: int = 0
    malformed: Counter[str] = field(default_factory=Counter)
    connections: int = 0


class SyslogListener:
    """Listen on ``host:port`` for syslog over UDP (one message per datagram) and TCP (RFC 6587 framing).

    Port 0 asks the OS for free ports; read the bound ones from :attr:`udp_port` / :attr:`tcp_port`.
    """

    def __init__(
        self,
        on_record: OnRecord,
        *,
        host: str = "127.0.0.1",
        port: int = 514,
        udp: bool = True,
        tcp: bool = True,
        on_malformed: OnMalformed | None = None,
    ) -> None:
        self.host, self.port = host, port
        self._udp, self._tcp = udp, tcp
        self._on_record = on_record
        self._on_malformed = on_malformed
        self.stats = ListenerStats()
        self._transport: asyncio.DatagramTransport | None = None
        self._server: asyncio.Server | None = None
        self._handlers: set[asyncio.Task[None]] = set()
        self.udp_port: int | None = None
        self.tcp_port: int | None = None

    async def start(self) -> None:
        """Bind the sockets; returns once both are listening."""
        loop = asyncio.get_running_loop()
        if self._udp:
            transport, _ = await loop.create_datagram_endpoint(
                lambda: _Datagrams(self.handle), local_addr=(self.host, self.port)
            )
            self._transport = transport
            self.udp_port = transport.get_extra_info("sockname")[1]
            sock = transport.get_extra_info("socket")
            if sock is not None:  # a burst larger than the default buffer would be lost in the kernel
                with contextlib.suppress(OSError):
                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, UDP_BUFFER_BYTES)
        if self._tcp:
            self._server = await asyncio.start_server(self._serve, self.host, self.port)
            self.tcp_port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        """Close the sockets and every open TCP connection."""
        if self._transport is not None:
            self._transport.close()
        if self._server is not None:
            self._server.close()
            for task in list(self._handlers):
                task.cancel()
            await asyncio.gather(*self._handlers, return_exceptions=True)
            await self._server.wait_closed()

    async def __aenter__(self) -> SyslogListener:
        await self.start()
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.stop()

    def handle(self, frame: bytes | Malformed) -> None:
        """Parse one framed message and route it to the callback or the malformed count."""
        self.stats.received += 1
        result = frame if isinstance(frame, Malformed) else parse(frame)
        if isinstance(result, Malformed):
            self.stats.malformed[result.reason] += 1
            if self._on_malformed is not None:
                self._on_malformed(result)
            return
        self.stats.parsed += 1
        self._on_record(result)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None  # start_server always runs the handler in a task
        self._handlers.add(task)
        self.stats.connections += 1
        framer = Framer()
        try:
            while chunk := await reader.read(65536):
                for frame in framer.feed(chunk):
                    self.handle(frame)
            for frame in framer.close():
                self.handle(frame)
        except (ConnectionError, asyncio.IncompleteReadError):
            pass  # a sender vanishing mid-stream costs only its partial message
        finally:
            self._handlers.discard(task)
            writer.close()
            with contextlib.suppress(ConnectionError, asyncio.CancelledError):
                await writer.wait_closed()


class _Datagrams(asyncio.DatagramProtocol):
    """UDP: each datagram is one message (RFC 5426); a trailing newline is tolerated."""

    def __init__(self, handle: Callable[[bytes | Malformed], None]) -> None:
        self._handle = handle

    def datagram_received(self, data: bytes, addr: tuple[str | object, int]) -> None:
        self._handle(data)
