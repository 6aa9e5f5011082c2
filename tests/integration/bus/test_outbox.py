"""The transactional outbox and the inbox, on SQLite and PostgreSQL.

What must hold: a committed change always produces its event, in order, once; a
rolled-back change never does; an outage of the bus delays events but loses none.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import anyio
import pytest
from sqlalchemy import select

from khusela.bus.adapters.inprocess import InProcessBus
from khusela.bus.adapters.nats import NatsBus
from khusela.bus.inbox import claim, once_per_event, seen
from khusela.bus.outbox import OutboxRelay, enqueue, pending_count
from khusela.bus.ports import BusUnavailable, EventBus, Handler, Subscription
from khusela.bus.tables import outbox
from khusela.core.events import Event
from khusela.store.database import Database
from tests.bus_helpers import Recorder, eventually
from tests.services import service_url

pytestmark = pytest.mark.anyio


class FlakyBus:
    """A working bus that can be switched off: while off, `publish` raises `BusUnavailable`.

    A fake, because the failure is the point. `hold` (when set) keeps each publish waiting
    until it is released, so a test can act while the relay is in the middle of a publish.
    """

    def __init__(self, inner: EventBus) -> None:
        self.inner = inner
        self.up = True
        self.published: list[str] = []
        self.attempts = 0
        self.fail_after: int | None = None
        self.hold: asyncio.Event | None = None

    async def publish(self, event: Event) -> None:
        self.attempts += 1
        up = self.up
        if self.hold is not None:
            await self.hold.wait()
        if not up or (self.fail_after is not None and len(self.published) >= self.fail_after):
            raise BusUnavailable("switched off by the test")
        await self.inner.publish(event)
        self.published.append(event.id)

    async def subscribe(self, pattern: str, durable: str, handler: Handler) -> Subscription:
        return await self.inner.subscribe(pattern, durable, handler)

    async def healthy(self) -> bool:
        return self.up and await self.inner.healthy()

    async def close(self) -> None:
        await self.inner.close()


@pytest.fixture
async def in_process() -> AsyncIterator[InProcessBus]:
    bus = InProcessBus()
    yield bus
    await bus.close()


def commit(db: Database, *events: Event) -> None:
    with db.write() as conn:
        enqueue(conn, *events)


def pending(db: Database) -> int:
    with db.read() as conn:
        return pending_count(conn)


def incidents(count: int, start: int = 0) -> list[Event]:
    return [Event("incident.opened", {"n": n}) for n in range(start, start + count)]


async def test_a_rolled_back_transaction_leaves_no_event(
    database: Database, in_process: InProcessBus
) -> None:
    consumer = Recorder()
    await in_process.subscribe("incident.>", "reports", consumer)
    lost = Event("incident.opened", {"n": 0})
    kept = Event("incident.opened", {"n": 1})

    def change_that_fails() -> None:
        with database.write() as conn:
            enqueue(conn, lost)
            raise RuntimeError("the change failed after the event was written")

    with pytest.raises(RuntimeError):
        change_that_fails()
    commit(database, kept)

    assert pending(database) == 1
    assert await OutboxRelay(database, in_process).relay_once() == 1
    assert await eventually(lambda: len(consumer.ids) == 1)
    assert consumer.ids == [kept.id]


async def test_committed_events_are_published_in_order_and_marked(
    database: Database, in_process: InProcessBus
) -> None:
    bus = FlakyBus(in_process)
    consumer = Recorder()
    await bus.subscribe("incident.>", "reports", consumer)
    first, second = incidents(3), incidents(2, start=3)
    commit(database, *first)
    commit(database, *second)
    expected = [e.id for e in first + second]
    relay = OutboxRelay(database, bus, batch=2)

    assert [await relay.relay_once() for _ in range(4)] == [2, 2, 1, 0]

    assert bus.published == expected
    assert await eventually(lambda: len(consumer.ids) == 5)
    assert consumer.ids == expected
    assert consumer.events == first + second
    with database.read() as conn:
        rows = conn.execute(select(outbox.c.event_id, outbox.c.published_at).order_by(outbox.c.id)).all()
    assert [r.event_id for r in rows] == expected
    assert all(r.published_at is not None for r in rows)
    assert pending(database) == 0
    assert await relay.relay_once() == 0
    assert bus.published == expected, "nothing is sent twice"


async def test_events_wait_out_an_outage_of_the_fake_bus(
    database: Database, in_process: InProcessBus
) -> None:
    bus = FlakyBus(in_process)
    consumer = Recorder()
    await bus.subscribe("incident.>", "reports", consumer)
    sent = incidents(3)
    commit(database, *sent)
    relay = OutboxRelay(database, bus)

    bus.up = False
    for _ in range(2):
        with pytest.raises(BusUnavailable):
            await relay.relay_once()
    assert pending(database) == 3

    bus.up = True
    assert await relay.relay_once() == 3
    assert await relay.relay_once() == 0
    assert await eventually(lambda: len(consumer.ids) == 3)
    await anyio.sleep(0.1)
    assert consumer.ids == [e.id for e in sent], "each event exactly once, in order"


async def test_an_outage_in_the_middle_of_a_batch_keeps_the_rest(
    database: Database, in_process: InProcessBus
) -> None:
    bus = FlakyBus(in_process)
    consumer = Recorder()
    await bus.subscribe("incident.>", "reports", consumer)
    sent = incidents(5)
    commit(database, *sent)
    relay = OutboxRelay(database, bus)

    bus.fail_after = 2
    with pytest.raises(BusUnavailable):
        await relay.relay_once()
    assert pending(database) == 3, "the two published before the outage are marked"

    bus.fail_after = None
    assert await relay.relay_once() == 3
    assert await eventually(lambda: len(consumer.ids) == 5)
    await anyio.sleep(0.1)
    assert consumer.ids == [e.id for e in sent]


@pytest.mark.nats
async def test_events_wait_out_an_unreachable_nats_and_arrive_once(database: Database) -> None:
    live_url = service_url("nats")
    sent = incidents(3)
    commit(database, *sent)
    down = NatsBus("nats://127.0.0.1:1", connect_timeout=0.5)
    try:
        with anyio.fail_after(5):  # "unreachable" must be an answer, not a hang
            with pytest.raises(BusUnavailable):
                await OutboxRelay(database, down).relay_once()
            assert not await down.healthy()
    finally:
        await down.close()
    assert pending(database) == 3

    tag = uuid.uuid4().hex[:12]
    back = NatsBus(live_url, stream=f"T{tag}", prefix=f"t{tag}")
    try:
        consumer = Recorder()
        await back.subscribe("incident.>", "reports", consumer)
        relay = OutboxRelay(database, back)
        assert await relay.relay_once() == 3
        assert await relay.relay_once() == 0
        assert await eventually(lambda: len(consumer.ids) == 3)
        await anyio.sleep(0.3)
        assert consumer.ids == [e.id for e in sent], "each event exactly once, in order"
        assert pending(database) == 0
    finally:
        await back.close()
        await back.delete_stream()
        await back.close()


async def test_the_background_relay_delivers_within_a_second_of_notify(
    database: Database, in_process: InProcessBus
) -> None:
    consumer = Recorder()
    await in_process.subscribe("incident.>", "reports", consumer)
    # A long idle poll: only notify() can make delivery this quick.
    relay = OutboxRelay(database, in_process, idle_seconds=30)
    await relay.start()
    try:
        await anyio.sleep(0.05)  # let the first (empty) pass finish and go idle
        event = Event("incident.opened", {"n": 1})
        commit(database, event)
        relay.notify()
        assert await eventually(lambda: consumer.ids == [event.id], within=1.0)
    finally:
        await relay.stop()

    after_stop = Event("incident.opened", {"n": 2})
    commit(database, after_stop)
    relay.notify()
    await anyio.sleep(0.2)
    assert consumer.ids == [event.id], "a stopped relay publishes nothing"
    assert pending(database) == 1


async def test_the_background_relay_resumes_as_soon_as_the_bus_is_back(
    database: Database, in_process: InProcessBus
) -> None:
    bus = FlakyBus(in_process)
    consumer = Recorder()
    await bus.subscribe("incident.>", "reports", consumer)
    relay = OutboxRelay(database, bus, idle_seconds=30)
    bus.up, bus.hold = False, asyncio.Event()
    await relay.start()
    try:
        event = Event("incident.opened", {"n": 1})
        commit(database, event)
        relay.notify()
        assert await eventually(lambda: bus.attempts == 1)  # the relay is inside publish

        # The bus comes back and someone notifies while that attempt is still failing:
        # the relay must not sleep through its back-off (5 s) before trying again.
        bus.up = True
        relay.notify()
        bus.hold.set()

        assert await eventually(lambda: consumer.ids == [event.id], within=1.0)
    finally:
        await relay.stop()
    assert pending(database) == 0


def test_claim_is_true_once_per_consumer_and_event(database: Database) -> None:
    event_id = str(uuid.uuid4())
    with database.write() as conn:
        assert claim(conn, "notifier", event_id) is True
        assert claim(conn, "notifier", event_id) is False, "also within the same transaction"
    with database.write() as conn:
        assert claim(conn, "notifier", event_id) is False
        assert claim(conn, "reports", event_id) is True, "another consumer has its own claim"
        assert claim(conn, "notifier", str(uuid.uuid4())) is True
    with database.read() as conn:
        assert seen(conn, "notifier", event_id)


def test_a_claim_rolls_back_with_the_handler_work(database: Database) -> None:
    event_id = str(uuid.uuid4())
    claimed: list[bool] = []

    def handler_that_fails() -> None:
        with database.write() as conn:
            claimed.append(claim(conn, "notifier", event_id))
            raise RuntimeError("the handler failed after claiming")

    with pytest.raises(RuntimeError):
        handler_that_fails()
    assert claimed == [True]

    with database.write() as conn:
        assert claim(conn, "notifier", event_id) is True, "the redelivery gets to run"


async def test_once_per_event_runs_a_handler_once_per_event_id(database: Database) -> None:
    calls: list[str] = []

    async def handler(event: Event) -> None:
        calls.append(event.id)
        if len(calls) == 1:
            raise RuntimeError("first run fails")

    wrapped = once_per_event(database, "notifier", handler)
    event, other = Event("incident.opened", {}), Event("incident.closed", {})

    with pytest.raises(RuntimeError):
        await wrapped(event)
    await wrapped(event)  # the failed run did not count
    await wrapped(event)  # redelivery after success: skipped
    await wrapped(other)

    assert calls == [event.id, event.id, other.id]
