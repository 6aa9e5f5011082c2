"""Keep the enforcement files in step with the active response actions.

The files (`khusela.cyber.response.publish`) are rewritten whole after every change and
on a timer, which also marks lapsed actions expired. A rewrite is cheap and idempotent,
so a missed poke costs at most `INTERVAL_SECONDS` of delay, never a stale block.
"""

from __future__ import annotations

import asyncio
import contextlib
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import structlog
from starlette.concurrency import run_in_threadpool

from khusela.cyber.response import ResponseFiles, publish
from khusela.cyber.soc import actions

if TYPE_CHECKING:
    from khusela.bootstrap import Platform

log = structlog.get_logger(__name__)
INTERVAL_SECONDS = 30.0


def response_dir(platform: Platform) -> Path:
    return platform.settings.cyber_response_dir or platform.settings.data_dir / "cyber-response"


class ResponsePublisher:
    """Expire lapsed actions and rewrite the files; `poke()` after any change to an action."""

    def __init__(self, platform: Platform) -> None:
        self._platform = platform
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self.last: ResponseFiles | None = None
        self.last_at: datetime | None = None
        self.last_error: str | None = None

    def poke(self) -> None:
        self._wake.set()

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="cyber-response-files")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _run(self) -> None:
        while True:
            self._wake.clear()
            try:
                await run_in_threadpool(self.publish_now)
            except Exception as exc:  # a full disk must not kill the loop; it is retried and shown
                self.last_error = str(exc) or type(exc).__name__
                log.exception("cyber.response_publish_failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), INTERVAL_SECONDS)

    def publish_now(self) -> ResponseFiles:
        """Expire what lapsed, then write the files for what is active now."""
        now = datetime.now(UTC)
        with self._platform.db.write() as conn:
            expired = actions.expire_due(conn, now)
            blocks = actions.active_blocks(conn, now)
        if expired:
            self._platform.relay.notify()
        directory = response_dir(self._platform)
        directory.mkdir(parents=True, exist_ok=True)
        files = publish(directory, blocks, now=now, serial=int(now.timestamp()))
        self.last, self.last_at, self.last_error = files, now, None
        return files
