"""The Khusela API in its own process, for benchmarks that drive it over real HTTP.

`serve(database_url)` starts `python -m bench.server …` on a free loopback port, waits until
/healthz answers, and always stops it. The server runs as `khusela serve` does (JSON logs,
Uvicorn with uvloop/httptools, no Uvicorn access log) but with the `test` environment, an
in-process bus and a rate limit high enough never to trigger. Its stderr (one JSON access
line per request at INFO) goes to a file, from which `route_latencies` reads the
server-side duration of each request.

Two probe routes are added for benchmarks only, to price authentication and policy over
HTTP without any handler work (every middleware still applies):
- GET /bench/authn: depends on `CurrentUser` (bearer token → principal);
- GET /bench/authz: depends on `require(Action.ME_READ)`, as protected routes declare it.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

import httpx
from fastapi import Depends, FastAPI

from bench.common import ROOT
from khusela.api.deps import CurrentUser, require
from khusela.identity.model import Principal
from khusela.identity.policy import Action

RATE_LIMIT_NEVER = 10**9
BENCH_SECRET = "khusela-bench-token-pepper"  # noqa: S105 - a throw-away database's pepper, not a secret
"""The server's `secret_key` (token pepper), so the benchmark can issue tokens directly."""


async def probe_authn(principal: CurrentUser) -> dict[str, str]:
    """Authentication only."""
    return {"user_id": principal.user_id}


async def probe_authz(principal: Annotated[Principal, Depends(require(Action.ME_READ))]) -> dict[str, str]:
    """Authentication and the policy check, exactly as protected routes declare them."""
    return {"user_id": principal.user_id}


def add_probe_routes(app: FastAPI) -> None:
    app.add_api_route("/bench/authn", probe_authn, methods=["GET"], include_in_schema=False)
    app.add_api_route("/bench/authz", probe_authz, methods=["GET"], include_in_schema=False)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--data-dir", type=Path, required=True)
    parser.add_argument("--log-level", default="INFO")
    args = parser.parse_args(argv)

    import uvicorn

    from khusela.api.app import create_app
    from khusela.bootstrap import bootstrap
    from khusela.core.logging import configure_logging
    from khusela.core.settings import Environment, Settings

    settings = Settings(
        environment=Environment.TEST,
        database_url=args.database_url,
        data_dir=args.data_dir,
        rate_limit_per_minute=RATE_LIMIT_NEVER,
        secret_key=BENCH_SECRET,
        log_level=args.log_level,
        bus_url="inprocess://",
        redis_url=None,
    )
    configure_logging(settings.log_level)
    app = create_app(bootstrap(settings))
    add_probe_routes(app)
    uvicorn.run(app, host=args.host, port=args.port, log_config=None, access_log=False, log_level="warning")


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


@dataclass
class RunningServer:
    process: subprocess.Popen[bytes]
    host: str
    port: int
    log_path: Path
    stop_timeout: float = 3.0
    """Seconds to wait after SIGTERM before SIGKILL; set it low once the server is known to be stuck."""

    @property
    def pid(self) -> int:
        return self.process.pid

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def log_offset(self) -> int:
        """Where the log ends now; pass it to `route_latencies` after a run."""
        return self.log_path.stat().st_size

    def wait_idle(self, timeout: float = 90.0) -> float:
        """Wait until /readyz (a worker thread and a pooled connection) answers at once.

        After a run that stalled the server, its threads may still be waiting for
        database connections; the next run must not start inside that backlog.
        Returns the seconds waited.
        """
        started = time.monotonic()
        with httpx.Client(timeout=2.0) as client:
            while time.monotonic() - started < timeout:
                try:
                    if client.get(f"{self.base_url}/readyz").status_code == 200:
                        return time.monotonic() - started
                except httpx.TransportError:
                    pass
                time.sleep(0.2)
        raise RuntimeError(f"the server did not become idle within {timeout:.0f} s:\n{self.log_tail()}")

    def log_tail(self, lines: int = 30) -> str:
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])

    def count_in_log(self, since: int, needle: bytes) -> int:
        """Lines logged after offset `since` that contain `needle`."""
        with self.log_path.open("rb") as f:
            f.seek(since)
            return sum(1 for line in f if needle in line)

    def route_latencies(self, since: int, route: str) -> list[float]:
        """Server-side durations (seconds) of requests to `route` logged after offset `since`.

        Empty when the server logs above INFO. The time is what the RequestContext
        middleware measured: from the outermost middleware to the end of the response,
        so it includes waiting for a worker thread but not time queued in the kernel or
        in the event loop before the request was parsed.
        """
        out: list[float] = []
        with self.log_path.open("rb") as f:
            f.seek(since)
            for raw in f:
                if b'"http.request"' not in raw:
                    continue
                try:
                    line = json.loads(raw)
                except ValueError:
                    continue
                if line.get("route") == route and isinstance(line.get("ms"), int | float):
                    out.append(float(line["ms"]) / 1000.0)
        return out


def _child_env() -> dict[str, str]:
    # Settings are passed explicitly; stray KHUSELA_* variables (or a TOML file) must not change them.
    env = {k: v for k, v in os.environ.items() if not k.startswith("KHUSELA_")}
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH", "")) if p)
    return env


def _wait_ready(server: RunningServer, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    with httpx.Client(timeout=1.0) as client:
        while time.monotonic() < deadline:
            if server.process.poll() is not None:
                raise RuntimeError(
                    f"the server exited with {server.process.returncode}:\n{server.log_tail()}"
                )
            try:
                if client.get(f"{server.base_url}/healthz").status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.1)
    raise RuntimeError(f"the server did not answer /healthz within {timeout:.0f} s:\n{server.log_tail()}")


def stop(process: subprocess.Popen[bytes], timeout: float = 3.0) -> None:
    """SIGTERM (Uvicorn shuts down gracefully), then SIGKILL if it lingers."""
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout)


@contextmanager
def serve(
    database_url: str,
    *,
    host: str = "127.0.0.1",
    log_level: str = "INFO",
    startup_timeout: float = 60.0,
) -> Iterator[RunningServer]:
    """Run the API against `database_url` (already migrated) until the block ends."""
    with tempfile.TemporaryDirectory(prefix="khusela-bench-") as tmp:
        log_path = Path(tmp) / "server.log"
        port = free_port(host)
        command = [
            sys.executable,
            "-m",
            "bench.server",
            "--database-url",
            database_url,
            "--host",
            host,
            "--port",
            str(port),
            "--data-dir",
            str(Path(tmp) / "data"),
            "--log-level",
            log_level,
        ]
        with log_path.open("wb") as log_file:
            process = subprocess.Popen(  # noqa: S603 - our own interpreter and module
                command, cwd=ROOT, env=_child_env(), stdout=log_file, stderr=subprocess.STDOUT
            )
        server = RunningServer(process, host, port, log_path)
        try:
            _wait_ready(server, startup_timeout)
            yield server
        finally:
            stop(process, server.stop_timeout)


if __name__ == "__main__":
    main()
