"""The demo's simulated fleet: units on duty report a position every few seconds, as their
vehicles' trackers would, so that recommendations (which ignore positions older than five
minutes) keep working in a demo left running. Only ever started in the demo environment."""

from __future__ import annotations

import asyncio
import contextlib
import random
from datetime import UTC, datetime

import structlog
from sqlalchemy import select

from khusela.core.gazetteer import Gazetteer
from khusela.panic.avl import report_location
from khusela.panic.model import UnitStatus
from khusela.panic.tables import units
from khusela.store.database import Database

log = structlog.get_logger(__name__)
DRIFT_DEGREES = 0.002
"""About 200 m: a patrol car moving around its area between two reports."""


class DemoFleet:
    def __init__(self, db: Database, gazetteer: Gazetteer, interval_seconds: float = 30.0) -> None:
        self._db, self._gazetteer, self._interval = db, gazetteer, interval_seconds
        self._task: asyncio.Task[None] | None = None
        self._rng = random.Random()  # noqa: S311 - simulated movement, not security

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="demo-fleet")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _run(self) -> None:
        while True:
            try:
                await asyncio.to_thread(self.tick)
            except Exception:
                log.exception("demo_fleet.tick_failed")
            await asyncio.sleep(self._interval)

    def tick(self) -> int:
        """Move every unit on duty a little; returns how many reported."""
        now = datetime.now(UTC)
        with self._db.write() as conn:
            rows = conn.execute(
                select(units.c.id, units.c.lat, units.c.lon).where(
                    units.c.status != UnitStatus.OFF_DUTY.value, units.c.lat.is_not(None)
                )
            ).all()
            for row in rows:
                lat = row.lat + self._rng.uniform(-DRIFT_DEGREES, DRIFT_DEGREES)
                lon = row.lon + self._rng.uniform(-DRIFT_DEGREES, DRIFT_DEGREES)
                report_location(conn, "demo-fleet", row.id, lat, lon, 10.0, now, gazetteer=self._gazetteer)
        return len(rows)
