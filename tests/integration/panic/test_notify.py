"""Texts to the resident and their trusted contacts: at each milestone, once, never to the
resident's own phone for a silent or duress alert, at most five contacts."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from sqlalchemy import insert, select

from khusela.bootstrap import Platform, bootstrap
from khusela.bus.tables import outbox
from khusela.core.events import Event
from khusela.core.gazetteer import BundledGazetteer
from khusela.core.settings import Settings
from khusela.identity.model import SYSTEM, Role
from khusela.panic import notify, records
from khusela.panic.devices import register_device
from khusela.panic.events import ALERT_CHANGED, ALERT_RAISED
from khusela.panic.intake import RaisePanicAlert, raise_alert
from khusela.panic.model import AlertStatus, AlertType, Channel, UnitKind
from khusela.panic.notify import AlertNotifications, LogNotifier
from khusela.panic.tables import assignments, trusted_contacts
from khusela.panic.units import register_unit
from khusela.store.database import Database
from tests.bus_helpers import eventually
from tests.conftest import People
from tests.panic_support import HILLBROW

pytestmark = pytest.mark.anyio

RESIDENT_PHONE = "+27825550101"
CONTACTS = ["+27825550111", "+27825550112"]


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def resident_id(platform: Platform, people: People) -> str:
    user_id = people.user("nomsa", Role.RESIDENT, phone=RESIDENT_PHONE).principal.user_id
    add_contacts(platform.db, user_id, CONTACTS)
    return user_id


def add_contacts(db: Database, user_id: str, phones: list[str]) -> None:
    with db.write() as conn:
        conn.execute(
            insert(trusted_contacts),
            [
                {"user_id": user_id, "position": n, "name": f"Contact {n}", "phone": p}
                for n, p in enumerate(phones)
            ],
        )


class Steps:
    """Drives an alert through its life and hands back the events each step enqueued."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self._seen = 0

    def new_events(self) -> list[Event]:
        with self.db.read() as conn:
            rows = conn.execute(
                select(outbox.c.id, outbox.c.body).where(outbox.c.id > self._seen).order_by(outbox.c.id)
            ).all()
        if rows:
            self._seen = rows[-1].id
        return [Event.from_json(r.body.encode()) for r in rows]

    def raise_(self, resident_id: str, silent: bool = False) -> str:
        command = RaisePanicAlert(
            type=AlertType.GBV,
            channel=Channel.APP,
            sender=resident_id,
            resident_id=resident_id,
            lat=HILLBROW[0],
            lon=HILLBROW[1],
            silent=silent,
        )
        with self.db.write() as conn:
            return str(raise_alert(conn, command, BundledGazetteer()).alert["id"])

    def change(self, alert_id: str, kind: str, **values: object) -> None:
        with self.db.write() as conn:
            alert = records.load(conn, alert_id, for_update=True)
            records.change(
                conn, alert, values, actor="test", kind=kind, at=alert["updated_at"], subject=ALERT_CHANGED
            )


@pytest.fixture
def steps(platform: Platform) -> Steps:
    return Steps(platform.db)


@pytest.fixture
def sent() -> LogNotifier:
    return LogNotifier()


@pytest.fixture
def consumer(platform: Platform, sent: LogNotifier) -> AlertNotifications:
    return AlertNotifications(platform.db, platform.bus, sent)


async def handle_all(consumer: AlertNotifications, events: list[Event]) -> None:
    for event in events:
        await consumer.handle(event)


def to(sent: LogNotifier, phone: str) -> list[str]:
    return [message for number, message in sent.sent if number == phone]


def assign_unit(platform: Platform, people: People, alert_id: str, eta_seconds: int) -> None:
    agency = people.agency()
    with platform.db.write() as conn:
        unit = register_unit(
            conn,
            SYSTEM,
            agency_id=agency,
            callsign="JHB-7",
            kind=UnitKind.POLICE_VEHICLE,
            lat=HILLBROW[0],
            lon=HILLBROW[1],
        )
        alert = records.load(conn, alert_id)
        conn.execute(
            insert(assignments).values(
                id="as-1",
                alert_id=alert_id,
                unit_id=unit.id,
                status="assigned",
                eta_seconds=eta_seconds,
                assigned_at=alert["updated_at"],
            )
        )


