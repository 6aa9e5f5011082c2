"""SIGKILL in the middle of a burst of panic alerts: nothing acknowledged is lost.

A real `python -m khusela serve` takes alerts from many residents at once; once some have
been acknowledged (201) the process is killed with SIGKILL, with requests still in
flight, and started again. Then every alert that got a 201 must be in the database, the
outbox must hold nothing unpublished once the relay had a few seconds, and (on NATS)
every stored alert's `panic.alert_raised` event must be in the JetStream stream, read
from its start by a consumer of our own: the promise "201 after a durable commit, with
its event in the outbox" holds across a crash.

The embedded variant (SQLite, in-process bus) checks the same for the database and the
outbox: the in-process bus keeps nothing itself, so after the restart the relay must
publish whatever the crash left in the outbox.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import nats
import psycopg
import pytest
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy
from nats.js.errors import NotFoundError
from sqlalchemy import func, insert, select
from sqlalchemy.engine import make_url

from khusela.bus.outbox import pending_count
from khusela.bus.tables import outbox
from khusela.identity import directory
from khusela.identity.model import SYSTEM, Role
from khusela.identity.sessions import token_digest
from khusela.identity.tables import access_tokens
from khusela.panic.tables import alerts
from khusela.store.database import Database
from khusela.store.migrate import upgrade
from tests.services import service_url

pytestmark = pytest.mark.slow

SECRET = "khusela-durability-test-pepper"
RESIDENTS = 400
"""One press each, from distinct residents: no press joins another."""
KILL_AFTER = 100
"""SIGKILL the server once this many alerts were acknowledged."""
CONCURRENCY = 24
"""Requests in flight at once, so the kill interrupts some of them."""
RAISED = "panic.alert_raised"
# Gauteng: Hillbrow, Soweto, Pretoria central, Benoni, Germiston (small jitter added per press).
PLACES = (
    (-26.1885, 28.0470),
    (-26.2485, 27.8540),
    (-25.7479, 28.1878),
    (-26.1885, 28.3208),
    (-26.2159, 28.1700),
)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Server:
    """`python -m khusela serve` as a child process, started and SIGKILLed at will."""

    env: dict[str, str]
    log_path: Path
    process: subprocess.Popen[bytes] | None = None
    port: int = 0
    starts: int = 0

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 60.0) -> None:
        self.port = _free_port()
        self.starts += 1
        with self.log_path.open("ab") as log:
            log.write(f"--- start {self.starts} on port {self.port}\n".encode())
            log.flush()
            self.process = subprocess.Popen(
                [sys.executable, "-m", "khusela", "serve", "--port", str(self.port)],
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.process.poll() is None, f"the server exited:\n{self.log_tail()}"
            try:
                if httpx.get(f"{self.base_url}/healthz", timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        pytest.fail(f"the server did not start within {timeout:.0f} s:\n{self.log_tail()}")

    def kill(self) -> None:
        """SIGKILL: no shutdown hook, no flush, no relay pass runs after this."""
        if self.process is not None and self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGKILL)

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(10)

    def log_tail(self, lines: int = 40) -> str:
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])


def _server_env(tmp_path: Path, database_url: str | None, bus_url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("KHUSELA_")}
    env.update(
        {
            "KHUSELA_ENVIRONMENT": "test",
            "KHUSELA_DATA_DIR": str(tmp_path / "data"),
            "KHUSELA_SECRET_KEY": SECRET,
            "KHUSELA_BUS_URL": bus_url,
            "KHUSELA_RATE_LIMIT_PER_MINUTE": "1000000",
            "KHUSELA_LOG_LEVEL": "WARNING",
        }
    )
    if database_url is not None:
        env["KHUSELA_DATABASE_URL"] = database_url
    return env


def _seed_residents(db: Database, n: int) -> list[str]:
    """n residents, each with a live token written directly (an SMS sign-in per resident
    would only slow the test down)."""
    now = datetime.now(UTC)
    tokens = [secrets.token_urlsafe(32) for _ in range(n)]
    with db.write() as conn:
        user_ids = [
            directory.create_user(
                conn, SYSTEM, username=f"resident-{i:05d}", roles=[Role.RESIDENT], phone=f"+2782{i:07d}"
            ).user.user_id
            for i in range(n)
        ]
        conn.execute(
            insert(access_tokens),
            [
                {
                    "token_hash": token_digest(token, SECRET),
                    "user_id": user_id,
                    "created_at": now,
                    "expires_at": now + timedelta(hours=1),
                }
                for token, user_id in zip(tokens, user_ids, strict=True)
            ],
        )
    return tokens


@dataclass
class Burst:
    acknowledged: set[str] = field(default_factory=set)
    """Alert ids answered 201."""
    failed: int = 0
    """Requests that got no answer (the kill) or an unexpected one."""
    statuses: dict[int, int] = field(default_factory=dict)
    killed_at_acknowledged: int | None = None


async def _burst(server: Server, tokens: list[str]) -> Burst:
    """One press per token, CONCURRENCY at a time; SIGKILL once KILL_AFTER are acknowledged."""
    result = Burst()
    gate = asyncio.Semaphore(CONCURRENCY)
    limits = httpx.Limits(max_connections=CONCURRENCY, max_keepalive_connections=CONCURRENCY)

    async def press(client: httpx.AsyncClient, i: int, token: str) -> None:
        lat, lon = PLACES[i % len(PLACES)]
        body = {
            "type": "crime",
            "lat": lat + (i % 17) * 0.001,
            "lon": lon - (i % 13) * 0.001,
            "accuracy_m": 15,
            "client_alert_id": f"burst-{i}",
        }
        async with gate:
            if result.killed_at_acknowledged is not None and not server.running:
                result.failed += 1  # nobody is listening any more: do not wait for a timeout
                return
            try:
                response = await client.post(
                    "/api/panic/alerts", json=body, headers={"Authorization": f"Bearer {token}"}
                )
            except httpx.HTTPError:
                result.failed += 1
                return
        result.statuses[response.status_code] = result.statuses.get(response.status_code, 0) + 1
        if response.status_code != 201:
            result.failed += 1
            return
        result.acknowledged.add(response.json()["id"])
        if len(result.acknowledged) >= KILL_AFTER and result.killed_at_acknowledged is None:
            result.killed_at_acknowledged = len(result.acknowledged)
            server.kill()

    async with httpx.AsyncClient(base_url=server.base_url, limits=limits, timeout=10.0) as client:
        await asyncio.gather(*(press(client, i, t) for i, t in enumerate(tokens)))
    return result


def _run_burst(server: Server, tokens: list[str]) -> Burst:
    burst = asyncio.run(_burst(server, tokens))
    assert server.process is not None
    server.process.wait(10)
    assert server.process.returncode == -signal.SIGKILL, "the server must have died by SIGKILL"
    assert burst.killed_at_acknowledged is not None, f"fewer than {KILL_AFTER} acknowledged: {burst}"
    assert burst.failed > 0, "the kill must interrupt the burst, not come after it"
    assert set(burst.statuses) <= {201}, f"unexpected answers before the kill: {burst.statuses}"
    return burst


def _stored_alert_ids(db: Database) -> set[str]:
    with db.read() as conn:
        return set(conn.execute(select(alerts.c.id)).scalars())


def _wait_for_empty_outbox(db: Database, within: float = 15.0) -> int:
    """Poll the outbox until the relay published everything; returns what is still pending."""
    deadline = time.monotonic() + within
    while True:
        with db.read() as conn:
            pending = pending_count(conn)
        if pending == 0 or time.monotonic() >= deadline:
            return pending
        time.sleep(0.1)


def _assert_acknowledged_survive(db: Database, burst: Burst) -> set[str]:
    stored = _stored_alert_ids(db)
    missing = burst.acknowledged - stored
    assert not missing, f"{len(missing)} acknowledged alerts are not in the database: {sorted(missing)[:5]}"
    return stored


# --- PostgreSQL + NATS JetStream ---------------------------------------------------------------


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A throw-away PostgreSQL database for this test alone, migrated."""
    admin = make_url(service_url("postgres"))
    name = f"khusela_durability_{uuid.uuid4().hex[:10]}"
    dsn = admin.set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    url = admin.set(database=name).render_as_string(hide_password=False)
    try:
        db = Database(url, pool_size=2)
        upgrade(db)
        db.dispose()
        yield url
    finally:
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@dataclass(frozen=True)
class Stream:
    server: str
    name: str
    prefix: str

    @property
    def bus_url(self) -> str:
        return f"{self.server}?stream={self.name}&prefix={self.prefix}"


