"""Many consoles at once on a real server: every request is answered, none hangs.

Guards against the pool deadlock the foundation benchmark found (a connection held by a
dependency across the switch to the handler's thread); the benchmark's 200-client run is
the sharper check, this one keeps the basic promise in the suite.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator

import httpx
import pytest

from khusela.bootstrap import Platform, bootstrap
from khusela.bus.adapters.inprocess import InProcessBus
from khusela.core.settings import Settings
from khusela.identity.model import Role
from khusela.store.database import Database
from tests.conftest import People
from tests.live_server import live_server


@pytest.fixture
def platform_on_both(settings: Settings, database: Database) -> Platform:
    """The platform on SQLite and on PostgreSQL (whose test pool is small: 5 + 5 overflow)."""
    return bootstrap(settings, db=database, bus=InProcessBus())


@pytest.fixture
def server(platform_on_both: Platform) -> Iterator[str]:
    with live_server(platform_on_both) as base:
        yield base


def test_150_concurrent_clients_are_all_answered(server: str, platform_on_both: Platform) -> None:
    operator = People(platform_on_both.db).user("thandi", Role.OPERATOR)

    async def drive() -> list[int]:
        limits = httpx.Limits(max_connections=200, max_keepalive_connections=200)
        async with httpx.AsyncClient(base_url=server, limits=limits, timeout=20) as client:
            login = await client.post("/api/auth/login", json=operator.login_body())
            headers = {"Authorization": f"Bearer {login.json()['access_token']}"}
            paths = ["/api/me", "/api/panic/units", "/api/agencies"] * 50
            responses = await asyncio.gather(*(client.get(p, headers=headers) for p in paths))
            return [r.status_code for r in responses]

    started = time.monotonic()
    statuses = asyncio.run(drive())
    assert statuses == [200] * 150
    assert time.monotonic() - started < 20