async def test_resident_and_contacts_are_told_at_each_milestone(
    platform: Platform,
    people: People,
    steps: Steps,
    consumer: AlertNotifications,
    sent: LogNotifier,
    resident_id: str,
) -> None:
    alert_id = steps.raise_(resident_id)
    await handle_all(consumer, steps.new_events())
    assert len(to(sent, RESIDENT_PHONE)) == 1
    assert "your panic alert was received" in to(sent, RESIDENT_PHONE)[0]
    for phone in CONTACTS:
        [message] = to(sent, phone)
        assert "nomsa raised a panic alert" in message
        assert "gbv" not in message.lower(), "no alert type to contacts"
        assert "violence" not in message.lower()
        assert "do not phone" not in message

    steps.change(alert_id, "acknowledged", status=AlertStatus.ACKNOWLEDGED.value)
    steps.change(alert_id, "location", lat=HILLBROW[0] + 0.001)
    await handle_all(consumer, steps.new_events())
    assert len(sent.sent) == 3, "acknowledgement and a new fix are not texted"

    assign_unit(platform, people, alert_id, eta_seconds=420)
    steps.change(alert_id, "dispatched", status=AlertStatus.DISPATCHED.value)
    await handle_all(consumer, steps.new_events())
    assert to(sent, RESIDENT_PHONE)[-1] == "Khusela: a response unit is on its way, expected in about 7 min."
    assert (
        to(sent, CONTACTS[0])[-1]
        == "Khusela: a response unit is on its way to nomsa, expected in about 7 min."
    )

    steps.change(alert_id, "on_scene", status=AlertStatus.ON_SCENE.value)
    steps.change(alert_id, "resolved", status=AlertStatus.RESOLVED.value)
    await handle_all(consumer, steps.new_events())
    assert to(sent, RESIDENT_PHONE)[-2:] == [
        "Khusela: the response unit has arrived.",
        "Khusela: your alert has been closed.",
    ]
    assert [len(to(sent, p)) for p in (RESIDENT_PHONE, *CONTACTS)] == [4, 4, 4]


async def test_a_silent_alert_never_texts_the_residents_phone(
    steps: Steps, consumer: AlertNotifications, sent: LogNotifier, resident_id: str
) -> None:
    alert_id = steps.raise_(resident_id, silent=True)
    steps.change(alert_id, "dispatched", status=AlertStatus.DISPATCHED.value)
    steps.change(alert_id, "cancelled", status=AlertStatus.CANCELLED.value)
    await handle_all(consumer, steps.new_events())

    assert to(sent, RESIDENT_PHONE) == []
    for phone in CONTACTS:
        messages = to(sent, phone)
        assert len(messages) == 3
        assert all("do not phone or text them" in m for m in messages)


async def test_after_a_duress_pin_the_resident_gets_nothing_and_contacts_are_warned(
    steps: Steps, consumer: AlertNotifications, sent: LogNotifier, resident_id: str
) -> None:
    alert_id = steps.raise_(resident_id)
    raised = steps.new_events()
    steps.change(alert_id, "duress", duress=True, silent=True, priority=1)
    steps.change(alert_id, "dispatched", status=AlertStatus.DISPATCHED.value)
    later = steps.new_events()

    await handle_all(consumer, raised + later)  # the raise is handled only after the duress PIN

    assert to(sent, RESIDENT_PHONE) == [], "the resident's phone stays quiet once under duress"
    messages = to(sent, CONTACTS[1])
    assert len(messages) == 3
    assert "still active and has been made urgent" in messages[1]
    assert all("do not phone or text them" in m for m in messages)


async def test_a_redelivered_event_or_a_repeated_milestone_sends_nothing_again(
    steps: Steps, consumer: AlertNotifications, sent: LogNotifier, resident_id: str
) -> None:
    alert_id = steps.raise_(resident_id)
    steps.change(alert_id, "dispatched", status=AlertStatus.DISPATCHED.value)
    steps.change(alert_id, "reassigned", status=AlertStatus.DISPATCHED.value)  # a second unit: same milestone
    events = steps.new_events()

    await handle_all(consumer, events)
    await handle_all(consumer, events)  # the bus delivers at least once

    assert len(sent.sent) == 6