async def _delete_stream(stream: Stream) -> None:
    nc = await nats.connect(stream.server, connect_timeout=2, max_reconnect_attempts=0)
    try:
        js = nc.jetstream()
        with contextlib.suppress(NotFoundError):
            await js.delete_stream(stream.name)
    finally:
        await nc.close()


@pytest.fixture
def stream() -> Iterator[Stream]:
    """A stream and subject prefix of this test run's own, deleted afterwards."""
    tag = uuid.uuid4().hex[:10]
    created = Stream(service_url("nats"), f"KHUSELA_DURABILITY_{tag}", f"durability{tag}")
    yield created
    asyncio.run(_delete_stream(created))


async def _raised_in_stream(stream: Stream) -> list[str]:
    """The alert id of every `panic.alert_raised` message in the stream, read from its start."""
    nc = await nats.connect(stream.server, connect_timeout=2, max_reconnect_attempts=0)
    try:
        js = nc.jetstream()
        subject = f"{stream.prefix}.{RAISED}"
        info = await js.stream_info(stream.name, subjects_filter=subject)
        expected = int((info.state.subjects or {}).get(subject, 0))
        sub = await js.pull_subscribe(
            subject,
            stream=stream.name,
            config=ConsumerConfig(deliver_policy=DeliverPolicy.ALL, ack_policy=AckPolicy.NONE),
        )
        ids: list[str] = []
        while len(ids) < expected:
            try:
                messages = await sub.fetch(batch=500, timeout=2)
            except TimeoutError:
                break
            ids += [json.loads(m.data)["payload"]["alert_id"] for m in messages]
        await sub.unsubscribe()
        return ids
    finally:
        await nc.close()


