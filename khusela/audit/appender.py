"""Chains staged audit records in the background (a `Background` service, one per process).

Records that a hot path staged (`log.stage`) are already durable; this service makes them
part of the chain soon after, many per transaction, so the head row is locked once per
batch instead of once per alert. Several processes may run one: each batch takes the head
row, so they simply take turns. If none runs, the next `log.append` chains them anyway.
"""

from __future__ import annotations

import asyncio
import contextlib

import structlog

from khusela.audit import log as audit
from khusela.store.database import Database

log = structlog.get_logger(__name__)


class AuditAppender:
    """Drains `audit_pending` into the chain: at once while there is a backlog, then every
    `idle_seconds` (the longest a staged record waits when the platform is quiet)."""

    def __init__(self, db: Database, batch: int = audit.DRAIN_BATCH, idle_seconds: float = 0.1) -> None:
        self._db, self._batch, self._idle = db, batch, idle_seconds
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._run(), name="audit-appender")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    def drain_once(self) -> int:
        """Chain one batch in its own transaction; returns how many records. Looks first in
        a read transaction, so a quiet platform never takes SQLite's write lock for nothing."""
        with self._db.read() as conn:
            if not audit.has_staged(conn):
                return 0
        with self._db.write() as conn:
            return audit.drain(conn, self._batch)

    async def _run(self) -> None:
        backoff = self._idle
        while True:
            try:
                chained = await asyncio.to_thread(self.drain_once)
                backoff = self._idle
            except Exception:
                log.exception("audit.append_failed", retry_in=backoff)
                chained = 0
                backoff = min(backoff * 2, 5.0)
            if chained < self._batch:
                await asyncio.sleep(backoff)
