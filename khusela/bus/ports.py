"""The bus port. Both adapters pass the same contract suite (tests/contract/test_bus.py).

Delivery is at-least-once: a handler that raises gets the event again later, so
handlers must be idempotent by event id (see `khusela.bus.inbox`).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Protocol

from khusela.core.events import Event

Handler = Callable[[Event], Awaitable[None]]


class BusUnavailable(Exception):
    """The bus could not take the event now; the outbox will try again."""


class Subscription(Protocol):
    async def stop(self) -> None:
        """Stop receiving; a durable consumer keeps its place for the next subscriber."""
        ...


class EventBus(Protocol):
    async def publish(self, event: Event) -> None:
        """Hand `event` to the bus durably, or raise `BusUnavailable`."""
        ...

    async def subscribe(self, pattern: str, durable: str, handler: Handler) -> Subscription:
        """Deliver events whose subject matches `pattern` (`*` one token, `>` the rest).

        Subscribers sharing a `durable` name share the work; each durable name gets every
        matching event published after it was first created, including while none of its
        subscribers was running.
        """
        ...

    async def healthy(self) -> bool:
        """Whether the bus can take events now (for `/readyz`)."""
        ...

    async def close(self) -> None:
        """Release connections and stop every subscription."""
        ...


def subject_matches(pattern: str, subject: str) -> bool:
    """NATS subject matching: `*` matches one token, a final `>` one or more."""
    parts, tokens = pattern.split("."), subject.split(".")
    for i, part in enumerate(parts):
        if part == ">":
            return len(tokens) > i
        if i >= len(tokens) or (part != "*" and part != tokens[i]):
            return False
    return len(parts) == len(tokens)
