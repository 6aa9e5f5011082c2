"""Choose the bus adapter from `KHUSELA_BUS_URL`."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

from khusela.bus.adapters.inprocess import InProcessBus
from khusela.bus.adapters.nats import NatsBus
from khusela.bus.ports import EventBus


def create_bus(url: str) -> EventBus:
    """`inprocess://` or `nats://host:port[,host:port…][?stream=NAME&prefix=P&replicas=N]`.

    `tls://` works like `nats://`. Anything else, including an address without a scheme
    such as `127.0.0.1:4222`, is a `ValueError` rather than a silent in-process bus.
    """
    parts = urlsplit(url.strip())
    if parts.scheme == "inprocess":
        return InProcessBus()
    if parts.scheme in ("nats", "tls"):
        if not parts.netloc:
            raise ValueError(f"bus URL {url!r} names no server (e.g. nats://127.0.0.1:4222)")
        options = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        return NatsBus(
            f"{parts.scheme}://{parts.netloc}",
            stream=options.get("stream", "KHUSELA"),
            prefix=options.get("prefix", "khusela"),
            replicas=int(options.get("replicas", "1")),
        )
    raise ValueError(f"unsupported bus URL {url!r} (use inprocess:// or nats://host:port)")
