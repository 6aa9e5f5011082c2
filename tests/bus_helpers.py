"""Helpers shared by the bus tests: a recording handler and waiting with a deadline."""

from __future__ import annotations

import time
from collections.abc import Callable

import anyio

from khusela.core.events import Event


class Recorder:
    """A handler that remembers every event it was given, optionally slowly."""

    def __init__(self, delay: float = 0.0) -> None:
        self.events: list[Event] = []
        self._delay = delay

    async def __call__(self, event: Event) -> None:
        if self._delay:
            await anyio.sleep(self._delay)
        self.events.append(event)

    @property
    def ids(self) -> list[str]:
        return [e.id for e in self.events]

    @property
    def subjects(self) -> list[str]:
        return [e.subject for e in self.events]


async def eventually(condition: Callable[[], bool], within: float = 5.0, interval: float = 0.01) -> bool:
    """Poll `condition` until it holds or `within` seconds pass; returns its last value."""
    deadline = time.monotonic() + within
    while not condition():
        if time.monotonic() >= deadline:
            return False
        await anyio.sleep(interval)
    return True
