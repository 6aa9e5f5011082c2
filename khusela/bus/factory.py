"""Choose the bus adapter from `KHUSELA_BUS_URL`."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

from khusela.bus.adapters.inprocess import InProcessBus
from khusela.bus.adapters.nats import NatsBus
from khusela.bus.ports import EventBus


def create_bus(url: str) -> EventBus:
    """`inprocess://` or `nats://host:port[,host:port…][?stream=NAME&prefix=P&replicas=N]`."""
    parts = urlsplit(url)
    if parts.scheme in ("inprocess", ""):
        return InProcessBus()
    if parts.scheme in ("nats", "tls"):
        options = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        servers = f"{parts.scheme}://{parts.netloc}"
        return NatsBus(
            servers,
            stream=options.get("stream", "KHUSELA"),
            prefix=options.get("prefix", "khusela"),
            replicas=int(options.get("replicas", "1")),
        )
    raise ValueError(f"unsupported bus URL scheme {parts.scheme!r} (use inprocess:// or nats://)")
