"""Subject matching, the event's wire format, and choosing the bus from its URL."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from khusela.bus.adapters.inprocess import InProcessBus
from khusela.bus.adapters.nats import NatsBus
from khusela.bus.factory import create_bus
from khusela.bus.ports import subject_matches
from khusela.core.events import Event


@pytest.mark.parametrize(
    ("pattern", "subject", "matches"),
    [
        ("panic.raised", "panic.raised", True),
        ("panic.raised", "panic.cleared", False),
        ("panic.raised", "panic.raised.again", False),
        ("panic.raised.again", "panic.raised", False),
        ("panic", "panicky", False),
        ("panic.*", "panic.raised", True),
        ("panic.*", "panic", False),
        ("panic.*", "panic.alert.raised", False),
        ("*.raised", "panic.raised", True),
        ("*.raised", "panic.cleared", False),
        ("panic.*.raised", "panic.alert.raised", True),
        ("panic.*.raised", "panic.alert.cleared", False),
        ("*", "panic", True),
        ("*", "panic.raised", False),
        ("panic.>", "panic.raised", True),
        ("panic.>", "panic.alert.raised", True),
        ("panic.>", "panic", False),
        ("panic.>", "incident.opened", False),
        ("*.alert.>", "panic.alert.raised.twice", True),
        ("*.alert.>", "panic.alarm.raised", False),
        (">", "panic", True),
        (">", "panic.alert.raised", True),
    ],
)
def test_subject_matches(pattern: str, subject: str, matches: bool) -> None:
    assert subject_matches(pattern, subject) is matches


def test_event_survives_a_json_round_trip() -> None:
    event = Event(
        "panic.alert_raised",
        {"alert_id": "a-1", "where": {"lat": -26.2041, "lon": 28.0473}, "tags": ["sos", "é"], "n": None},
    )

    again = Event.from_json(event.to_json())

    assert again == event
    assert again.occurred_at.tzinfo is not None


def test_event_reads_the_wire_format() -> None:
    raw = (
        b'{"id":"0190f3a2-0000-7000-8000-000000000001","subject":"incident.opened",'
        b'"occurred_at":"2024-05-01T08:30:15.123456+00:00","payload":{"ward":"Soweto 12"}}'
    )

    event = Event.from_json(raw)

    assert event == Event(
        "incident.opened",
        {"ward": "Soweto 12"},
        id="0190f3a2-0000-7000-8000-000000000001",
        occurred_at=datetime(2024, 5, 1, 8, 30, 15, 123456, tzinfo=UTC),
    )
    assert event.to_json() == raw


def test_events_get_distinct_ids() -> None:
    assert Event("a.b", {}).id != Event("a.b", {}).id


def test_create_bus_in_process() -> None:
    assert isinstance(create_bus("inprocess://"), InProcessBus)


def test_create_bus_nats_with_options() -> None:
    bus = create_bus("nats://127.0.0.1:4222?stream=OPS&prefix=ops&replicas=3")

    assert isinstance(bus, NatsBus)
    assert bus.servers == ["nats://127.0.0.1:4222"]
    assert (bus.stream, bus.prefix, bus.replicas) == ("OPS", "ops", 3)


def test_create_bus_nats_defaults() -> None:
    bus = create_bus("nats://nats.internal:4222")

    assert isinstance(bus, NatsBus)
    assert (bus.stream, bus.prefix, bus.replicas) == ("KHUSELA", "khusela", 1)


@pytest.mark.parametrize(
    ("url", "servers"),
    [
        ("nats://a:4222,b:4222,c:4222", ["nats://a:4222", "nats://b:4222", "nats://c:4222"]),
        ("tls://a:4222,b:4222", ["tls://a:4222", "tls://b:4222"]),
        ("nats://svc:s3cret@a:4222,b:4222", ["nats://svc:s3cret@a:4222", "nats://svc:s3cret@b:4222"]),
    ],
)
def test_create_bus_nats_cluster(url: str, servers: list[str]) -> None:
    bus = create_bus(url)

    assert isinstance(bus, NatsBus)
    assert bus.servers == servers


@pytest.mark.parametrize(
    "url",
    ["kafka://broker:9092", "redis://127.0.0.1:6379", "127.0.0.1:4222", "nats://", "", "inprocess"],
)
def test_create_bus_rejects_what_it_cannot_serve(url: str) -> None:
    with pytest.raises(ValueError, match="bus URL"):
        create_bus(url)