async def test_at_most_five_contacts_in_their_order(
    platform: Platform, people: People, steps: Steps, consumer: AlertNotifications, sent: LogNotifier
) -> None:
    user_id = people.user("zanele", Role.RESIDENT, phone="+27825550200").principal.user_id
    phones = [f"+2782555021{n}" for n in range(7)]
    add_contacts(platform.db, user_id, phones)
    steps.raise_(user_id)
    await handle_all(consumer, steps.new_events())

    assert [phone for phone, _ in sent.sent][1:] == phones[:5]


async def test_a_failed_send_is_retried_for_the_rest_only(
    steps: Steps, platform: Platform, resident_id: str
) -> None:
    class Flaky(LogNotifier):
        def __init__(self) -> None:
            super().__init__()
            self.calls = 0

        def send(self, to_phone: str, message: str) -> None:
            self.calls += 1
            if self.calls == 2:
                raise OSError("gateway timed out")
            super().send(to_phone, message)

    flaky = Flaky()
    consumer = AlertNotifications(platform.db, platform.bus, flaky)
    steps.raise_(resident_id)
    [event] = steps.new_events()

    with pytest.raises(OSError, match="gateway"):
        await consumer.handle(event)
    await consumer.handle(event)
    await consumer.handle(event)

    assert sorted(phone for phone, _ in flaky.sent) == sorted([RESIDENT_PHONE, *CONTACTS])


async def test_the_consumer_follows_the_bus(
    platform: Platform, steps: Steps, consumer: AlertNotifications, sent: LogNotifier, resident_id: str
) -> None:
    await consumer.start()
    try:
        alert_id = await asyncio.to_thread(steps.raise_, resident_id)
        await asyncio.to_thread(steps.change, alert_id, "cancelled", status=AlertStatus.CANCELLED.value)
        await platform.relay.relay_once()
        assert await eventually(lambda: len(sent.sent) == 6)
    finally:
        await consumer.stop()
    assert to(sent, RESIDENT_PHONE)[-1] == "Khusela: your alert was cancelled."
    assert to(sent, CONTACTS[0])[-1] == "Khusela: nomsa cancelled their panic alert."


def test_messages_only_for_milestones() -> None:
    def changed(**payload: object) -> Event:
        return Event(ALERT_CHANGED, {"alert_id": "a", **payload})

    assert notify.milestone_of(Event(ALERT_RAISED, {"alert_id": "a"})) is notify.Milestone.RAISED
    assert (
        notify.milestone_of(changed(status="dispatched", change="dispatched")) is notify.Milestone.DISPATCHED
    )
    assert notify.milestone_of(changed(status="new", change="duress")) is notify.Milestone.DURESS
    assert notify.milestone_of(changed(status="acknowledged", change="acknowledged")) is None
    assert notify.milestone_of(changed(status="en_route", change="en_route")) is None
    assert notify.milestone_of(Event("panic.unit_changed", {"unit_id": "u"})) is None


@pytest.fixture
def production(tmp_path: Path, sqlite_db: Database) -> Platform:
    settings = Settings(environment="production", data_dir=tmp_path, secret_key="s" * 40)
    return bootstrap(settings, db=sqlite_db)


def test_the_demo_logs_and_production_without_a_gateway_sends_nothing(
    platform: Platform, production: Platform
) -> None:
    assert isinstance(notify.choose_notifier(platform), LogNotifier)
    assert notify.choose_notifier(production) is None
    assert notify.services(production) == []


async def test_a_device_press_tells_the_devices_owner_and_their_contacts(
    platform: Platform, consumer: AlertNotifications, sent: LogNotifier, resident_id: str
) -> None:
    with platform.db.write() as conn:
        register_device(conn, SYSTEM, device_id="btn-0042", owner_user_id=resident_id)
        raise_alert(
            conn,
            RaisePanicAlert(
                type=AlertType.CRIME, channel=Channel.DEVICE, sender="device:btn-0042", device_id="btn-0042"
            ),
            BundledGazetteer(),
        )
    await handle_all(consumer, Steps(platform.db).new_events())
    assert "your panic alert was received" in to(sent, RESIDENT_PHONE)[0]
    assert all("nomsa raised a panic alert" in to(sent, phone)[0] for phone in CONTACTS)
