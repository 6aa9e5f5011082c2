"""Community alerts reach the people following the area through the bus, once each: one text
and one push per version, a failed text retried for the rest only, a redelivered event or a
crash half-way never texting anyone twice, and a gateway outage longer than the bus's
retries caught up by the sweep. The routing cases run on the in-process bus and on NATS."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import h3
import pytest
from sqlalchemy import select

from khusela.bootstrap import Platform, bootstrap
from khusela.bus.adapters.inprocess import InProcessBus
from khusela.bus.adapters.nats import NatsBus
from khusela.bus.ports import EventBus
from khusela.bus.tables import outbox
from khusela.core.clock import FrozenClock
from khusela.core.events import Event
from khusela.core.settings import Settings
from khusela.identity.model import AgencyType, Principal, Role
from khusela.partners import community, delivery
from khusela.partners.community import AlertDraft, SubscriptionKind
from khusela.partners.delivery import CommunityAlertDelivery, DeliveryIncomplete
from khusela.partners.ports import LogPushSender
from khusela.store.database import Database
from tests.bus_helpers import eventually
from tests.conftest import People
from tests.integration.partners.conftest import JHB, staff
from tests.panic_support import HILLBROW
from tests.services import service_url

pytestmark = pytest.mark.anyio

HILLBROW_CELL = h3.latlng_to_cell(*HILLBROW, 7)
FOLLOWERS = {"thabo": "+27825550111", "lerato": "+27825550112", "sipho": "+27825550113"}


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@dataclass
class RecordingSms:
    """The SMS port as a gateway adapter would implement it, remembering what it took.
    `fail_on` lists the attempt numbers (1-based) that raise, as a gateway timing out would."""

    fail_on: set[int] = field(default_factory=set)
    down: bool = False
    attempts: int = 0
    sent: list[tuple[str, str]] = field(default_factory=list)

    def available(self) -> bool:
        return True

    def send(self, phone: str, message: str) -> None:
        self.attempts += 1
        if self.down or self.attempts in self.fail_on:
            raise OSError("SMS gateway timed out")
        self.sent.append((phone, message))

    def to(self, phone: str) -> list[str]:
        return [text for number, text in self.sent if number == phone]


class GatewayCrash(BaseException):
    """Stands for the process dying in the middle of a send (not an error the round handles)."""


@dataclass
class CrashingSms(RecordingSms):
    crash_on: int = 0

    def send(self, phone: str, message: str) -> None:
        if self.attempts + 1 == self.crash_on:
            self.attempts += 1
            raise GatewayCrash
        super().send(phone, message)


@dataclass
class Area:
    """Three residents following Hillbrow, one following Tshwane, and who issues alerts."""

    db: Database
    operator: Principal
    phones: dict[str, str]
    elsewhere: str = "+27825550199"

    def issue(self, headline: str = "Armed robberies at the Hillbrow taxi rank") -> str:
        draft = AlertDraft(
            headline=headline,
            description="Three armed robberies of commuters since Friday evening.",
            area_desc="Hillbrow, around the taxi rank",
            instruction="Travel in groups after dark.",
            cells=(HILLBROW_CELL,),
            province="GP",
            municipality="JHB",
        )
        with self.db.write() as conn:
            return str(community.issue(conn, self.operator, draft, FrozenClock().now())["id"])

    def cancel(self, alert_id: str) -> None:
        with self.db.write() as conn:
            community.cancel(conn, self.operator, alert_id, FrozenClock().now())


def _follow(db: Database, people: People, name: str, phone: str, kind: SubscriptionKind, value: str) -> None:
    person = people.user(name, Role.RESIDENT, phone=phone).principal
    with db.write() as conn:
        community.subscribe(conn, person, kind, value, FrozenClock().now())


def make_area(platform: Platform, people: People) -> Area:
    metro = people.agency("JMPD", AgencyType.METRO_POLICE, JHB)
    for name, phone in FOLLOWERS.items():
        _follow(platform.db, people, name, phone, SubscriptionKind.CELL, HILLBROW_CELL)
    _follow(platform.db, people, "anele", "+27825550199", SubscriptionKind.MUNICIPALITY, "TSH")
    return Area(platform.db, staff(metro, Role.OPERATOR, where=JHB), dict(FOLLOWERS))


@pytest.fixture
def area(platform: Platform, people: People) -> Area:
    return make_area(platform, people)


def events_of(db: Database) -> list[Event]:
    with db.read() as conn:
        rows = conn.execute(select(outbox.c.body).where(outbox.c.subject == community.ALERT_ISSUED))
        return [Event.from_json(r.body.encode()) for r in rows.all()]


def counts(db: Database, alert_id: str) -> dict[str, object]:
    with db.read() as conn:
        return delivery.progress(conn, community.get(conn, alert_id))


# --- through the bus ---------------------------------------------------------------------------


@pytest.fixture(params=["inprocess", pytest.param("nats", marks=pytest.mark.nats)])
async def bus(request: pytest.FixtureRequest) -> AsyncIterator[EventBus]:
    if request.param == "inprocess":
        yield InProcessBus()
        return
    tag = uuid.uuid4().hex[:12]
    nats_bus = NatsBus(service_url("nats"), stream=f"C{tag}", prefix=f"c{tag}")
    try:
        yield nats_bus
    finally:
        await nats_bus.delete_stream()
        await nats_bus.close()


@pytest.fixture
def platform_on_bus(settings: Settings, sqlite_db: Database, bus: EventBus) -> Platform:
    return bootstrap(settings, db=sqlite_db, bus=bus)


@pytest.fixture
def area_on_bus(platform_on_bus: Platform) -> Area:
    return make_area(platform_on_bus, People(platform_on_bus.db))


async def _running(platform: Platform, sms: RecordingSms, push: LogPushSender) -> CommunityAlertDelivery:
    consumer = CommunityAlertDelivery(platform.db, platform.bus, sms, push)
    await consumer.start()
    return consumer


async def test_followers_get_one_text_and_one_push_per_version(
    platform_on_bus: Platform, area_on_bus: Area
) -> None:
    platform, sms, push = platform_on_bus, RecordingSms(), LogPushSender()
    consumer = await _running(platform, sms, push)
    try:
        alert_id = await asyncio.to_thread(area_on_bus.issue)
        await platform.relay.relay_once()
        assert await eventually(lambda: len(sms.sent) == 3 and len(push.sent) == 3, within=10)
        await asyncio.to_thread(area_on_bus.cancel, alert_id)
        await platform.relay.relay_once()
        assert await eventually(lambda: len(sms.sent) == 6 and len(push.sent) == 6, within=10)
        await asyncio.sleep(0.3)  # nothing more arrives
    finally:
        await consumer.stop()
    for phone in FOLLOWERS.values():
        warning, cancelled = sms.to(phone)
        assert warning.startswith("Khusela Moderate warning, Hillbrow")
        assert cancelled.startswith("CANCELLED: ")
    assert sms.to(area_on_bus.elsewhere) == [], "a follower of Tshwane is not told about Hillbrow"
    assert len(sms.sent) == 6
    assert len(push.sent) == 6
    assert await asyncio.to_thread(counts, platform.db, alert_id) == {
        "delivery": "complete",
        "deliveries": {"sms": 3, "push": 3},
    }


async def test_a_text_that_failed_is_sent_again_by_the_bus_and_only_it(
    platform_on_bus: Platform, area_on_bus: Area
) -> None:
    platform, sms, push = platform_on_bus, RecordingSms(fail_on={2}), LogPushSender()
    consumer = await _running(platform, sms, push)
    try:
        await asyncio.to_thread(area_on_bus.issue)
        await platform.relay.relay_once()
        assert await eventually(lambda: len(sms.sent) == 3, within=10)
        await asyncio.sleep(0.3)
    finally:
        await consumer.stop()
    assert sms.attempts == 4, "three people, one failure retried"
    for phone in FOLLOWERS.values():
        assert len(sms.to(phone)) == 1
    assert len(push.sent) == 3, "the failed text held up nobody's push, and none was sent twice"
    assert len({user for user, _, _ in push.sent}) == 3


# --- the consumer's promises, event by event ---------------------------------------------------


async def test_a_redelivered_event_sends_nothing_again(platform: Platform, area: Area) -> None:
    sms, push = RecordingSms(), LogPushSender()
    consumer = CommunityAlertDelivery(platform.db, platform.bus, sms, push)
    area.issue()
    [event] = events_of(platform.db)

    await consumer.handle(event)
    await consumer.handle(event)  # the bus delivers at least once

    assert len(sms.sent) == 3
    assert len(push.sent) == 3


async def test_a_cancel_reaches_the_same_people_once(platform: Platform, area: Area) -> None:
    sms, push = RecordingSms(), LogPushSender()
    consumer = CommunityAlertDelivery(platform.db, platform.bus, sms, push)
    alert_id = area.issue()
    [issued] = events_of(platform.db)
    await consumer.handle(issued)
    area.cancel(alert_id)
    cancelled = events_of(platform.db)[1]

    await consumer.handle(cancelled)
    await consumer.handle(cancelled)

    for phone in FOLLOWERS.values():
        assert [text[:10] for text in sms.to(phone)] == ["Khusela Mo", "CANCELLED:"]
    assert counts(platform.db, alert_id)["deliveries"] == {"sms": 3, "push": 3}


async def test_a_warning_cancelled_before_it_went_out_is_not_sent_after_the_cancel(
    platform: Platform, area: Area
) -> None:
    sms, push = RecordingSms(), LogPushSender()
    consumer = CommunityAlertDelivery(platform.db, platform.bus, sms, push)
    area.cancel(area.issue())
    issued, cancelled = events_of(platform.db)

    await consumer.handle(cancelled)
    await consumer.handle(issued)  # late: the warning is stale now

    assert len(sms.sent) == 3
    assert all(text.startswith("CANCELLED: ") for _, text in sms.sent)


def test_a_crash_half_way_never_texts_those_already_told(platform: Platform, area: Area) -> None:
    alert_id = area.issue()
    crashing, push = CrashingSms(crash_on=2), LogPushSender()
    with pytest.raises(GatewayCrash):
        delivery.deliver(platform.db, alert_id, 1, crashing, push, FrozenClock())
    [first_told] = [phone for phone, _ in crashing.sent]

    after_restart = RecordingSms()
    delivery.deliver(platform.db, alert_id, 1, after_restart, push, FrozenClock())

    assert first_told not in [phone for phone, _ in after_restart.sent]
    assert sorted(p for p, _ in crashing.sent + after_restart.sent) == sorted(FOLLOWERS.values())


async def test_a_long_gateway_outage_is_caught_up_by_the_sweep(
    platform: Platform, people: People, area: Area
) -> None:
    for n in range(3):  # more followers than failed sends it takes to call the gateway down
        phone = f"+2782555020{n}"
        _follow(platform.db, people, f"extra{n}", phone, SubscriptionKind.CELL, HILLBROW_CELL)
    clock = FrozenClock()
    sms, push = RecordingSms(down=True), LogPushSender()
    consumer = CommunityAlertDelivery(platform.db, platform.bus, sms, push, clock=clock)
    alert_id = area.issue()
    [event] = events_of(platform.db)
    for _ in range(5):  # every try the bus makes before it gives up
        with pytest.raises(DeliveryIncomplete):
            await consumer.handle(event)
    assert sms.attempts == 15, "three tries per round, then the gateway is left alone"
    assert len(push.sent) == 6, "the pushes went out on the first round regardless"
    assert counts(platform.db, alert_id) == {"delivery": "pending", "deliveries": {"sms": 0, "push": 6}}

    sms.down = False
    assert await consumer.sweep_once() == 0, "too early: the bus may still be retrying"
    clock.advance(minutes=3)
    assert await consumer.sweep_once() == 1
    assert await consumer.sweep_once() == 0

    assert len(sms.sent) == 6
    assert len({phone for phone, _ in sms.sent}) == 6
    assert len(push.sent) == 6
    assert counts(platform.db, alert_id) == {"delivery": "complete", "deliveries": {"sms": 6, "push": 6}}


async def test_an_expired_alert_is_not_swept(platform: Platform, area: Area) -> None:
    clock = FrozenClock()
    sms = RecordingSms(down=True)
    consumer = CommunityAlertDelivery(platform.db, platform.bus, sms, LogPushSender(), clock=clock)
    area.issue()
    with pytest.raises(DeliveryIncomplete):
        await consumer.handle(events_of(platform.db)[0])
    sms.down = False
    clock.advance(days=2)  # past the 24 h the alert was valid for

    assert await consumer.sweep_once() == 0
    assert sms.sent == []


def test_the_platform_runs_the_consumer(platform: Platform) -> None:
    assert any(isinstance(s, CommunityAlertDelivery) for s in platform.background)
