"""A real Uvicorn server around a test's platform, on a free loopback port, in a thread.

Browser tests and concurrency tests need real sockets (a browser cannot use a TestClient);
this is the one place that starts such a server and stops it again.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import uvicorn

from khusela.api.app import create_app
from khusela.bootstrap import Platform


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def live_server(platform: Platform, start_timeout_s: float = 10) -> Iterator[str]:
    """Serve `platform`'s app; yields the base URL (http://127.0.0.1:<port>)."""
    port = free_port()
    config = uvicorn.Config(
        create_app(platform),
        host="127.0.0.1",
        port=port,
        log_config=None,
        access_log=False,
        timeout_graceful_shutdown=2,
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + start_timeout_s
    while not server.started:
        assert thread.is_alive(), "the server stopped while starting"
        assert time.monotonic() < deadline, "the server did not start"
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