@pytest.mark.postgres
@pytest.mark.nats
def test_sigkill_mid_burst_on_postgres_and_nats_loses_no_acknowledged_alert(
    tmp_path: Path, pg_url: str, stream: Stream
) -> None:
    db = Database(pg_url, pool_size=2)
    server = Server(_server_env(tmp_path, pg_url, stream.bus_url), tmp_path / "server.log")
    try:
        tokens = _seed_residents(db, RESIDENTS)
        server.start()
        burst = _run_burst(server, tokens)
        with db.read() as conn:
            left_in_outbox = pending_count(conn)

        server.start()
        stored = _assert_acknowledged_survive(db, burst)
        pending = _wait_for_empty_outbox(db)
        assert pending == 0, (
            f"{pending} events still unpublished after the restart "
            f"({left_in_outbox} were pending at the kill):\n{server.log_tail()}"
        )
        in_stream = asyncio.run(_raised_in_stream(stream))
        not_delivered = burst.acknowledged - set(in_stream)
        assert not not_delivered, (
            f"{len(not_delivered)} acknowledged alerts have no {RAISED} event in the stream "
            f"({left_in_outbox} events were pending at the kill)"
        )
        assert stored <= set(in_stream), "every stored alert, acknowledged or not, has its event"
        assert len(in_stream) == len(set(in_stream)), "JetStream dropped re-published copies by event id"
    finally:
        server.stop()
        db.dispose()


# --- SQLite + in-process bus (the embedded default) ---------------------------------------------


def test_sigkill_mid_burst_on_the_embedded_default_loses_no_acknowledged_alert(tmp_path: Path) -> None:
    env = _server_env(tmp_path, None, "inprocess://")
    db = Database(f"sqlite:///{(tmp_path / 'data' / 'khusela.db').resolve()}")
    server = Server(env, tmp_path / "server.log")
    try:
        upgrade(db)
        tokens = _seed_residents(db, RESIDENTS)
        server.start()
        burst = _run_burst(server, tokens)
        with db.read() as conn:
            left_in_outbox = pending_count(conn)

        server.start()
        stored = _assert_acknowledged_survive(db, burst)
        pending = _wait_for_empty_outbox(db)
        assert pending == 0, (
            f"{pending} events still unpublished after the restart "
            f"({left_in_outbox} were pending at the kill):\n{server.log_tail()}"
        )
        with db.read() as conn:
            raised = conn.execute(
                select(func.count())
                .select_from(outbox)
                .where(outbox.c.subject == RAISED, outbox.c.published_at.is_not(None))
            ).scalar_one()
        assert raised == len(stored), "each stored alert's event was handed to the bus"
    finally:
        server.stop()
        db.dispose()
