"""The bus contract: what a publisher and a subscriber may rely on, on every adapter.

One suite, run against the in-process bus and against NATS JetStream. Each NATS case
gets its own stream and subject prefix, deleted afterwards, so cases cannot see each
other's events.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import anyio
import pytest

from khusela.bus.adapters.inprocess import InProcessBus
from khusela.bus.adapters.nats import NatsBus
from khusela.bus.inbox import once_per_event
from khusela.bus.ports import EventBus
from khusela.core.events import Event
from khusela.store.database import Database
from tests.bus_helpers import Recorder, eventually
from tests.services import service_url

pytestmark = pytest.mark.anyio


@pytest.fixture(params=["inprocess", pytest.param("nats", marks=pytest.mark.nats)])
async def bus(request: pytest.FixtureRequest) -> AsyncIterator[EventBus]:
    if request.param == "inprocess":
        in_process = InProcessBus(retry_delay=0.02)
        yield in_process
        await in_process.close()
        return
    tag = uuid.uuid4().hex[:12]
    nats_bus = NatsBus(service_url("nats"), stream=f"T{tag}", prefix=f"t{tag}", retry_delay=0.05)
    try:
        yield nats_bus
    finally:
        await nats_bus.close()
        await nats_bus.delete_stream()
        await nats_bus.close()


async def test_subscriber_receives_the_published_event_intact(bus: EventBus) -> None:
    received = Recorder()
    await bus.subscribe("panic.alert_raised", "dispatch", received)
    sent = Event(
        "panic.alert_raised",
        {"alert_id": "a-1", "where": {"lat": -26.2041, "lon": 28.0473}, "note": "Soweto, Vilakazi St ✓"},
        occurred_at=datetime(2024, 5, 1, 8, 30, 15, 123456, tzinfo=UTC),
    )

    await bus.publish(sent)

    assert await eventually(lambda: len(received.events) == 1)
    assert received.events == [sent]


async def test_wildcards_match_and_other_subjects_are_not_delivered(bus: EventBus) -> None:
    one_token, the_rest = Recorder(), Recorder()
    await bus.subscribe("panic.*", "one-token", one_token)
    await bus.subscribe("panic.>", "the-rest", the_rest)

    for subject in ["panic.raised", "panic.alert.raised", "incident.opened", "panicky.raised", "panic"]:
        await bus.publish(Event(subject, {}))
    # Both patterns match the marker: once it arrived, everything published before it
    # that was going to be delivered has been.
    await bus.publish(Event("panic.marker", {}))

    assert await eventually(lambda: "panic.marker" in one_token.subjects)
    assert await eventually(lambda: "panic.marker" in the_rest.subjects)
    assert one_token.subjects == ["panic.raised", "panic.marker"]
    assert the_rest.subjects == ["panic.raised", "panic.alert.raised", "panic.marker"]


async def test_every_durable_gets_every_event(bus: EventBus) -> None:
    dispatch, audit = Recorder(), Recorder()
    await bus.subscribe("incident.>", "dispatch", dispatch)
    await bus.subscribe("incident.>", "audit", audit)
    sent = [Event("incident.opened", {"n": n}) for n in range(5)]

    for event in sent:
        await bus.publish(event)

    expected = [e.id for e in sent]
    assert await eventually(lambda: len(dispatch.ids) == 5 and len(audit.ids) == 5)
    assert dispatch.ids == expected
    assert audit.ids == expected


async def test_subscribers_sharing_a_durable_share_the_work(bus: EventBus) -> None:
    first, second = Recorder(delay=0.01), Recorder(delay=0.01)
    await bus.subscribe("incident.>", "workers", first)
    await bus.subscribe("incident.>", "workers", second)
    sent = [Event("incident.opened", {"n": n}) for n in range(20)]

    for event in sent:
        await bus.publish(event)

    assert await eventually(lambda: len(first.ids) + len(second.ids) >= 20)
    await anyio.sleep(0.3)  # room for a duplicate to show up, if any were coming
    handled = first.ids + second.ids
    assert sorted(handled) == sorted(e.id for e in sent), "each event handled exactly once in total"
    assert first.ids, "both subscribers took part"
    assert second.ids, "both subscribers took part"


async def test_a_stopped_durable_keeps_its_place(bus: EventBus) -> None:
    before = Recorder()
    subscription = await bus.subscribe("incident.>", "reports", before)
    first = Event("incident.opened", {"n": 1})
    await bus.publish(first)
    assert await eventually(lambda: before.ids == [first.id])
    await subscription.stop()

    while_stopped = [Event("incident.updated", {"n": n}) for n in (2, 3)]
    for event in while_stopped:
        await bus.publish(event)
    after = Recorder()
    await bus.subscribe("incident.>", "reports", after)

    assert await eventually(lambda: len(after.ids) >= 2)
    assert after.ids == [e.id for e in while_stopped], "gets what it missed, and not what it had handled"
    assert before.ids == [first.id], "a stopped subscription receives nothing"


async def test_a_failing_handler_gets_the_event_again_until_it_succeeds(bus: EventBus) -> None:
    attempts: list[Event] = []
    done: list[Event] = []

    async def flaky(event: Event) -> None:
        attempts.append(event)
        if len(attempts) < 3:
            raise RuntimeError("the database blinked")
        done.append(event)

    await bus.subscribe("incident.>", "flaky", flaky)
    sent = Event("incident.opened", {"n": 1})
    await bus.publish(sent)

    assert await eventually(lambda: len(done) == 1)
    assert [e.id for e in attempts] == [sent.id] * 3
    assert done == [sent]


async def test_a_retry_outlives_the_subscriber_that_failed(bus: EventBus) -> None:
    attempts: list[Event] = []

    async def broken(event: Event) -> None:
        attempts.append(event)
        raise RuntimeError("bad deploy")

    subscription = await bus.subscribe("incident.>", "reports", broken)
    sent = Event("incident.opened", {"n": 1})
    await bus.publish(sent)
    assert await eventually(lambda: len(attempts) >= 1)
    await subscription.stop()  # while the event waits for its retry

    fixed = Recorder()
    await bus.subscribe("incident.>", "reports", fixed)

    assert await eventually(lambda: fixed.ids == [sent.id])


async def test_a_republished_event_is_processed_once_by_an_idempotent_consumer(
    bus: EventBus, sqlite_db: Database
) -> None:
    processed = Recorder()
    await bus.subscribe("incident.>", "notifier", once_per_event(sqlite_db, "notifier", processed))
    event = Event("incident.opened", {"n": 1})

    await bus.publish(event)
    assert await eventually(lambda: processed.ids == [event.id])
    await bus.publish(event)  # e.g. the outbox retried after a lost acknowledgement
    marker = Event("incident.closed", {})
    await bus.publish(marker)

    assert await eventually(lambda: marker.id in processed.ids)
    assert processed.ids == [event.id, marker.id]


async def test_order_on_one_subject_is_kept_for_one_subscriber(bus: EventBus) -> None:
    received = Recorder()
    await bus.subscribe("unit.position", "tracker", received)
    sent = [Event("unit.position", {"seq": n}) for n in range(50)]

    for event in sent:
        await bus.publish(event)

    assert await eventually(lambda: len(received.ids) == 50)
    assert [e.payload["seq"] for e in received.events] == list(range(50))


async def test_a_durable_follows_one_pattern(bus: EventBus) -> None:
    await bus.subscribe("incident.>", "reports", Recorder())

    with pytest.raises(ValueError, match="reports"):
        await bus.subscribe("panic.>", "reports", Recorder())


async def test_healthy_while_connected(bus: EventBus) -> None:
    assert await bus.healthy()
