"""The syslog listener over real loopback sockets: every good message arrives, bad ones are counted."""

from __future__ import annotations

import asyncio
import socket

from khusela.cyber.ingest.listener import SyslogListener
from khusela.cyber.ingest.syslog import Malformed, SyslogRecord

GOOD_UDP = [b"<34>1 2024-01-01T00:00:00Z h app - - - udp one", b"<13>Jan  1 00:00:01 h app[1]: udp two\n"]


async def _exchange() -> tuple[list[SyslogRecord], list[Malformed], SyslogListener]:
    records: list[SyslogRecord] = []
    bad: list[Malformed] = []
    async with SyslogListener(records.append, host="127.0.0.1", port=0, on_malformed=bad.append) as listener:
        assert listener.udp_port
        assert listener.tcp_port
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
            for datagram in [GOOD_UDP[0], b"<999>broken", GOOD_UDP[1]]:
                udp.sendto(datagram, ("127.0.0.1", listener.udp_port))
        counted = b"<34>1 2024-01-01T00:00:02Z h app - - - tcp counted"
        _, writer = await asyncio.open_connection("127.0.0.1", listener.tcp_port)
        writer.write(b"%d " % len(counted) + counted)
        writer.write(b"<13>Jan  1 00:00:03 h app: tcp newline\nnot syslog at all\n<13>Jan  1 00:00:0")
        await writer.drain()
        writer.write(b"4 h app: tcp split across writes\n<13>Jan  1 00:00:05 h app: tcp unterminated")
        await writer.drain()
        writer.close()
        await writer.wait_closed()
        for _ in range(200):  # wait for delivery; loopback is quick but asynchronous
            if len(records) + len(bad) >= 8:
                break
            await asyncio.sleep(0.01)
    return records, bad, listener


def test_udp_and_tcp_deliver_every_good_record() -> None:
    records, bad, listener = asyncio.run(_exchange())
    messages = sorted(r.message for r in records)
    assert messages == sorted(
        [
            "udp one",
            "udp two",
            "tcp counted",
            "tcp newline",
            "tcp split across writes",
            "tcp unterminated",
        ]
    )
    assert sorted(b.reason for b in bad) == ["bad priority", "no priority or timestamp"]
    stats = listener.stats
    assert (stats.received, stats.parsed, stats.connections) == (8, 6, 1)
    assert dict(stats.malformed) == {"bad priority": 1, "no priority or timestamp": 1}
